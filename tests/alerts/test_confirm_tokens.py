"""The sender's confirmation token (``loa.web.confirmation`` through ``loa.alerts.views``) sends one
alert, once: posting the same confirmed page again (a double click, the browser resubmitting, a
captured form replayed within its 15 minutes) sends nothing more; another person cannot use it; and a
pending alert confirmed by its leader cannot be confirmed a second time, by them or anyone."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loa.alerts.models import EmergencyAlert
from loa.db import make_session_factory
from loa.fleet.models import DeviceCommandBatch
from tests.alerts.test_send_form import _form
from tests.support.auth import login_web


def alert_count(engine: Engine) -> int:
    with make_session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(EmergencyAlert)) or 0)


def play_batches(engine: Engine) -> int:
    with make_session_factory(engine)() as s:
        return len([b for b in s.scalars(select(DeviceCommandBatch)) if b.kind == "play_now"])


def confirmed_token(web: TestClient, csrf: str) -> str:
    review = web.post("/alerts", data=_form(csrf, step="review"))
    assert review.status_code == 200 and 'data-testid="confirm-step"' in review.text
    found = re.search(r'name="confirm_token" value="([^"]+)"', review.text)
    assert found is not None
    return found[1]


def test_a_confirmation_sends_one_alert_once(web: TestClient, world_engine: Engine) -> None:
    csrf = login_web(web, "vanhanh.a")
    token = confirmed_token(web, csrf)
    first = web.post("/alerts", data=_form(csrf, step="send", confirm_token=token), follow_redirects=False)
    assert first.status_code == 303 and alert_count(world_engine) == 1
    batches = play_batches(world_engine)
    for _ in range(2):  # the same page posted again
        again = web.post(
            "/alerts", data=_form(csrf, step="send", confirm_token=token), follow_redirects=False
        )
        assert again.status_code == 409, again.status_code
        assert "Trang xác nhận này đã được dùng để phát cảnh báo" in again.text
    assert alert_count(world_engine) == 1 and play_batches(world_engine) == batches
    # A new confirmation of the same warning is a new, deliberate decision: it sends.
    second = web.post(
        "/alerts",
        data=_form(csrf, step="send", confirm_token=confirmed_token(web, csrf)),
        follow_redirects=False,
    )
    assert second.status_code == 303 and alert_count(world_engine) == 2


def test_a_confirmation_is_the_persons_own(web: TestClient, world_engine: Engine) -> None:
    token = confirmed_token(web, login_web(web, "vanhanh.a"))
    other = login_web(web, "quantri")  # may send to the same commune, but did not confirm this page
    stolen = web.post("/alerts", data=_form(other, step="send", confirm_token=token), follow_redirects=False)
    assert stolen.status_code == 200 and "Trang xác nhận đã cũ hoặc nội dung đã thay đổi" in stolen.text
    assert alert_count(world_engine) == 0


def test_a_pending_alert_is_confirmed_once(web: TestClient, world_engine: Engine) -> None:
    """The leader's second confirmation (or anyone's after it) is refused; one emergency play goes out."""
    from loa.accounts.models import User
    from loa.accounts.service import principal_for
    from loa.alerts import confirm
    from tests.alerts.test_send_form import _extend_world

    _extend_world(world_engine)
    with make_session_factory(world_engine)() as s, s.begin():
        admin = principal_for(s, s.scalars(select(User).where(User.username == "quantri")).one())
        confirm.set_policy(s, principal=admin, province_code="51", from_level=3)
    csrf = login_web(web, "vanhanh.a")
    sent = web.post(
        "/alerts",
        data=_form(csrf, step="send", confirm_token=confirmed_token(web, csrf)),
        follow_redirects=False,
    )
    assert sent.status_code == 303 and play_batches(world_engine) == 0
    with make_session_factory(world_engine)() as s:
        alert = s.scalars(select(EmergencyAlert)).one()
        assert alert.status == "pending_confirmation"
    leader = login_web(web, "lanhdao")
    first = web.post(f"/alerts/{alert.id}/confirm", data={"csrf_token": leader}, follow_redirects=False)
    assert first.status_code == 303 and play_batches(world_engine) == 1
    again = web.post(f"/alerts/{alert.id}/confirm", data={"csrf_token": leader}, follow_redirects=False)
    assert again.status_code == 409 and "không còn chờ xác nhận" in again.text
    assert play_batches(world_engine) == 1
    with make_session_factory(world_engine)() as s:
        assert s.get_one(EmergencyAlert, alert.id).confirmed_by == "lanhdao"

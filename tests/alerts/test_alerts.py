"""Emergency alerts: an operator sends one message to every active loudspeaker of their commune at
the emergency rung, repeated until stopped; the stop reaches the same loudspeakers; both are in the
audit log; another commune's operator can neither start nor stop it, a viewer only sees it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.alerts.models import EmergencyAlert
from loa.db import make_session_factory
from loa.fleet import service
from loa.fleet.models import DeviceCommand, DeviceCommandBatch
from tests.fleet.world import COMMUNE_A, COMMUNE_B, IDS, SHA, add_asset, commands
from tests.support.auth import bearer, csrf_token, login_web


def alert_actions(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith("alert."))
                .order_by(AuditEvent.id)
            )
        )


def send_alert(web: TestClient, form: dict[str, object]) -> Response:
    """The page's two steps: the confirmation (nothing sent), then "Phát" with its token."""
    form = {"hazard": "flood", "risk_level": "2", "mode": "communes", **form}
    review = web.post("/alerts", data={**form, "step": "review"})
    found = re.search(r'name="confirm_token" value="([^"]+)"', review.text)
    if found is None:
        return review
    return web.post(
        "/alerts", data={**form, "step": "send", "confirm_token": found[1]}, follow_redirects=False
    )


def test_alert_to_a_commune_repeats_until_stopped(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.a")
    page = web.get("/alerts").text
    assert "Ba Tơ (2 cụm loa)" in page and "Ba Vì" not in page  # only the operator's commune
    form = {"csrf_token": token, "audio_sha256": SHA, "communes": [COMMUNE_A], "repeat_gap_s": "15"}
    response = send_alert(web, form)
    assert response.status_code == 303
    page = web.get("/alerts").text
    assert "Đã phát cảnh báo khẩn cấp «thong-bao-tiem-chung.mp3» tới 2 cụm loa." in page
    assert "Đang phát lặp lại" in page and "0/2" in page
    sent = commands(world_engine)
    assert [(uid, kind) for uid, kind, _ in sent] == [(IDS.a1, "play_now"), (IDS.a2, "play_now")]
    assert all(
        a["priority"] == 900 and a["repeat_gap_s"] == 15 and a["audio_sha256"] == SHA for _, _, a in sent
    )

    # The devices' answers (rows the gateway writes per device) are counted as acknowledgements.
    with make_session_factory(world_engine)() as s, s.begin():
        (batch,) = s.scalars(select(DeviceCommandBatch))
        alert = s.scalars(select(EmergencyAlert)).one()
        assert batch.id in alert.batch_ids
        service.materialise_batch(s, batch=batch, sent_at=batch.issued_at)
        first = s.scalars(select(DeviceCommand).where(DeviceCommand.batch_id == batch.id)).first()
        assert first is not None
        first.result = "done"
    assert "1/2" in web.get("/alerts").text

    stop = web.post(f"/alerts/{alert.id}/stop", data={"csrf_token": token}, follow_redirects=False)
    assert stop.status_code == 303
    page = web.get("/alerts").text
    assert "Đã dừng cảnh báo «thong-bao-tiem-chung.mp3»." in page and "Đã dừng lúc" in page
    stops = [uid for uid, kind, _ in commands(world_engine) if kind == "stop"]
    assert stops == [IDS.a1, IDS.a2]
    again = web.post(f"/alerts/{alert.id}/stop", data={"csrf_token": token})
    assert again.status_code == 409 and "Cảnh báo này đã được dừng." in again.text
    assert alert_actions(world_engine) == ["alert.start", "alert.stop"]


def test_alerts_are_scoped_and_bad_input_is_refused_in_vietnamese(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.b")
    base = {"csrf_token": token, "audio_sha256": SHA}
    other = send_alert(web, {**base, "communes": [COMMUNE_A]})
    assert other.status_code == 403 and "Xã Ba Tơ nằm ngoài địa bàn" in other.text
    none = send_alert(web, base)
    assert none.status_code == 422 and "Chưa chọn xã nào." in none.text
    no_audio = send_alert(web, {"csrf_token": token, "communes": [COMMUNE_B]})
    assert (
        no_audio.status_code == 422
        and "Hãy nhập nội dung cảnh báo, hoặc chọn một bản thu âm." in no_audio.text
    )
    forged = send_alert(web, {**base, "communes": [COMMUNE_B], "audio_sha256": "ab" * 32})
    assert forged.status_code == 422 and "Chưa chọn tệp âm thanh" in forged.text
    gap = send_alert(web, {**base, "communes": [COMMUNE_B], "repeat_gap_s": "mãi"})
    assert gap.status_code == 422 and "phải là số nguyên" in gap.text
    assert commands(world_engine) == [] and alert_actions(world_engine) == []

    # Commune A's alert: B's operator does not see it and cannot stop it (it is not found for them).
    web.post("/logout", data={"csrf_token": csrf_token(web)})
    token_a = login_web(web, "vanhanh.a")
    send_alert(web, {"csrf_token": token_a, "audio_sha256": SHA, "communes": [COMMUNE_A]})
    with make_session_factory(world_engine)() as s:
        alert_id = s.scalars(select(EmergencyAlert.id)).one()
    web.post("/logout", data={"csrf_token": csrf_token(web)})
    token_b = login_web(web, "vanhanh.b")
    assert "Chưa có cảnh báo nào." in web.get("/alerts").text  # A's alert is not in B's list
    refused = web.post(f"/alerts/{alert_id}/stop", data={"csrf_token": token_b})
    assert refused.status_code == 404 and "Không tìm thấy cảnh báo này." in refused.text

    # A viewer of commune A sees it sounding, with no form and no stop button; posting is refused.
    web.post("/logout", data={"csrf_token": csrf_token(web)})
    token_v = login_web(web, "xem.a")
    page = web.get("/alerts").text
    assert "Đang phát lặp lại" in page and 'data-testid="alert-form"' not in page
    assert 'action="/alerts/' not in page  # no stop button
    assert web.post(f"/alerts/{alert_id}/stop", data={"csrf_token": token_v}).status_code == 403
    assert alert_actions(world_engine) == ["alert.start"]


def test_alert_api_start_list_stop(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)
    operator, other = bearer(web, "vanhanh.a"), bearer(web, "vanhanh.b")
    body = {"commune_codes": [COMMUNE_A], "audio_sha256": SHA, "repeat_gap_s": 5}
    refused = web.post("/api/v1/alerts", json=body, headers=other)
    assert refused.status_code == 403 and "ngoài địa bàn" in refused.json()["title"]
    bad = web.post("/api/v1/alerts", json={**body, "repeat_gap_s": -1}, headers=operator)
    assert bad.status_code == 422
    started = web.post("/api/v1/alerts", json=body, headers=operator)
    assert started.status_code == 202
    alert = started.json()
    assert (
        alert["device_count"] == 2 and alert["commune_codes"] == [COMMUNE_A] and alert["stopped_at"] is None
    )
    listed = web.get("/api/v1/alerts", headers=operator).json()
    assert [a["id"] for a in listed] == [alert["id"]] and listed[0]["acknowledged"] == 0
    assert web.get("/api/v1/alerts", headers=other).json() == []
    assert web.post(f"/api/v1/alerts/{alert['id']}/stop", headers=other).status_code == 404
    stopped = web.post(f"/api/v1/alerts/{alert['id']}/stop", headers=operator).json()
    assert stopped["stopped_by"] == "vanhanh.a"
    assert [uid for uid, kind, _ in commands(world_engine) if kind == "stop"] == [IDS.a1, IDS.a2]
    assert alert_actions(world_engine) == ["alert.start", "alert.stop"]


def test_an_alert_to_one_loudspeaker_counts_its_answer(web: TestClient, world_engine: Engine) -> None:
    """Commune B has one loudspeaker: the alert travels as that device's own command, no batch."""
    add_asset(world_engine)
    operator = bearer(web, "vanhanh.b")
    body = {"commune_codes": [COMMUNE_B], "audio_sha256": SHA}
    alert = web.post("/api/v1/alerts", json=body, headers=operator).json()
    assert alert["device_count"] == 1 and alert["repeat_gap_s"] == 30
    with make_session_factory(world_engine)() as s, s.begin():
        (row,) = s.scalars(select(DeviceCommand).where(DeviceCommand.kind == "play_now"))
        assert row.batch_id is None
        row.result = "done"
    (listed,) = web.get("/api/v1/alerts", headers=operator).json()
    assert listed["acknowledged"] == 1

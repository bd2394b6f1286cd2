"""The scheduling pages through the real login: calendar, running-order editor (CSRF-protected form
posts, total against the slot length), a new programme refused in Vietnamese, a loudspeaker's day."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.schedule import service
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset
from tests.support.auth import login_web


def _weekly_programme(session: Session, world: World) -> tuple[int, datetime]:
    today = to_local(utcnow()).date()
    monday = today + timedelta(days=7 - today.weekday())
    start = datetime.combine(monday, datetime.min.time()).replace(hour=7)
    outcome = service.create_programme(
        session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Chuyên mục Cải cách hành chính",
            start_local=start,
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO)],
            rrule="FREQ=WEEKLY;BYDAY=MO",
            until_cancelled=True,
        ),
        now=utcnow(),
    )
    session.commit()
    assert outcome.programme is not None
    return outcome.programme.id, start


def test_calendar_editor_and_device_day(client: TestClient, session: Session, world: World) -> None:
    pid, start = _weekly_programme(session, world)
    spot = approved_bulletin(
        session, world, "Tin dịch vụ công trực tuyến", {"vi": audio_asset(session, "dvc", 240)}
    )
    session.commit()
    csrf = login_web(client, "canbo.bato")

    page = client.get(f"/schedule?station={world.station.id}&date={start.date().isoformat()}")
    assert page.status_code == 200
    key = f"{pid}-{start:%Y%m%dT%H%M}"
    assert f'data-slot="{key}"' in page.text and 'draggable="true"' in page.text
    assert f"/api/v1/stations/{world.station.id}/schedule.ics" in page.text
    assert 'aria-current="page"' in page.text and "Lịch phát sóng" in page.text

    editor = client.post(
        f"/schedule/slots/{key}/running-order",
        data={"csrf_token": csrf, "action": "add_bulletin", "bulletin_id": str(spot.id)},
    )
    assert editor.status_code == 200
    assert "Đã lưu danh mục phát." in editor.text
    assert "4 phút" in editor.text and "Tin dịch vụ công trực tuyến" in editor.text
    forged = client.post(f"/schedule/slots/{key}/running-order", data={"action": "remove", "index": "0"})
    assert forged.status_code == 403

    day = client.get(f"/schedule/devices/loa-bt-01?date={start.date().isoformat()}")
    assert day.status_code == 200
    assert "Tin dịch vụ công trực tuyến" in day.text and "Phát đầy đủ, đúng giờ." in day.text


def test_new_programme_form_refuses_a_never_ending_rule(client: TestClient, world: World) -> None:
    csrf = login_web(client, "canbo.bato")
    form = {
        "csrf_token": csrf,
        "name": "Nhắc lịch tiêm chủng",
        "target_kind": "commune",
        "target_code": BA_TO,
        "start_date": "2031-03-03",
        "start_time": "06:00",
        "slot_minutes": "10",
        "rule_kind": "daily",
        "priority": "normal",
    }
    refused = client.post("/schedule/programmes/new", data=form)
    assert refused.status_code == 422
    assert "không có điểm kết thúc" in refused.text
    assert 'value="Nhắc lịch tiêm chủng"' in refused.text  # nothing typed is lost
    saved = client.post(
        "/schedule/programmes/new", data={**form, "until_cancelled": "1"}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"].startswith("/schedule?programme=")

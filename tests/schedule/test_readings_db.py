"""Both readings of "thứ Hai của tuần thứ 3", chosen on the real form (SQLite and PostgreSQL), give the same
dates everywhere a recurrence is expanded: the server's slot list, the manifests the loudspeakers receive,
and the airings the reports count. The pages describe them in Vietnamese; no rule text reaches them."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.fleet.models import Device, DeviceManifest
from loa.schedule import running_orders, slots
from loa.schedule.manifests import compile_and_store, signing_key
from loa.schedule.plan import load_plan
from loa.schedule.recurrence import to_local
from loa.settings import Settings
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset
from tests.support.auth import login_web

THIRD_MONDAYS = [
    date(2023, 8, 21),
    date(2023, 9, 18),
    date(2023, 10, 16),
    date(2023, 11, 20),
    date(2023, 12, 18),
]
WEEK_THREE_MONDAYS = [
    date(2023, 8, 14),
    date(2023, 9, 11),
    date(2023, 10, 9),
    date(2023, 11, 13),
    date(2023, 12, 11),
]
WEEK_DESCRIPTION = (
    "Thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1) lúc 08:00, đến hết ngày 31/12/2023"
)
RULE_TEXT = re.compile(r"FREQ=|BYDAY|BYMONTHDAY|UNTIL=")


def _post(client: TestClient, csrf: str, name: str, at: str, reading: str) -> int:
    form = {
        "csrf_token": csrf,
        "name": name,
        "target_kind": "commune",
        "target_code": BA_TO,
        "start_date": "2023-08-01",
        "start_time": at,
        "slot_minutes": "30",
        "rule_kind": "monthly_weekday",
        "weekday": "MO",
        "nth": "3",
        "reading": reading,
        "end_date": "2023-12-31",
    }
    saved = client.post("/schedule/programmes/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    found = re.search(r"programme=(\d+)", saved.headers["location"])
    assert found is not None
    return int(found.group(1))


def _manifest_days(session: Session, programme_id: int) -> set[date]:
    device_id = session.scalars(select(Device.id).where(Device.uid == "loa-bt-01")).one()
    body = session.scalars(
        select(DeviceManifest.body)
        .where(DeviceManifest.device_id == device_id)
        .order_by(DeviceManifest.version.desc())
        .limit(1)
    ).one()
    items = json.loads(body)["items"]
    return {
        datetime.fromisoformat(i["start_local"]).date() for i in items if i["source_id"] == str(programme_id)
    }


def test_each_reading_airs_on_its_own_days_everywhere(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    csrf = login_web(client, "canbo.bato")
    refused = client.post(
        "/schedule/programmes/new",
        data={
            "csrf_token": csrf,
            "name": "Chưa chọn cách hiểu",
            "target_kind": "commune",
            "target_code": BA_TO,
            "start_date": "2023-08-01",
            "start_time": "07:00",
            "slot_minutes": "30",
            "rule_kind": "monthly_weekday",
            "weekday": "MO",
            "nth": "3",
            "end_date": "2023-12-31",
        },
    )
    assert refused.status_code == 422
    assert "«thứ Hai của tuần thứ ba» có hai cách hiểu: hãy chọn một" in refused.text
    assert 'data-testid="dates-nth"' in refused.text and 'data-testid="dates-week"' in refused.text

    third = _post(client, csrf, "Chuyên mục CCHC (thứ Hai thứ ba)", "07:00", "nth")
    week = _post(client, csrf, "Chuyên mục CCHC (tuần thứ ba)", "08:00", "week")
    spot = approved_bulletin(
        session, world, "Tin cải cách hành chính", {"vi": audio_asset(session, "cchc", 120)}
    )
    for pid in (third, week):
        running_orders.set_running_order(
            session,
            principal=world.operator,
            key=None,
            programme_id=pid,
            items=[running_orders.ItemInput("bulletin", spot.id)],
            now=datetime(2023, 7, 1, tzinfo=UTC),
        )
    session.commit()

    # the server's slot list (calendar, API)
    for pid, days in ((third, THIRD_MONDAYS), (week, WEEK_THREE_MONDAYS)):
        listed = slots.list_slots(
            session,
            principal=world.operator,
            programme_id=pid,
            from_date=date(2023, 8, 1),
            to_date=date(2023, 12, 31),
        )
        assert [s.start_local.date() for s in listed] == days

    # the manifests: 48 hours from the night before each reading's August Monday
    key = signing_key(settings.data_dir)
    compile_and_store(
        session, key=key, now=datetime(2023, 8, 13, 17, 0, tzinfo=UTC)
    )  # 14/08 00:00 in Vietnam
    assert (_manifest_days(session, third), _manifest_days(session, week)) == (set(), {date(2023, 8, 14)})
    compile_and_store(session, key=key, now=datetime(2023, 8, 20, 17, 0, tzinfo=UTC))
    assert (_manifest_days(session, third), _manifest_days(session, week)) == ({date(2023, 8, 21)}, set())
    session.commit()

    # the airings the reports count (the plan they read: ``loa.schedule.plan``)
    year = (datetime(2022, 12, 31, 17, 0, tzinfo=UTC), datetime(2023, 12, 31, 17, 0, tzinfo=UTC))
    plan = load_plan(session, start_at=year[0], end_at=year[1])
    for pid, days in ((third, THIRD_MONDAYS), (week, WEEK_THREE_MONDAYS)):
        found = [to_local(a.at) for a in plan.programmes[pid].airings]
        assert found == [datetime.combine(d, time(7 if pid == third else 8)) for d in days]

    # people read words, never the rule
    page = client.get(f"/schedule?programme={week}")
    assert page.status_code == 200
    assert f'data-testid="programme-recurrence">{WEEK_DESCRIPTION}<' in page.text
    api = client.get(f"/api/v1/programmes/{third}")
    assert api.json()["recurrence_text"] == "Thứ Hai thứ ba trong tháng lúc 07:00, đến hết ngày 31/12/2023"
    login_web(client, "quantri")  # the audit log is for those who may read it
    audit = client.get("/audit?action=schedule.programme_create")
    assert audit.status_code == 200
    assert f"Lịch phát: {WEEK_DESCRIPTION}" in audit.text
    for text in (page.text, audit.text, refused.text):
        assert not RULE_TEXT.search(text)


def test_the_preview_fragment_follows_the_choices(client: TestClient, world: World) -> None:
    login_web(client, "canbo.bato")
    query = {  # the preview starts from now or from the start, whichever is later: a start years ahead
        "start_date": "2032-08-01",
        "start_time": "07:00",
        "rule_kind": "monthly_weekday",
        "weekday": "MO",
        "nth": "3",
        "end_date": "2032-12-31",
    }
    both = client.get("/schedule/programmes/preview", params=query)
    assert both.status_code == 200
    assert "«thứ Hai của tuần thứ ba» có hai cách hiểu" in both.text
    assert "Thứ Hai 16/08/2032 lúc 07:00" in both.text and "Thứ Hai 09/08/2032 lúc 07:00" in both.text
    assert 'data-testid="rule-description"' not in both.text

    weekly = client.get(
        "/schedule/programmes/preview",
        params=[*{**query, "rule_kind": "weekly"}.items(), ("days", "MO"), ("days", "FR")],
    )
    assert "Thứ Hai, thứ Sáu hằng tuần lúc 07:00, đến hết ngày 31/12/2032" in weekly.text
    assert "Thứ Hai 02/08/2032 lúc 07:00" in weekly.text and "hai cách hiểu" not in weekly.text
    assert client.get("/schedule/programmes/preview", params={"rule_kind": "daily"}).status_code == 200

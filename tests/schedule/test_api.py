"""The scheduling API over HTTP: scope (another commune's programmes, stations and loudspeakers are not
found, like ids that name nothing; its communes are refused as targets), conflicts as 409 with the
proposal until accepted, running-order totals, a loudspeaker's day, the public key, compilation and
the station's iCalendar export (parsed with the ``icalendar`` package and by hand)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import icalendar
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.fleet.models import DeviceManifest
from loa.protocol.manifest import verify
from tests.schedule.world import BA_TO, KINH_VILLAGE, World, approved_bulletin, audio_asset
from tests.support.auth import bearer

CCHC = {
    "name": "Chuyên mục Cải cách hành chính",
    "start_local": "2023-01-16T07:00",
    "slot_minutes": 30,
    "rrule": "FREQ=MONTHLY;BYDAY=3MO;UNTIL=20231231T235959",
    "targets": [{"kind": "commune", "code": BA_TO}],
}


def daily(name: str, start: str, minutes: int, target: dict[str, str]) -> dict[str, object]:
    return {
        "name": name,
        "start_local": start,
        "slot_minutes": minutes,
        "rrule": "FREQ=DAILY",
        "until_cancelled": True,
        "targets": [target],
    }


def test_operator_of_another_commune_finds_nothing_of_it(client: TestClient, world: World) -> None:
    mine = bearer(client, "canbo.bato")
    theirs = bearer(client, "canbo.bavi")
    created = client.post("/api/v1/programmes", json=CCHC, headers=mine)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert (
        created.json()["recurrence_text"] == "Thứ Hai thứ ba trong tháng lúc 07:00, đến hết ngày 31/12/2023"
    )

    refused = client.post("/api/v1/programmes", json=CCHC, headers=theirs)
    assert refused.status_code == 403
    assert refused.json()["title"] == "Nơi phát «Xã Ba Tơ» nằm ngoài địa bàn bạn phụ trách."
    for method, path, body in (
        ("GET", f"/api/v1/programmes/{pid}", None),
        ("DELETE", f"/api/v1/programmes/{pid}", None),
        ("PUT", f"/api/v1/slots/{pid}-20231218T0700/running-order", {"items": []}),
        ("POST", f"/api/v1/slots/{pid}-20231218T0700/move", {"start_local": "2030-01-01T07:00"}),
        ("GET", f"/api/v1/stations/{world.station.id}/schedule.ics", None),
        ("GET", "/api/v1/devices/loa-bt-01/schedule?date=2023-01-16", None),
    ):
        response = client.request(method, path, json=body, headers=theirs)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/programmes", headers=theirs).json() == []
    assert client.post("/api/v1/schedule/compile", headers=mine).status_code == 403


def test_conflict_is_409_until_the_operator_accepts(client: TestClient, world: World) -> None:
    headers = bearer(client, "canbo.bato")
    first = client.post(
        "/api/v1/programmes",
        json=daily("Bản tin sáng", "2031-03-03T06:00", 30, {"kind": "commune", "code": BA_TO}),
        headers=headers,
    )
    assert first.status_code == 201, first.text
    clash = daily("Chuyên mục Y tế", "2031-03-03T06:10", 20, {"kind": "village", "code": KINH_VILLAGE})
    refused = client.post("/api/v1/programmes", json=clash, headers=headers)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "schedule_conflict"
    assert "Chưa lưu gì" in problem["title"]
    proposal = problem["details"]["conflicts"][0]["proposed_resolution"]
    assert proposal["new_start_local"] == "06:30 ngày 03/03/2031"
    assert len(client.get("/api/v1/programmes", headers=headers).json()) == 1

    kept = client.post("/api/v1/programmes", json={**clash, "accept": "keep"}, headers=headers)
    assert kept.status_code == 201
    accepted = kept.json()["accepted_conflicts"][0]["proposed_resolution"]
    assert (accepted["new_start_local"], accepted["message"]) == (
        proposal["new_start_local"],
        proposal["message"],
    )
    bad = client.post("/api/v1/programmes", json={**clash, "accept": "ignore"}, headers=headers)
    assert bad.status_code == 422 and "giữ nguyên" in bad.json()["title"]


def test_running_order_day_view_keys_and_compile(client: TestClient, session: Session, world: World) -> None:
    short = approved_bulletin(session, world, "Tin thời tiết", {"vi": audio_asset(session, "tt", 600)})
    long = approved_bulletin(session, world, "Phóng sự", {"vi": audio_asset(session, "ps", 1800)})
    session.commit()
    headers = bearer(client, "canbo.bato")
    p = client.post(
        "/api/v1/programmes",
        json=daily("Bản tin trưa", "2031-03-03T11:00", 30, {"kind": "commune", "code": BA_TO}),
        headers=headers,
    ).json()
    slot = f"{p['id']}-20310303T1100"
    put = client.put(
        f"/api/v1/slots/{slot}/running-order",
        json={
            "items": [
                {"kind": "bulletin", "bulletin_id": short.id},
                {"kind": "bulletin", "bulletin_id": long.id},
            ]
        },
        headers=headers,
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["total_ms"], body["slot_ms"], body["overfull"], body["overrun_ms"]) == (
        2_400_000,
        1_800_000,
        True,
        600_000,
    )
    assert "vượt 10 phút" in body["warning"]
    assert body["manifests"]["changed_count"] == 0  # 2031 is beyond the 48-hour cover: nothing re-sent

    day = client.get("/api/v1/devices/loa-bt-01/schedule?date=2031-03-03", headers=headers).json()
    # A day to come: nothing is played yet; the schedule predicts one played, one cut.
    assert [
        (i["title"], i["start_local"][11:16], i["status"], i["planned_status"]) for i in day["items"]
    ] == [
        ("Tin thời tiết", "11:00", "upcoming", "played"),
        ("Phóng sự", "11:10", "upcoming", "cut"),
    ]
    assert {i["status_label"] for i in day["items"]} == {"Chưa đến giờ phát"}
    assert "hết khung giờ" in day["items"][1]["message"]

    slots = client.get(
        f"/api/v1/programmes/{p['id']}/slots?from=2031-03-03&to=2031-03-04", headers=headers
    ).json()
    assert [(s["id"], s["overfull"]) for s in slots] == [(slot, True), (f"{p['id']}-20310304T1100", False)]
    unbounded = client.get(f"/api/v1/programmes/{p['id']}/slots?from=2031-03-03", headers=headers)
    assert unbounded.status_code == 422 and unbounded.json()["code"] == "rrule_unbounded"

    key = client.get("/api/v1/schedule/public-key").json()
    assert key["algorithm"] == "Ed25519"
    row = session.scalars(select(DeviceManifest).order_by(DeviceManifest.id.desc())).first()
    assert row is not None and verify(row.body, row.signature, base64.b64decode(key["public_key"]))

    report = client.post("/api/v1/schedule/compile", headers=bearer(client, "quantri"))
    assert report.status_code == 200 and report.json()["devices"] == 3


def _unfold(text: str) -> list[str]:
    assert all(line.endswith("\r") or line == "" for line in text.split("\n")), "lines end with CRLF"
    raw = text.replace("\r\n ", "").split("\r\n")
    return [line for line in raw if line]


def test_station_ics_export_parses_with_the_right_events(client: TestClient, world: World) -> None:
    headers = bearer(client, "canbo.bato")
    pid = client.post("/api/v1/programmes", json=CCHC, headers=headers).json()["id"]
    client.post(f"/api/v1/slots/{pid}-20231218T0700/cancel", headers=headers)
    response = client.get(
        f"/api/v1/stations/{world.station.id}/schedule.ics?from=2023-01-01&to=2023-12-31", headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "folded at 75 octets"
    lines = _unfold(raw.decode("utf-8"))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "X-WR-CALNAME:Lịch phát sóng – Đài truyền thanh xã Ba Tơ" in lines

    calendar = icalendar.Calendar.from_ical(raw)
    events = [c for c in calendar.walk("VEVENT")]
    starts = [e.decoded("DTSTART") for e in events]
    assert [s.astimezone(UTC).date() for s in starts] == [
        date(2023, mo, d)
        for mo, d in (
            (1, 16),
            (2, 20),
            (3, 20),
            (4, 17),
            (5, 15),
            (6, 19),
            (7, 17),
            (8, 21),
            (9, 18),
            (10, 16),
            (11, 20),
            (12, 18),
        )
    ]
    assert starts[0] == datetime(2023, 1, 16, 0, 0, tzinfo=UTC)  # 07:00 in Vietnam
    assert str(events[0]["SUMMARY"]) == "Chuyên mục Cải cách hành chính"
    assert str(events[-1]["STATUS"]) == "CANCELLED"
    assert str(events[0]["LOCATION"]) == "Đài truyền thanh xã Ba Tơ"
    assert len({str(e["UID"]) for e in events}) == 12


def test_announcement_as_soon_as_possible_reaches_the_devices(
    client: TestClient, session: Session, world: World
) -> None:
    flood = approved_bulletin(
        session,
        world,
        "Thông báo xả lũ hồ Nước Trong",
        {"vi": audio_asset(session, "xalu", 90)},
        priority="priority",
    )
    session.commit()
    first = client.post("/api/v1/schedule/compile", headers=bearer(client, "quantri")).json()
    assert sorted(first["changed"]) == ["loa-bt-01", "loa-bt-02", "loa-bv-01"]  # each device's first manifest
    headers = bearer(client, "canbo.bato")
    body = {"targets": [{"kind": "commune", "code": BA_TO}], "bulletin_id": flood.id, "asap": True}
    created = client.post("/api/v1/announcements", json=body, headers=headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["title"], out["priority"], out["priority_label"]) == (
        "Thông báo xả lũ hồ Nước Trong",
        500,
        "Ưu tiên",
    )
    start = datetime.fromisoformat(out["start_at"])
    assert datetime.fromisoformat(out["not_after_at"]) - start == timedelta(hours=1)
    assert sorted(out["manifests"]["changed"]) == ["loa-bt-01", "loa-bt-02"]
    row = session.scalars(select(DeviceManifest).order_by(DeviceManifest.id.desc())).first()
    assert row is not None
    items = json.loads(row.body)["items"]
    assert [(i["title"], i["priority"], i["preempt_rule"]) for i in items] == [
        ("Thông báo xả lũ hồ Nước Trong", 500, "restart")
    ]
    again = client.post("/api/v1/announcements", json=body, headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "schedule_conflict"
    theirs = client.post("/api/v1/announcements", json=body, headers=bearer(client, "canbo.bavi"))
    assert theirs.status_code == 403
    cancelled = client.delete(f"/api/v1/announcements/{out['id']}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["manifests"]["changed_count"] == 2

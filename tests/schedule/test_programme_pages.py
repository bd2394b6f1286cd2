"""Programmes in the page, through the real login: a programme's page, its edit form (the stored rule read
back, or kept when the form cannot show it), ending it, its default running order and fallback playlist
(bulletins found by title), one airing cancelled, restored and moved, and "Nơi phát" chosen by name."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.db.base import utcnow
from loa.schedule import models as m
from loa.schedule import running_orders, service, slots
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset
from tests.support.auth import login_web

RULE_TEXT = re.compile(r"FREQ=|BYDAY|UNTIL=|21484")


def _next_monday() -> date:
    today = to_local(utcnow()).date()
    return today + timedelta(days=7 - today.weekday())


def _programme(
    session: Session, world: World, *, rrule: str = "FREQ=WEEKLY;BYDAY=MO", **kw: object
) -> m.Programme:
    start = datetime.combine(_next_monday(), datetime.min.time()).replace(hour=7)
    data = ProgrammeInput(
        name="Chuyên mục Cải cách hành chính",
        start_local=start,
        slot_minutes=30,
        targets=[TargetInput("commune", BA_TO)],
        rrule=rrule,
        until_cancelled=True,
        **kw,  # type: ignore[arg-type]
    )
    outcome = service.create_programme(session, principal=world.operator, data=data, now=utcnow())
    session.commit()
    assert outcome.programme is not None
    return outcome.programme


def test_the_programme_page_says_when_where_and_what(
    client: TestClient, session: Session, world: World
) -> None:
    p = _programme(session, world)
    login_web(client, "canbo.bato")
    page = client.get(f"/schedule/programmes/{p.id}")
    assert page.status_code == 200
    assert "Thứ Hai hằng tuần lúc 07:00, phát đến khi hủy" in page.text
    assert "Xã Ba Tơ" in page.text and "Danh mục dự phòng" in page.text
    first = f"{p.id}-{_next_monday():%Y%m%d}T0700"
    assert f'data-slot="{first}"' in page.text  # the next airing, with its actions
    assert f'action="/schedule/slots/{first}/cancel"' in page.text
    assert not RULE_TEXT.search(page.text.split("<main")[1])


def _post_edit(client: TestClient, p: m.Programme, csrf: str, **fields: str) -> httpx.Response:
    """Post the programme's edit form: the commune, 30 minutes at 07:00 from its first day at the
    normal rung, unless ``fields`` say otherwise (no redirect followed)."""
    data = {
        "csrf_token": csrf,
        "version": str(p.version),
        "targets": "commune:21484",
        "slot_minutes": "30",
        "start_date": p.start_local.date().isoformat(),
        "start_time": "07:00",
        "priority": "normal",
        **fields,
    }
    return client.post(f"/schedule/programmes/{p.id}/edit", data=data, follow_redirects=False)


def test_the_edit_form_reads_the_rule_back_and_saves_a_campaign_cap(
    client: TestClient, session: Session, world: World
) -> None:
    p = _programme(session, world, rrule="FREQ=HOURLY;INTERVAL=2")
    version, first_day = p.version, p.start_local.date()
    csrf = login_web(client, "canbo.bato")
    form = client.get(f"/schedule/programmes/{p.id}/edit")
    assert form.status_code == 200
    assert '<option value="hourly" selected>' in form.text
    assert 'name="every_hours" value="2"' in form.text
    assert (
        "Xã Ba Tơ (Quảng Ngãi)" in form.text and 'value="commune:21484"' in form.text
    )  # a chip, no code typed

    saved = _post_edit(
        client,
        p,
        csrf,
        name="Nhắc tiêm chủng",
        target_language="vi",
        slot_minutes="10",
        start_time="06:00",
        rule_kind="hourly",
        every_hours="2",
        campaign_days="7",
        max_per_day="3",
    )
    assert saved.status_code == 303, saved.text
    session.expire_all()
    edited = session.get(m.Programme, p.id)
    assert edited is not None
    assert (edited.name, edited.max_per_day, edited.version) == ("Nhắc tiêm chủng", 3, version + 1)
    last_day = first_day + timedelta(days=6)
    assert edited.rrule == f"FREQ=HOURLY;INTERVAL=2;UNTIL={last_day:%Y%m%d}T235959"
    page = client.get(saved.headers["location"])
    assert "tối đa 3 lần mỗi ngày (ngày tính từ 06:00)" in page.text
    listed = slots.list_slots(
        session, principal=world.operator, programme_id=p.id, from_date=first_day, to_date=last_day
    )
    assert len(listed) == 21  # 3 a day for 7 days
    assert {s.start_local.strftime("%H:%M") for s in listed} == {"06:00", "08:00", "10:00"}


def test_a_rule_the_form_cannot_show_is_kept_untouched(
    client: TestClient, session: Session, world: World
) -> None:
    p = _programme(session, world, rrule="FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1")
    csrf = login_web(client, "canbo.bato")
    form = client.get(f"/schedule/programmes/{p.id}/edit")
    assert '<option value="keep" selected>Giữ lịch hiện tại: Theo quy tắc lặp tùy chỉnh' in form.text
    assert "BYSETPOS" not in form.text
    saved = _post_edit(client, p, csrf, name="Đổi tên, giữ lịch", rule_kind="keep")
    assert saved.status_code == 303, saved.text
    session.expire_all()
    kept = session.get(m.Programme, p.id)
    assert kept is not None and kept.name == "Đổi tên, giữ lịch"
    assert kept.rrule == "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1" and kept.until_cancelled


def test_a_stale_edit_is_refused_and_nothing_typed_is_lost(
    client: TestClient, session: Session, world: World
) -> None:
    p = _programme(session, world)
    csrf = login_web(client, "canbo.bato")
    stale = _post_edit(
        client,
        p,
        csrf,
        version=str(p.version - 1),
        name="Bản sửa cũ",
        rule_kind="weekly",
        days="MO",
        until_cancelled="1",
    )
    assert stale.status_code == 409
    assert "đã được người khác sửa" in stale.text and 'value="Bản sửa cũ"' in stale.text


def test_ending_a_programme(client: TestClient, session: Session, world: World) -> None:
    p = _programme(session, world)
    csrf = login_web(client, "canbo.bato")
    page = client.get(f"/schedule/programmes/{p.id}")
    assert 'data-confirm="Kết thúc chương trình «Chuyên mục Cải cách hành chính»?' in page.text
    ended = client.post(f"/schedule/programmes/{p.id}/end", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Đã kết thúc chương trình" in ended.text and "Đã kết thúc" in ended.text
    session.expire_all()
    assert session.get(m.Programme, p.id).active is False  # type: ignore[union-attr]
    other = login_web(client, "canbo.bavi")  # another commune's programme is not found for them
    refused = client.post(f"/schedule/programmes/{p.id}/end", data={"csrf_token": other})
    assert refused.status_code == 404


def test_default_running_order_by_title_search(client: TestClient, session: Session, world: World) -> None:
    p = _programme(session, world)
    spot = approved_bulletin(
        session, world, "Tin tiêm chủng mở rộng", {"vi": audio_asset(session, "tc", 240)}
    )
    approved_bulletin(session, world, "Tin phòng chống bão", {"vi": audio_asset(session, "bao", 120)})
    session.commit()
    csrf = login_web(client, "canbo.bato")
    found = client.get("/schedule/bulletins/choices", params={"q": "tiem chung"}).json()
    assert found == [{"value": str(spot.id), "label": "Tin tiêm chủng mở rộng"}]
    added = client.post(
        f"/schedule/programmes/{p.id}/running-order",
        data={"csrf_token": csrf, "action": "add_bulletin", "bulletin_id": str(spot.id)},
    )
    assert added.status_code == 200 and "Đã lưu danh mục phát." in added.text
    # without JavaScript the title typed is read, when it names one bulletin only
    typed = client.post(
        f"/schedule/programmes/{p.id}/running-order",
        data={"csrf_token": csrf, "action": "add_bulletin", "bulletin_id_text": "phòng chống bão"},
    )
    assert typed.status_code == 200
    assert "6 phút" in typed.text  # 4 + 2 minutes, against the 30-minute slot
    ambiguous = client.post(
        f"/schedule/programmes/{p.id}/running-order",
        data={"csrf_token": csrf, "action": "add_bulletin", "bulletin_id_text": "Tin"},
    )
    assert ambiguous.status_code == 422 and "Có 2 bản tin khớp với «Tin»" in ambiguous.text
    moved = client.post(
        f"/schedule/programmes/{p.id}/running-order", data={"csrf_token": csrf, "action": "up", "index": "1"}
    )
    assert moved.status_code == 200
    order = running_orders.get_programme_order(session, principal=world.operator, programme_id=p.id)
    assert [line.title for line in order.lines] == ["Tin phòng chống bão", "Tin tiêm chủng mở rộng"]


def test_fallback_playlist_fills_an_empty_airing_at_the_background_rung(
    client: TestClient, session: Session, world: World
) -> None:
    p = _programme(session, world)
    music = audio_asset(session, "nhac-nen", 1800)
    session.commit()
    csrf = login_web(client, "canbo.bato")
    saved = client.post(
        f"/schedule/programmes/{p.id}/fallback",
        data={
            "csrf_token": csrf,
            "action": "add_recording",
            "audio_sha256": music,
            "title": "Nhạc truyền thống",
        },
    )
    assert saved.status_code == 200 and "Nhạc truyền thống" in saved.text
    order = running_orders.get_programme_order(session, principal=world.operator, programme_id=p.id)
    assert order.lines == ()  # the default running order is untouched
    api = client.get(f"/api/v1/programmes/{p.id}/fallback").json()
    assert api["fallback"] and [i["title"] for i in api["items"]] == ["Nhạc truyền thống"]

    monday = _next_monday()
    key = f"{p.id}-{monday:%Y%m%d}T0700"
    assert "sẽ phát danh mục dự phòng" in client.get(f"/schedule/slots/{key}").text
    day = client.get(f"/schedule/devices/loa-bt-01?date={monday.isoformat()}")
    assert "Nhạc truyền thống" in day.text and "Nền / dự phòng" in day.text
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.fallback_set")).one()
    assert audit.details["titles"] == ["Nhạc truyền thống"]


def test_cancel_restore_and_move_one_airing(client: TestClient, session: Session, world: World) -> None:
    p = _programme(session, world)
    csrf = login_web(client, "canbo.bato")
    monday = _next_monday()
    key = f"{p.id}-{monday:%Y%m%d}T0700"
    back = f"/schedule/programmes/{p.id}"
    cancelled = client.post(f"/schedule/slots/{key}/cancel", data={"csrf_token": csrf, "next": back})
    assert cancelled.status_code == 200 and "Đã hủy buổi phát lúc 07:00" in cancelled.text
    assert slots.slot_view(
        session, p, datetime.combine(monday, datetime.min.time()).replace(hour=7)
    ).status is (m.SlotStatus.CANCELLED)
    restored = client.post(f"/schedule/slots/{key}/restore", data={"csrf_token": csrf, "next": back})
    assert "Đã khôi phục buổi phát" in restored.text
    wednesday = monday + timedelta(days=2)
    moved = client.post(
        f"/schedule/slots/{key}/move",
        data={"csrf_token": csrf, "date": wednesday.isoformat(), "time": "17:30"},
    )
    assert moved.status_code == 200 and f"Đã dời buổi phát sang 17:30 ngày {wednesday:%d/%m/%Y}" in moved.text
    assert "đã dời từ 07:00" in moved.text
    bad = client.post(f"/schedule/slots/{key}/move", data={"csrf_token": csrf, "date": "", "time": ""})
    assert bad.status_code == 422 and "Hãy chọn ngày và giờ phát mới." in bad.text


def test_a_move_into_a_conflict_asks_first(client: TestClient, session: Session, world: World) -> None:
    p = _programme(session, world)
    other = service.create_programme(
        session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Bản tin chiều",
            start_local=datetime.combine(_next_monday() + timedelta(days=2), datetime.min.time()).replace(
                hour=17
            ),
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO)],
        ),
        now=utcnow(),
    )
    session.commit()
    assert other.programme is not None
    csrf = login_web(client, "canbo.bato")
    key = f"{p.id}-{_next_monday():%Y%m%d}T0700"
    wednesday = (_next_monday() + timedelta(days=2)).isoformat()
    asked = client.post(
        f"/schedule/slots/{key}/move", data={"csrf_token": csrf, "date": wednesday, "time": "17:10"}
    )
    assert asked.status_code == 409
    assert "Bản tin chiều" in asked.text and 'name="accept" value="proposal"' in asked.text
    kept = client.post(
        f"/schedule/slots/{key}/move",
        data={"csrf_token": csrf, "date": wednesday, "time": "17:10", "accept": "keep"},
    )
    assert kept.status_code == 200 and "Đã dời buổi phát sang 17:10" in kept.text


def test_places_are_chosen_by_name_within_scope(client: TestClient, session: Session, world: World) -> None:
    login_web(client, "canbo.bato")
    found = client.get("/schedule/targets/choices", params={"q": "ba to"}).json()
    labels = {c["value"]: c["label"] for c in found}
    assert labels["commune:21484"] == "Xã Ba Tơ (Quảng Ngãi)"
    assert labels[f"station:{world.station.id}"] == "Đài truyền thanh xã Ba Tơ"
    assert labels[f"group:{world.group.id}"] == "Nhóm Loa khu chợ Ba Tơ"
    teng = client.get("/schedule/targets/choices", params={"q": "teng"}).json()
    assert teng == [
        {"value": "village:21484.002", "label": "Thôn Làng Teng (Xã Ba Tơ, Quảng Ngãi)"},
        {"value": "device:loa-bt-02", "label": "Cụm loa làng Teng"},
    ]
    assert client.get("/schedule/targets/choices", params={"q": "ba vi"}).json() == []  # another commune

    areas = client.get("/areas/choices", params={"q": "Ba Tơ", "kinds": "commune"}).json()
    assert areas == [{"value": "21484", "label": "Xã Ba Tơ (Quảng Ngãi)"}]


def test_a_place_typed_without_javascript_is_read_by_name(
    client: TestClient, session: Session, world: World
) -> None:
    csrf = login_web(client, "canbo.bato")
    form = {
        "csrf_token": csrf,
        "name": "Tin buổi sáng",
        "targets_text": "Ba Tơ",
        "start_date": (_next_monday() + timedelta(days=30)).isoformat(),
        "start_time": "06:00",
        "slot_minutes": "15",
        "rule_kind": "once",
        "priority": "normal",
    }
    saved = client.post("/schedule/programmes/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    programme = session.scalars(select(m.Programme).where(m.Programme.name == "Tin buổi sáng")).one()
    assert [t.label for t in service.programme_targets(session, programme.id)] == ["Xã Ba Tơ"]
    unknown = client.post("/schedule/programmes/new", data={**form, "targets_text": "Hà Nội"})
    assert unknown.status_code == 422 and "Không tìm thấy nơi phát nào tên «Hà Nội»" in unknown.text

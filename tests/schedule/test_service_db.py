"""The scheduling service on a real database (SQLite and PostgreSQL): programmes through the DB, targets
resolved to devices at compile time, manifests stored per device and only when they change, conflicts
reported (never resolved silently), overfull slots, and refused input that writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.workflow import Action
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceManifest
from loa.protocol.manifest import decode_manifest, verify
from loa.schedule import access, checks, hooks, running_orders, service, slots
from loa.schedule import models as m
from loa.schedule.manifests import compile_and_store, device_states, signing_key
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from tests.schedule.world import (
    BA_TO,
    BA_VI,
    HRE_VILLAGE,
    KINH_VILLAGE,
    World,
    approved_bulletin,
    audio_asset,
)

NEW_YEAR_2023 = datetime(2022, 12, 31, 17, 0, tzinfo=UTC)  # 01/01/2023 00:00 in Vietnam
MON_16_JAN = datetime(2023, 1, 15, 17, 0, tzinfo=UTC)  # 16/01/2023 00:00 in Vietnam


def programme(
    name: str, start: datetime, minutes: int, *targets: TargetInput, **kw: object
) -> ProgrammeInput:
    return ProgrammeInput(name=name, start_local=start, slot_minutes=minutes, targets=targets, **kw)  # type: ignore[arg-type]


def commune(code: str = BA_TO, language: str = "vi") -> TargetInput:
    return TargetInput("commune", code, language)


def daily(name: str, hour: int, minute: int, minutes: int, *targets: TargetInput) -> ProgrammeInput:
    return programme(
        name, datetime(2023, 1, 16, hour, minute), minutes, *targets, rrule="FREQ=DAILY", until_cancelled=True
    )


def _device_id(session: Session, uid: str) -> int:
    return session.scalars(select(Device.id).where(Device.uid == uid)).one()


def manifest_items(session: Session, uid: str) -> list[dict[str, Any]]:
    """Items of the device's newest stored manifest."""
    body = session.scalars(
        select(DeviceManifest.body)
        .where(DeviceManifest.device_id == _device_id(session, uid))
        .order_by(DeviceManifest.version.desc())
        .limit(1)
    ).one()
    return list(json.loads(body)["items"])


def test_cchc_third_monday_gives_the_twelve_2023_slots(session: Session, world: World) -> None:
    outcome = service.create_programme(
        session,
        principal=world.operator,
        data=programme(
            "Chuyên mục Cải cách hành chính",
            datetime(2023, 1, 16, 7, 0),
            30,
            commune(),
            rrule="FREQ=MONTHLY;BYDAY=3MO;UNTIL=20231231T235959",
            topic_code=None,
        ),
        now=NEW_YEAR_2023,
    )
    session.commit()
    assert outcome.programme is not None
    found = slots.list_slots(
        session,
        principal=world.operator,
        programme_id=outcome.programme.id,
        from_date=date(2023, 1, 1),
        to_date=date(2023, 12, 31),
    )
    assert [s.start_local.date() for s in found] == [
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
    assert {s.start_local.time() for s in found} == {time(7, 0)}
    assert found[0].start_at == datetime(2023, 1, 16, 0, 0, tzinfo=UTC)
    assert service.describe_recurrence(outcome.programme) == (
        "Thứ Hai thứ ba trong tháng lúc 07:00, đến hết ngày 31/12/2023"
    )


def test_targets_resolve_to_devices_including_one_added_later(
    session: Session, world: World, settings: Settings
) -> None:
    key = signing_key(settings.data_dir)
    spot = approved_bulletin(session, world, "Lịch tiêm chủng", {"vi": audio_asset(session, "tiem", 120)})
    outcome = service.create_programme(
        session, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=MON_16_JAN
    )
    assert outcome.programme is not None
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=None,
        programme_id=outcome.programme.id,
        items=[running_orders.ItemInput("bulletin", spot.id)],
        now=MON_16_JAN,
    )
    first = compile_and_store(session, key=key, now=MON_16_JAN)
    session.commit()
    assert set(first.changed) == {"loa-bt-01", "loa-bt-02", "loa-bv-01"}
    heard = {uid: [i["bulletin_id"] for i in manifest_items(session, uid)] for uid in first.changed}
    assert heard["loa-bt-01"] == heard["loa-bt-02"] == [str(spot.id), str(spot.id)]  # 16/01 and 17/01
    assert heard["loa-bv-01"] == []

    fleet.create_device(
        session, name="Cụm loa mới", uid="loa-bt-03", commune_id=world.unit(session, BA_TO).id
    )
    later = hooks.devices_changed(session, data_dir=settings.data_dir, now=MON_16_JAN)
    session.commit()
    assert later.changed == ("loa-bt-03",)
    assert [i["bulletin_id"] for i in manifest_items(session, "loa-bt-03")] == [str(spot.id), str(spot.id)]
    assert device_states(session)["loa-bt-01"].manifest_version == 1


def test_withdrawn_bulletin_leaves_future_manifests(
    session: Session, world: World, settings: Settings
) -> None:
    data_dir = settings.data_dir
    news = approved_bulletin(session, world, "Tin thời tiết", {"vi": audio_asset(session, "thoitiet", 90)})
    keep = approved_bulletin(
        session, world, "Tin nông nghiệp", {"vi": audio_asset(session, "nongnghiep", 60)}
    )
    outcome = service.create_programme(
        session, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=MON_16_JAN
    )
    assert outcome.programme is not None
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=None,
        programme_id=outcome.programme.id,
        items=[running_orders.ItemInput("bulletin", news.id), running_orders.ItemInput("bulletin", keep.id)],
        now=MON_16_JAN,
    )
    hooks.publish(session, data_dir=data_dir, reason="test", now=MON_16_JAN)
    session.commit()
    assert {i["bulletin_id"] for i in manifest_items(session, "loa-bt-01")} == {str(news.id), str(keep.id)}

    content.transition(session, principal=world.editor, bulletin_id=news.id, action=Action.ARCHIVE)
    report = hooks.bulletin_changed(session, bulletin_id=news.id, data_dir=data_dir, now=MON_16_JAN)
    session.commit()
    assert report is not None and set(report.changed) == {"loa-bt-01", "loa-bt-02"}
    assert report.incremental  # the process's last compilation was reused
    for uid in ("loa-bt-01", "loa-bt-02"):
        items = manifest_items(session, uid)
        assert {i["bulletin_id"] for i in items} == {str(keep.id)}
    assert device_states(session)["loa-bt-01"].manifest_version == 2
    assert device_states(session)["loa-bv-01"].manifest_version == 1  # not reached: untouched
    unrelated = hooks.bulletin_changed(session, bulletin_id=news.id + 1000, data_dir=data_dir, now=MON_16_JAN)
    assert unrelated is None


def test_only_changed_devices_get_a_new_signed_version(
    session: Session, world: World, settings: Settings
) -> None:
    key = signing_key(settings.data_dir)
    a = approved_bulletin(session, world, "Thông báo họp thôn", {"vi": audio_asset(session, "hop", 100)})
    jingle = audio_asset(session, "nhac-hieu-ba-vi", 20)
    village = service.create_programme(
        session,
        principal=world.operator,
        data=daily("Loa thôn Gò Khoại", 17, 0, 15, TargetInput("village", KINH_VILLAGE)),
        now=MON_16_JAN,
    ).programme
    other = service.create_programme(
        session,
        principal=world.other_operator,
        data=daily("Bản tin Ba Vì", 17, 0, 15, commune(BA_VI)),
        now=MON_16_JAN,
    ).programme
    assert village is not None and other is not None
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=None,
        programme_id=village.id,
        items=[running_orders.ItemInput("bulletin", a.id)],
        now=MON_16_JAN,
    )
    running_orders.set_running_order(
        session,
        principal=world.other_operator,
        key=None,
        programme_id=other.id,
        items=[running_orders.ItemInput("recording", audio_sha256=jingle, title="Nhạc hiệu")],
        now=MON_16_JAN,
    )
    compile_and_store(session, key=key, now=MON_16_JAN)
    session.commit()
    before = device_states(session)

    again = compile_and_store(session, key=key, now=MON_16_JAN)
    assert again.changed == () and again.versions == {}

    c = approved_bulletin(session, world, "Thông báo bổ sung", {"vi": audio_asset(session, "bosung", 30)})
    key17 = slots.slot_key(village.id, datetime(2023, 1, 16, 17, 0))
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=key17,
        items=[running_orders.ItemInput("bulletin", a.id), running_orders.ItemInput("bulletin", c.id)],
        now=MON_16_JAN,
    )
    report = compile_and_store(session, key=key, now=MON_16_JAN)
    session.commit()
    assert report.changed == ("loa-bt-01",)
    after = device_states(session)
    assert after["loa-bt-01"].manifest_version == before["loa-bt-01"].manifest_version + 1
    assert after["loa-bt-02"] == before["loa-bt-02"] and after["loa-bv-01"] == before["loa-bv-01"]
    row = session.scalars(
        select(DeviceManifest)
        .where(DeviceManifest.device_id == _device_id(session, "loa-bt-01"))
        .order_by(DeviceManifest.version.desc())
    ).first()
    assert row is not None and row.published_at is None  # the gateway publishes it
    assert verify(row.body, row.signature, key.public_key())
    assert decode_manifest(row.body).content_hash == row.content_hash


def test_hre_village_hears_the_hre_rendition(session: Session, world: World, settings: Settings) -> None:
    vi, hre = audio_asset(session, "bao-lu-vi", 80), audio_asset(session, "bao-lu-hre", 95)
    warning = approved_bulletin(session, world, "Cảnh báo lũ", {"vi": vi, "hre": hre})
    p = service.create_programme(
        session,
        principal=world.operator,
        data=daily(
            "Bản tin chiều",
            17,
            0,
            20,
            TargetInput("village", KINH_VILLAGE),
            TargetInput("village", HRE_VILLAGE, "hre"),
        ),
        now=MON_16_JAN,
    ).programme
    assert p is not None
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=None,
        programme_id=p.id,
        items=[running_orders.ItemInput("bulletin", warning.id)],
        now=MON_16_JAN,
    )
    hooks.publish(session, data_dir=settings.data_dir, reason="test", now=MON_16_JAN)
    session.commit()
    assert {i["audio"]["sha256"] for i in manifest_items(session, "loa-bt-01")} == {vi}  # type: ignore[index]
    assert {i["audio"]["sha256"] for i in manifest_items(session, "loa-bt-02")} == {hre}  # type: ignore[index]
    assert [i["duration_ms"] for i in manifest_items(session, "loa-bt-02")] == [95_000, 95_000]


def test_same_priority_conflict_is_reported_with_a_proposal(session: Session, world: World) -> None:
    first = service.create_programme(
        session, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=MON_16_JAN
    ).programme
    session.commit()
    assert first is not None
    clash = daily("Chuyên mục Y tế", 6, 10, 20, TargetInput("village", KINH_VILLAGE))
    with pytest.raises(Conflict) as caught:
        service.create_programme(session, principal=world.operator, data=clash, now=MON_16_JAN)
    session.rollback()
    err = caught.value
    assert err.code == "schedule_conflict" and err.status == 409
    assert "«Bản tin sáng» và «Chuyên mục Y tế» cùng mức Thông thường bị trùng giờ 20 phút" in err.message
    conflict = err.details["conflicts"][0]
    assert conflict["devices"] == ["loa-bt-01"]
    assert conflict["proposed_resolution"]["new_start_local"] == "06:30 ngày 16/01/2023"
    assert "Đề xuất: dời «Chuyên mục Y tế» sang 06:30 ngày 16/01/2023" in conflict["message"]
    assert session.scalar(select(func.count()).select_from(m.Programme)) == 1  # nothing written

    kept = service.create_programme(
        session, principal=world.operator, data=clash, accept=checks.Accept.KEEP, now=MON_16_JAN
    )
    assert kept.accepted_conflicts and kept.programme is not None
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "schedule.conflict_keep")
        )
        == 1
    )

    # A drag onto another time re-detects; the proposal is applied only when asked for.
    other_key = slots.slot_key(first.id, datetime(2023, 1, 17, 6, 0))
    with pytest.raises(Conflict):
        slots.move_slot(
            session,
            principal=world.operator,
            key=other_key,
            new_start_local=datetime(2023, 1, 17, 6, 5),
            now=MON_16_JAN,
        )
    session.rollback()
    view, _outcome = slots.move_slot(
        session,
        principal=world.operator,
        key=other_key,
        new_start_local=datetime(2023, 1, 17, 7, 0),
        now=MON_16_JAN,
    )
    assert view.start_local == datetime(2023, 1, 17, 7, 0) and view.status is m.SlotStatus.MOVED


def test_accepting_the_proposal_moves_the_later_slot(session: Session, world: World) -> None:
    service.create_programme(
        session, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=MON_16_JAN
    )
    health = service.create_programme(
        session,
        principal=world.operator,
        data=programme(
            "Chuyên mục Y tế", datetime(2023, 1, 20, 8, 0), 20, commune(), rrule="FREQ=WEEKLY;COUNT=4"
        ),
        now=MON_16_JAN,
    ).programme
    assert health is not None
    key = slots.slot_key(health.id, datetime(2023, 1, 20, 8, 0))
    _view, outcome = slots.move_slot(
        session,
        principal=world.operator,
        key=key,
        new_start_local=datetime(2023, 1, 20, 6, 15),
        accept=checks.Accept.PROPOSAL,
        now=MON_16_JAN,
    )
    assert outcome.applied == ("Đã dời buổi phát «Chuyên mục Y tế» sang 06:30 ngày 20/01/2023.",)
    assert slots.slot_view(session, health, datetime(2023, 1, 20, 8, 0)).start_local == datetime(
        2023, 1, 20, 6, 30
    )


def test_overfull_slot_by_thirty_minutes_warns(session: Session, world: World) -> None:
    long_a = approved_bulletin(
        session, world, "Phóng sự nông thôn mới", {"vi": audio_asset(session, "ntm", 1800)}
    )
    long_b = approved_bulletin(
        session, world, "Tọa đàm chuyển đổi số", {"vi": audio_asset(session, "cds", 1800)}
    )
    p = service.create_programme(
        session, principal=world.operator, data=daily("Chuyên mục tối", 19, 0, 30, commune()), now=MON_16_JAN
    ).programme
    assert p is not None
    view = running_orders.set_running_order(
        session,
        principal=world.operator,
        key=slots.slot_key(p.id, datetime(2023, 1, 16, 19, 0)),
        items=[
            running_orders.ItemInput("bulletin", long_a.id),
            running_orders.ItemInput("bulletin", long_b.id),
        ],
        now=MON_16_JAN,
    )
    assert view.overfull and view.total_ms == 3_600_000 and view.slot_ms == 1_800_000
    assert view.overrun_ms == 1_800_000
    assert view.warning is not None and "vượt 30 phút" in view.warning
    assert "Sẽ không được phát: «Tọa đàm chuyển đổi số»" in view.warning
    assert [line.title for line in view.lines] == ["Phóng sự nông thôn mới", "Tọa đàm chuyển đổi số"]


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"rrule": "FREQ=DAILY"}, "rrule_unbounded", "không có điểm kết thúc"),
        (
            {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"},
            "rrule_no_occurrence",
            "không bao giờ tạo ra lần phát nào",
        ),
        (
            {"rrule": "FREQ=DAILY;COUNT=3", "timezone": "Asia/Ha_Noi"},
            "timezone_unknown",
            "Múi giờ «Asia/Ha_Noi» không tồn tại",
        ),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule_invalid", "không hợp lệ"),
    ],
)
def test_bad_recurrences_are_refused_in_vietnamese_and_write_nothing(
    session: Session, world: World, changes: dict[str, object], code: str, words: str
) -> None:
    data = programme("Chương trình lỗi", datetime(2023, 1, 16, 7, 0), 30, commune(), **changes)
    with pytest.raises(InvalidInput) as caught:
        service.create_programme(session, principal=world.operator, data=data, now=MON_16_JAN)
    session.rollback()
    assert caught.value.code == code and words in caught.value.message
    assert session.scalar(select(func.count()).select_from(m.Programme)) == 0
    assert session.scalar(select(func.count()).select_from(m.ProgrammeTarget)) == 0
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("schedule.%"))
        )
        == 0
    )


def test_every_two_hours_until_cancelled_then_cancelled(
    session: Session, world: World, settings: Settings
) -> None:
    data = programme(
        "Nhắc phòng chống dịch",
        datetime(2023, 1, 16, 6, 0),
        5,
        commune(),
        rrule="FREQ=HOURLY;INTERVAL=2",
        until_cancelled=True,
    )
    p = service.create_programme(session, principal=world.operator, data=data, now=MON_16_JAN).programme
    assert p is not None
    with pytest.raises(InvalidInput) as caught:
        slots.list_slots(
            session, principal=world.operator, programme_id=p.id, from_date=date(2023, 1, 16), to_date=None
        )
    assert caught.value.code == "rrule_unbounded"
    day = slots.list_slots(
        session,
        principal=world.operator,
        programme_id=p.id,
        from_date=date(2023, 1, 16),
        to_date=date(2023, 1, 16),
    )
    assert [s.start_local.hour for s in day] == [6, 8, 10, 12, 14, 16, 18, 20, 22]
    service.cancel_programme(session, principal=world.operator, programme_id=p.id, now=MON_16_JAN)
    assert service.list_programmes(session, principal=world.operator) == []


def test_scope_other_commune_and_unapproved_content_are_refused(session: Session, world: World) -> None:
    with pytest.raises(PermissionDenied):
        service.create_programme(
            session,
            principal=world.other_operator,
            data=daily("Lấn địa bàn", 6, 0, 30, commune(BA_TO)),
            now=MON_16_JAN,
        )
    session.rollback()
    p = service.create_programme(
        session, principal=world.operator, data=daily("Bản tin", 6, 0, 30, commune()), now=MON_16_JAN
    ).programme
    assert p is not None
    with pytest.raises(NotFound):  # another commune's programme is not found, like a missing one
        access.editable_programme(session, principal=world.other_operator, programme_id=p.id)
    draft = content.create_bulletin(
        session, principal=world.editor, draft=DraftInput(title="Nháp", area_code=BA_TO)
    )
    with pytest.raises(InvalidInput) as caught:
        running_orders.set_running_order(
            session,
            principal=world.operator,
            key=None,
            programme_id=p.id,
            items=[running_orders.ItemInput("bulletin", draft.id)],
            now=MON_16_JAN,
        )
    assert caught.value.code == "bulletin_not_approved"

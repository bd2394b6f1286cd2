"""Circular 39/2020's three rules on a real database: what each priority from above becomes here (the
commands and announcements the fleet and schedule record), what a commune operator decides, and the
acknowledgements queued for the sender."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.alerts.service import aired_audio
from loa.db.base import utcnow
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.exchange import acks as acks_module
from loa.exchange import inbox
from loa.exchange.audio import ingest_now
from loa.exchange.logic import AHEAD_OF_OWN_RUNG
from loa.exchange.models import InboxItem, InboxState, OutboxMessage, PeerRelation
from loa.exchange.peers import Caller
from loa.exchange.wire import BulletinIn
from loa.fleet import ingest
from loa.fleet.models import Device, DeviceCommandBatch, DeviceManifest
from loa.protocol import itemids
from loa.protocol import messages as m
from loa.protocol.manifest import decode_manifest
from loa.schedule.announcements import AnnouncementInput, create_announcement
from loa.schedule.models import Announcement
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from loa.speech.service import SpeechContext
from tests.exchange.conftest import connect
from tests.exchange.world import BA_TO, BA_VI, DISTRICT, OLD_BA_CUNG, bulletin_body, people, tone


def receive(
    session: Session, caller: Caller, speech: SpeechContext, settings: Settings, body: dict[str, object]
) -> InboxItem:
    item = inbox.receive_bulletin(
        session,
        caller=caller,
        data=BulletinIn.model_validate(body),
        speech_context=speech,
        context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
    )
    session.commit()
    return item


def acks(session: Session) -> list[dict[str, object]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "ack").order_by(OutboxMessage.id)
    )
    return [json.loads(r.body) for r in rows]


def manifest_items(session: Session, uid: str) -> dict[str, int]:
    device = session.scalars(select(Device).where(Device.uid == uid)).one()
    row = session.scalars(
        select(DeviceManifest)
        .where(DeviceManifest.device_id == device.id)
        .order_by(DeviceManifest.version.desc())
    ).first()
    assert row is not None, f"{uid} has no manifest"
    return {i.id: i.priority for i in decode_manifest(row.body).items}


def test_an_emergency_goes_out_at_once_to_every_loudspeaker_of_its_communes(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    item = receive(lower, upper_caller, speech, settings, bulletin_body("tw-1", "emergency", [BA_TO], tone()))
    assert item.state is InboxState.SCHEDULED and item.alert_id is not None
    alert = lower.get(EmergencyAlert, item.alert_id)
    assert alert is not None and json.loads(alert.commune_codes) == [BA_TO] and alert.device_count == 2
    batches = list(lower.scalars(select(DeviceCommandBatch)))
    assert [b.group_code for b in batches] == [BA_TO]  # Ba Tơ's two loudspeakers, not Ba Vì's
    command = json.loads(batches[0].payload)
    assert command["kind"] == "play_now" and command["args"]["priority"] == 900
    # The lead-in signal then the upper system's audio, like every alert (``loa.alerts.leadin``).
    assert alert.audio_sha256 == item.audio_sha256 and alert.aired_sha256 not in (None, item.audio_sha256)
    assert command["args"]["audio_sha256"] == alert.aired_sha256
    assert acks(lower) == [
        {
            "id": "tw-1",
            "state": "scheduled",
            "reason": "",
            "scheduled_for": item.scheduled_for.isoformat() if item.scheduled_for else None,
            "plays": 0,
            "played_ms": 0,
            "at": item.decided_at.isoformat() if item.decided_at else None,
        }
    ]


def test_a_priority_bulletin_is_put_ahead_of_the_communes_programmes(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    item = receive(lower, upper_caller, speech, settings, bulletin_body("tw-2", "priority", [BA_TO], tone()))
    assert item.state is InboxState.SCHEDULED and item.announcement_id is not None
    announcement = lower.get_one(Announcement, item.announcement_id)
    assert announcement.asap and announcement.priority == 500
    playing = itemids.announcement_item(str(announcement.id))
    assert manifest_items(lower, "loa-a00000000001")[playing] == 500
    assert playing not in manifest_items(lower, "loa-b00000000001")  # Ba Vì was not sent it


def _own_priority_item(lower: Session, speech: SpeechContext) -> Announcement:
    """The commune's own priority announcement, on air as soon as possible."""
    operator = people(lower)["vanhanh.bato"]
    asset = ingest_now(
        lower, context=speech, filename="tone.wav", title="Âm thanh thử", data=tone(30.0, 660.0).data
    )
    own, _ = create_announcement(
        lower,
        principal=operator,
        data=AnnouncementInput(
            title="Thông báo tiêm chủng của xã",
            targets=[TargetInput("commune", BA_TO)],
            asap=True,
            audio_sha256=asset.sha256,
            priority=500,
        ),
        now=utcnow(),
    )
    lower.commit()
    return own


@pytest.mark.parametrize("ahead", [True, False])
def test_a_clash_with_the_communes_own_priority_item_is_ordered_by_the_operator(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings, ahead: bool
) -> None:
    own = _own_priority_item(lower, speech)
    item = receive(
        lower, upper_caller, speech, settings, bulletin_body("tw-3", "priority", [BA_TO], tone(20.0))
    )
    assert item.state is InboxState.NEEDS_ORDER and item.announcement_id is None
    assert item.clash_titles == ["Thông báo tiêm chủng của xã"] and item.clash_until is not None
    assert acks(lower)[-1]["state"] == "needs_order"
    operator = people(lower)["vanhanh.bato"]
    inbox.order_item(
        lower,
        principal=operator,
        item_id=item.id,
        ahead=ahead,
        context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
    )
    lower.commit()
    placed = lower.get_one(Announcement, item.announcement_id)
    if ahead:
        assert placed.priority == AHEAD_OF_OWN_RUNG and placed.asap
        assert placed.start_at <= own.start_at + timedelta(seconds=30)
    else:
        assert placed.priority == 500 and placed.start_at == item.clash_until
        assert placed.start_at >= own.start_at + timedelta(seconds=29)  # after its 30 s (ms precision)
    assert acks(lower)[-1]["state"] == "scheduled"


def test_a_normal_bulletin_waits_for_the_commune_to_choose_its_time(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    item = receive(lower, upper_caller, speech, settings, bulletin_body("tw-4", "normal", [BA_TO], tone()))
    assert item.state is InboxState.RECEIVED and item.announcement_id is None and item.alert_id is None
    assert acks(lower)[-1]["state"] == "received"
    staff = people(lower)
    with pytest.raises(NotFound):  # another commune's operator does not even see it
        inbox.schedule_item(
            lower,
            principal=staff["vanhanh.bavi"],
            item_id=item.id,
            start_at=utcnow() + timedelta(hours=2),
            keep_overlap=False,
            context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
        )
    lower.rollback()
    start = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    inbox.schedule_item(
        lower,
        principal=staff["vanhanh.bato"],
        item_id=item.id,
        start_at=start,
        keep_overlap=False,
        context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
    )
    lower.commit()
    placed = lower.get_one(Announcement, item.announcement_id)
    assert placed.priority == 300 and placed.start_at == start and not placed.asap
    assert item.state is InboxState.SCHEDULED and item.decided_by == "Phạm Thị Lan"
    assert acks(lower)[-1]["scheduled_for"] == start.isoformat()
    with pytest.raises(Conflict):  # decided once
        inbox.decline_item(
            lower, principal=staff["vanhanh.bato"], item_id=item.id, reason="Trùng nội dung", now=utcnow()
        )


def test_declining_needs_a_reason_that_goes_back_up(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    item = receive(lower, upper_caller, speech, settings, bulletin_body("tw-5", "normal", [BA_TO], tone()))
    operator = people(lower)["vanhanh.bato"]
    with pytest.raises(InvalidInput, match="lý do"):
        inbox.decline_item(lower, principal=operator, item_id=item.id, reason="  ", now=utcnow())
    inbox.decline_item(
        lower, principal=operator, item_id=item.id, reason="Xã đã phát nội dung này hôm qua", now=utcnow()
    )
    lower.commit()
    assert acks(lower)[-1]["state"] == "declined"
    assert acks(lower)[-1]["reason"] == "Xã đã phát nội dung này hôm qua"


def test_the_same_bulletin_sent_twice_is_one_item(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    body = bulletin_body("tw-6", "emergency", [BA_TO], tone())
    first = receive(lower, upper_caller, speech, settings, body)
    again = receive(lower, upper_caller, speech, settings, body)
    assert again.id == first.id
    assert lower.scalar(select(EmergencyAlert.id).where(EmergencyAlert.id != first.alert_id)) is None
    assert len(list(lower.scalars(select(DeviceCommandBatch)))) == 1


def test_areas_outside_the_connection_are_refused_and_old_codes_map_to_todays_communes(
    lower: Session, speech: SpeechContext, settings: Settings
) -> None:
    caller, _ = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Sở TTTT")
    lower.commit()
    with pytest.raises(PermissionDenied, match="Ba Vì"):
        receive(lower, caller, speech, settings, bulletin_body("s-1", "normal", [BA_VI], tone()))
    lower.rollback()
    old = receive(lower, caller, speech, settings, bulletin_body("s-2", "normal", [OLD_BA_CUNG], tone()))
    district = receive(lower, caller, speech, settings, bulletin_body("s-3", "normal", [DISTRICT], tone()))
    assert old.commune_codes == [BA_TO] and old.sent_codes == [OLD_BA_CUNG]
    assert district.commune_codes == [BA_TO]
    with pytest.raises(InvalidInput, match="99999"):
        receive(lower, caller, speech, settings, bulletin_body("s-4", "normal", ["99999"], tone()))


def test_audio_that_does_not_match_its_hash_is_refused(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    body = bulletin_body("tw-7", "emergency", [BA_TO], tone())
    body["audio"] = {**body["audio"], "sha256": "0" * 64}  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="SHA-256"):
        receive(lower, upper_caller, speech, settings, body)
    lower.rollback()
    assert lower.scalar(select(EmergencyAlert.id)) is None


def test_play_receipts_make_an_item_aired_and_acknowledged_once_per_count(
    lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    item = receive(lower, upper_caller, speech, settings, bulletin_body("tw-8", "emergency", [BA_TO], tone()))
    batch = lower.scalars(select(DeviceCommandBatch)).one()
    first = itemids.command_item(batch.id)
    now = utcnow()

    def receipt(rid: str, item_id: str, outcome: str = "played") -> m.Receipt:
        return m.Receipt(
            receipt_id=rid,
            seq=1,
            item_id=item_id,
            audio_sha256=item.audio_sha256,
            started_at=now,
            ended_at=now + timedelta(seconds=2),
            outcome=outcome,
        )

    events: list[ingest.Event] = [
        (
            "loa-a00000000001",
            now,
            m.ReceiptBatch(
                sent_at=now, receipts=[receipt("r1", first), receipt("r2", itemids.round_item(first, 2))]
            ),
        ),
        ("loa-a00000000002", now, m.ReceiptBatch(sent_at=now, receipts=[receipt("r1", first, "preempted")])),
    ]
    ingest.write_events(lower, events=events)
    lower.commit()
    assert acks_module.refresh_airings(lower, now=utcnow()) == 1
    lower.commit()
    assert item.state is InboxState.AIRED and item.plays == 2
    assert acks(lower)[-1] == {**acks(lower)[-1], "state": "aired", "plays": 2, "played_ms": 4000}
    assert acks_module.refresh_airings(lower, now=utcnow()) == 0  # nothing new: nothing queued
    assert len(acks(lower)) == 2

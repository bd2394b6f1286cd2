"""Answers to group commands: each device's row is written after publishing, so an answer may come
first; it is kept (not overwritten by the later write), recorded once, and only from a device the
batch addressed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import service
from loa.fleet.ingest import write_events
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch
from loa.protocol import messages as m
from tests.fleet.world import IDS

SHA = "cd" * 32


@pytest.fixture
def db(world_engine: Engine) -> Iterator[Session]:
    with make_session_factory(world_engine)() as session:
        yield session


def devices(session: Session, *uids: str) -> list[Device]:
    return [service.get_device(session, uid=uid) for uid in uids]


def answer(session: Session, uid: str, command_id: str, status: m.CommandStatus) -> None:
    result = m.CommandResult(command_id=command_id, status=status, at=m.now_utc())
    write_events(session, events=[(uid, utcnow(), result)])


def rows(session: Session, batch_id: str) -> dict[str, tuple[str | None, bool]]:
    found = session.execute(
        select(Device.uid, DeviceCommand.result, DeviceCommand.sent_at)
        .join(Device, Device.id == DeviceCommand.device_id)
        .where(DeviceCommand.batch_id == batch_id)
    ).all()
    return {uid: (result, sent is not None) for uid, result, sent in found}


def test_an_answer_before_the_rows_are_written_is_kept(db: Session) -> None:
    issued = service.issue_command(
        db, devices=devices(db, IDS.a1, IDS.a2), kind="play_now", args={"audio_sha256": SHA}
    )
    (batch_id,) = {c.batch_id for c in issued}
    assert batch_id is not None
    db.commit()
    assert rows(db, batch_id) == {}  # nothing per device until the gateway publishes
    answer(db, IDS.a1, batch_id, m.CommandStatus.DONE)
    answer(db, IDS.a1, batch_id, m.CommandStatus.DONE)  # delivered twice (QoS 1): one row
    db.commit()
    assert rows(db, batch_id) == {IDS.a1: ("done", True)}

    batch = db.get(DeviceCommandBatch, batch_id)
    assert batch is not None
    service.materialise_batch(db, batch=batch, sent_at=utcnow())
    db.commit()
    assert rows(db, batch_id) == {IDS.a1: ("done", True), IDS.a2: (None, True)}
    answer(db, IDS.a2, batch_id, m.CommandStatus.EXPIRED)  # after the rows: an update
    db.commit()
    assert rows(db, batch_id) == {IDS.a1: ("done", True), IDS.a2: ("expired", True)}


def test_a_device_cannot_answer_for_a_batch_that_was_not_sent_to_it(db: Session) -> None:
    # Commune A's two devices: one message on A's topic, without a target list.
    issued = service.issue_command(
        db, devices=devices(db, IDS.a1, IDS.a2), kind="stop", args={}, ttl=timedelta(minutes=5)
    )
    (batch_id,) = {c.batch_id for c in issued}
    assert batch_id is not None
    db.commit()
    answer(db, IDS.b1, batch_id, m.CommandStatus.DONE)  # commune B's device
    db.commit()
    assert rows(db, batch_id) == {}
    # A batch with explicit targets: only the named device may answer.
    targeted = service.issue_command(
        db, devices=devices(db, IDS.a1, IDS.b1), kind="stop", args={}, ttl=timedelta(minutes=5)
    )
    for command in targeted:
        assert command.batch_id is not None
        answer(db, IDS.a2, command.batch_id, m.CommandStatus.DONE)
    db.commit()
    assert all(rows(db, c.batch_id or "") == {} for c in targeted)


def test_a_late_or_replayed_answer_does_not_overwrite_the_recorded_result(db: Session) -> None:
    """Issue 21.6: the first answer is the result. A device restarted while the command waited in its
    broker session gets it again past its expiry and answers ``expired``: "done" must stay."""
    (single,) = service.issue_command(db, devices=devices(db, IDS.a1), kind="volume", args={"level": 5})
    db.commit()
    answer(db, IDS.a1, single.id, m.CommandStatus.DONE)
    db.commit()
    answer(db, IDS.a1, single.id, m.CommandStatus.EXPIRED)
    db.commit()
    row = db.get(DeviceCommand, single.id)
    assert row is not None and row.result == "done"
    issued = service.issue_command(db, devices=devices(db, IDS.a1, IDS.a2), kind="stop", args={})
    (batch_id,) = {c.batch_id for c in issued}
    assert batch_id is not None
    db.commit()
    answer(db, IDS.a1, batch_id, m.CommandStatus.DONE)  # before the rows are written
    db.commit()
    batch = db.get(DeviceCommandBatch, batch_id)
    assert batch is not None
    service.materialise_batch(db, batch=batch, sent_at=utcnow())
    answer(db, IDS.a2, batch_id, m.CommandStatus.DONE)  # after
    db.commit()
    answer(db, IDS.a1, batch_id, m.CommandStatus.EXPIRED)
    answer(db, IDS.a2, batch_id, m.CommandStatus.EXPIRED)
    db.commit()
    assert rows(db, batch_id) == {IDS.a1: ("done", True), IDS.a2: ("done", True)}


def test_of_two_answers_in_one_batch_the_first_is_the_result(db: Session) -> None:
    (single,) = service.issue_command(db, devices=devices(db, IDS.a1), kind="volume", args={"level": 5})
    db.commit()
    done = m.CommandResult(command_id=single.id, status=m.CommandStatus.DONE, at=m.now_utc())
    late = m.CommandResult(command_id=single.id, status=m.CommandStatus.EXPIRED, at=m.now_utc())
    write_events(db, events=[(IDS.a1, utcnow(), done), (IDS.a1, utcnow(), late)])
    db.commit()
    row = db.get(DeviceCommand, single.id)
    assert row is not None and row.result == "done"

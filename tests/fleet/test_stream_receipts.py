"""Issue 14.3: the gateway's intake records a stream receipt (no audio file; heard time and
interruptions) beside file receipts, each exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet.ingest import write_events
from loa.fleet.models import PlayReceipt
from loa.protocol import messages as m
from loa.protocol.topics import Channel
from tests.fleet.world import IDS


def test_stream_and_file_receipts_are_recorded_once(world_engine: Engine) -> None:
    at = m.now_utc()
    stream = m.Receipt(
        receipt_id="s1",
        seq=0,
        item_id="live.1",
        started_at=at,
        ended_at=at + timedelta(minutes=30),
        outcome=m.Outcome.PLAYED,
        kind=m.ReceiptKind.STREAM,
        heard_ms=1_790_000,
        interruptions=2,
        priority=700,
    )
    file = m.Receipt(
        receipt_id="f1", seq=1, item_id="a.1", audio_sha256="ab" * 32, started_at=at, ended_at=at,
        outcome=m.Outcome.PLAYED,
    )  # fmt: skip
    batch = m.ReceiptBatch(sent_at=at, receipts=[stream, file])
    wire = m.parse_device_message(Channel.RECEIPTS, batch.to_bytes())  # as it arrives
    with make_session_factory(world_engine)() as s, s.begin():
        outcome = write_events(s, events=[(IDS.a1, utcnow(), wire), (IDS.a1, utcnow(), wire)])
    assert outcome.receipts_new == 2 and outcome.receipts_duplicate == 2
    with make_session_factory(world_engine)() as s:
        rows = {r.receipt_id: r for r in s.scalars(select(PlayReceipt))}
    s_row, f_row = rows["s1"], rows["f1"]
    assert (s_row.kind, s_row.audio_sha256, s_row.heard_ms, s_row.interruptions) == (
        "stream",
        None,
        1_790_000,
        2,
    )
    assert s_row.priority == 700 and f_row.priority is None
    assert (f_row.kind, f_row.audio_sha256, f_row.heard_ms, f_row.interruptions) == (
        "file",
        "ab" * 32,
        None,
        None,
    )


def test_a_stream_receipt_claiming_more_heard_time_than_its_span_is_capped(world_engine: Engine) -> None:
    """A device (forged, or its clock stepped back meanwhile) claiming 30 days heard of a 10-minute
    span is stored with its span: the row never holds an impossible value, whoever reads it (the
    device's day view reads ``heard_ms`` as it is). A claim inside the span is kept as sent."""
    at = m.now_utc()

    def receipt(receipt_id: str, heard_ms: int, span: timedelta) -> m.Receipt:
        return m.Receipt(
            receipt_id=receipt_id,
            seq=0,
            item_id="relay.1",
            started_at=at,
            ended_at=at + span,
            outcome=m.Outcome.PLAYED,
            kind=m.ReceiptKind.STREAM,
            heard_ms=heard_ms,
            interruptions=0,
        )

    batch = m.ReceiptBatch(
        sent_at=at,
        receipts=[
            receipt("forged", 30 * 86_400_000, timedelta(minutes=10)),
            receipt("honest", 590_000, timedelta(minutes=10)),
            receipt("backwards", 5_000, timedelta(seconds=-3)),  # ends before it starts: no time
        ],
    )
    wire = m.parse_device_message(Channel.RECEIPTS, batch.to_bytes())
    with make_session_factory(world_engine)() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), wire)])
    with make_session_factory(world_engine)() as s:
        heard = {r.receipt_id: r.heard_ms for r in s.scalars(select(PlayReceipt))}
    assert heard == {"forged": 600_000, "honest": 590_000, "backwards": 0}

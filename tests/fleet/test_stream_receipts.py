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

"""Issue 14.3: proof of broadcast counts live and relay hours from stream receipts — the time each
receipt says its own audio was heard, each receipt once, live (the live rung) apart from relays —
and the hours on air count a stream's heard time, not its span. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet.ingest import write_events
from loa.protocol import messages as m
from loa.reports.receipts import receipt_rows, stream_airtime
from tests.conftest import Backend
from tests.fleet.world import IDS, device, seed_fleet_world


@pytest.fixture
def world_engine(backend: Backend) -> Iterator[Engine]:
    """The fleet tests' world (two communes, three clusters)."""
    with backend.database("fleet-world", seed=seed_fleet_world) as eng:
        yield eng


def stream(
    rid: str, item: str, *, heard_s: int, span_s: int, priority: int, outcome: m.Outcome, cuts: int
) -> m.Receipt:
    at = utcnow() - timedelta(hours=2)
    return m.Receipt(
        receipt_id=rid, seq=0, item_id=item, started_at=at, ended_at=at + timedelta(seconds=span_s),
        outcome=outcome, kind=m.ReceiptKind.STREAM, heard_ms=heard_s * 1000, interruptions=cuts,
        priority=priority,
    )  # fmt: skip


def test_live_and_relay_hours_are_the_heard_time_of_each_receipt_once(world_engine: Engine) -> None:
    receipts = [
        stream("s1", "live.1", heard_s=1700, span_s=1800, priority=700, outcome=m.Outcome.PLAYED, cuts=1),
        stream("s2", "live.2", heard_s=600, span_s=600, priority=700, outcome=m.Outcome.PREEMPTED, cuts=0),
        stream("s3", "relay.vov", heard_s=3000, span_s=3600, priority=400, outcome=m.Outcome.PLAYED, cuts=2),
        stream("s4", "relay.dead", heard_s=0, span_s=0, priority=400, outcome=m.Outcome.FAILED, cuts=1),
    ]
    batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=receipts)
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), batch), (IDS.a1, utcnow(), batch)])  # a resend
    with factory() as s:
        commune = device(s, IDS.a1).commune_id
        assert commune is not None
        window = {"start_at": utcnow() - timedelta(days=1), "end_at": utcnow()}
        air = stream_airtime(s, **window, commune_ids=[commune])
        rows = {row.item_id: row for row in receipt_rows(s, **window, commune_ids=[commune])}
        other = stream_airtime(s, **window, commune_ids=[commune + 10_000])
    assert (air.live_ms, air.relay_ms) == (2300_000, 3000_000)
    assert (air.receipts, air.interruptions) == (4, 4)
    assert round(air.live_hours, 3) == 0.639 and round(air.relay_hours, 3) == 0.833
    assert other.receipts == 0
    # Hours on air: a played stream counts what was heard (1,700 s of its 1,800 s span).
    assert rows["live.1"].played_ms == 1_700_000 and rows["relay.vov"].played_ms == 3_000_000
    assert rows["live.2"].played == 0 and rows["live.2"].preempted == 1


def test_a_stream_receipt_claiming_more_than_its_span_counts_its_span(world_engine: Engine) -> None:
    """A forged (or clock-stepped) stream receipt says it was heard for far longer than it lasted:
    3,000,000 s heard in a 60 s span. The hours count at most the span, and the statistics still run
    (on PostgreSQL the milliseconds once overflowed a 32-bit integer: "integer out of range")."""
    forged = stream(
        "f1", "relay.vov", heard_s=3_000_000, span_s=60, priority=400, outcome=m.Outcome.PLAYED, cuts=0
    )
    honest = stream("f2", "live.1", heard_s=50, span_s=60, priority=700, outcome=m.Outcome.PLAYED, cuts=0)
    batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=[forged, honest])
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), batch)])
    with factory() as s:
        commune = device(s, IDS.a1).commune_id
        assert commune is not None
        window = {"start_at": utcnow() - timedelta(days=1), "end_at": utcnow()}
        air = stream_airtime(s, **window, commune_ids=[commune])
        rows = {row.item_id: row for row in receipt_rows(s, **window, commune_ids=[commune])}
    assert (air.live_ms, air.relay_ms) == (50_000, 60_000)
    assert rows["relay.vov"].played_ms == 60_000 and rows["live.1"].played_ms == 50_000


def test_hours_beyond_a_32_bit_count_of_milliseconds_do_not_break_the_statistics(
    world_engine: Engine,
) -> None:
    """One group (commune, day, item) summing more than 2^31 ms (~596 hours): 30 days of relay."""
    long = stream(
        "g1",
        "relay.vov",
        heard_s=30 * 86_400,
        span_s=30 * 86_400,
        priority=400,
        outcome=m.Outcome.PLAYED,
        cuts=0,
    )
    batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=[long])
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), batch)])
    with factory() as s:
        commune = device(s, IDS.a1).commune_id
        assert commune is not None
        window = {"start_at": utcnow() - timedelta(days=1), "end_at": utcnow()}
        rows = {row.item_id: row for row in receipt_rows(s, **window, commune_ids=[commune])}
    assert rows["relay.vov"].played_ms == 30 * 86_400_000

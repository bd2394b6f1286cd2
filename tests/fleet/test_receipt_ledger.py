"""Issue 17 (open point): one receipt id, one play. On PostgreSQL receipts are partitioned by month of
``started_at``, so their unique key is (device, receipt id, start): a device — or whoever holds its
credentials — could send a receipt id it had sent already with another start (another month) and it
was stored and counted twice in every report. ``receipt_ledger`` keeps one row per (device, receipt
id) with the start it was first recorded with: the same start again is the ordinary duplicate
(acknowledged, as before); another start is refused (not stored, counted, logged, acknowledged so
an honest agent stops resending). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import service
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.fleet.ingest import IngestOutcome, write_events
from loa.fleet.models import PlayReceipt
from loa.protocol import itemids
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from loa.reports.receipt_sql import receipts_statement
from tests.fleet.world import IDS, SHA, device

NOVEMBER = datetime(2026, 11, 20, 2, tzinfo=UTC)  # 20/11 09:00 in Vietnam
JANUARY = datetime(2027, 1, 5, 2, tzinfo=UTC)
YEAR = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))


def _receipt(receipt_id: str, started_at: datetime, item_id: str = "cmd-1") -> m.Receipt:
    return m.Receipt(
        receipt_id=receipt_id,
        seq=0,
        item_id=item_id,
        audio_sha256=SHA,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=30),
        outcome=m.Outcome.PLAYED,
    )


def _send(session: Session, *receipts: m.Receipt, uid: str = IDS.a1) -> IngestOutcome:
    batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=list(receipts))
    return write_events(session, events=[(uid, utcnow(), batch)])


def _stored(session: Session, receipt_id: str) -> list[datetime]:
    return list(
        session.scalars(
            select(PlayReceipt.started_at)
            .where(PlayReceipt.receipt_id == receipt_id)
            .order_by(PlayReceipt.started_at)
        )
    )


def _played_in_reports(session: Session) -> int:
    """What every report counts: the one aggregate statement (``loa.reports.receipt_sql``)."""
    dialect = session.get_bind().dialect.name
    statement = receipts_statement(dialect, start_at=YEAR[0], end_at=YEAR[1], commune_ids=None)
    return sum(row.played for row in session.execute(statement))


@pytest.fixture
def session(world_engine: Engine) -> Iterator[Session]:
    with make_session_factory(world_engine)() as s:
        yield s


def test_a_receipt_id_sent_again_with_another_start_is_counted_once(session: Session) -> None:
    first = _send(session, _receipt("r-1", NOVEMBER))
    session.commit()
    assert (first.receipts_new, first.receipts_duplicate) == (1, 0)
    # The same receipt id, another start, another month: a forgery (an agent re-sends its journaled
    # receipt byte for byte), refused and acknowledged all the same.
    again = _send(session, _receipt("r-1", JANUARY))
    session.commit()
    assert _stored(session, "r-1") == [NOVEMBER]
    assert _played_in_reports(session) == 1
    assert (again.receipts_new, again.receipts_duplicate) == (0, 0)
    assert again.reused == {IDS.a1: ["r-1"]}
    assert again.acks == {IDS.a1: ["r-1"]}


def test_the_same_start_again_is_the_ordinary_duplicate(session: Session) -> None:
    _send(session, _receipt("r-1", NOVEMBER))
    session.commit()
    again = _send(session, _receipt("r-1", NOVEMBER), _receipt("r-2", JANUARY))
    session.commit()
    assert (again.receipts_new, again.receipts_duplicate) == (1, 1)
    assert again.reused == {}
    assert again.acks == {IDS.a1: ["r-1", "r-2"]}
    assert _played_in_reports(session) == 2


def test_both_starts_in_one_batch_keep_the_first(session: Session) -> None:
    outcome = _send(
        session, _receipt("r-1", JANUARY), _receipt("r-1", NOVEMBER), _receipt("r-1", JANUARY)
    )
    session.commit()
    assert _stored(session, "r-1") == [JANUARY]
    assert (outcome.receipts_new, outcome.receipts_duplicate) == (1, 1)
    assert outcome.reused == {IDS.a1: ["r-1"]}
    assert outcome.acks == {IDS.a1: ["r-1"]}
    assert _played_in_reports(session) == 1


def test_receipt_ids_are_per_device(session: Session) -> None:
    """Another cluster's receipt may carry the same id (ids are the agent's own): both are kept."""
    _send(session, _receipt("r-1", NOVEMBER))
    other = _send(session, _receipt("r-1", JANUARY), uid=IDS.a2)
    session.commit()
    assert other.receipts_new == 1 and other.reused == {}
    assert _stored(session, "r-1") == [NOVEMBER, JANUARY]


def test_the_gateway_refuses_counts_logs_once_and_acknowledges(
    world_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        a1 = device(s, IDS.a1)
        (command,) = service.issue_command(s, devices=[a1], kind="play_now", args={"audio_sha256": SHA})
    item = itemids.command_item(command.id)  # an item the device was given: provenance lets it pass
    start = utcnow() - timedelta(hours=1)
    topics = Topics("loa-ledger")
    gateway = Gateway(
        GatewayConfig(host="127.0.0.1", port=1, username="u", password="p", topics=topics),
        factory,
    )
    outcomes: list[IngestOutcome] = []
    gateway.on_outcome = outcomes.append

    def deliver(*receipts: m.Receipt) -> None:
        payload = m.ReceiptBatch(sent_at=m.now_utc(), receipts=list(receipts)).to_bytes()
        gateway.accept(topics.device(IDS.a1, Channel.RECEIPTS), payload)
        asyncio.run(gateway._flush())

    with caplog.at_level(logging.WARNING, logger="loa.fleet.gateway"):
        deliver(_receipt("g-1", start, item))
        deliver(_receipt("g-1", start + timedelta(days=40), item), _receipt("g-2", start, item))
        deliver(_receipt("g-1", start - timedelta(days=40), item))
    assert gateway.stats.receipts_new == 2
    assert gateway.stats.receipts_reused == 2
    assert gateway.stats.dropped["reused_receipt_id"] == 2
    assert gateway.stats.receipts_refused == 0  # provenance had nothing against them
    assert [o.acks for o in outcomes] == [{IDS.a1: ["g-1"]}, {IDS.a1: ["g-1", "g-2"]}, {IDS.a1: ["g-1"]}]
    warnings = [r.getMessage() for r in caplog.records if "another start" in r.getMessage()]
    assert len(warnings) == 1 and IDS.a1 in warnings[0]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(PlayReceipt)) == 2
        assert _stored(s, "g-1") == [start]

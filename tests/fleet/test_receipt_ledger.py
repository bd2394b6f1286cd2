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
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, inspect, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.db.migrate import downgrade, upgrade
from loa.fleet import service
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.fleet.ingest import IngestOutcome, write_events
from loa.fleet.models import Device, PlayReceipt, ReceiptLedger
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
    outcome = _send(session, _receipt("r-1", JANUARY), _receipt("r-1", NOVEMBER), _receipt("r-1", JANUARY))
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


def test_two_gateways_writing_both_starts_at_once_store_one(world_engine: Engine) -> None:
    """Two transactions (two gateways, or a forger's copy racing the device's own receipt): the
    second waits for the first's claim on the ledger key, then sees its start and refuses its own."""
    factory = make_session_factory(world_engine)
    first, second = factory(), factory()
    try:
        assert _send(first, _receipt("r-1", NOVEMBER)).receipts_new == 1  # claimed, not committed
        outcomes: list[IngestOutcome] = []

        def racing() -> None:
            outcomes.append(_send(second, _receipt("r-1", JANUARY)))
            second.commit()

        thread = threading.Thread(target=racing)
        thread.start()
        thread.join(1.0)
        if world_engine.dialect.name == "postgresql":
            assert thread.is_alive()  # waiting for the first transaction's claim
        first.commit()
        thread.join(10)
        assert not thread.is_alive()
    finally:
        first.close()
        second.close()
    (outcome,) = outcomes
    assert outcome.receipts_new == 0 and outcome.reused == {IDS.a1: ["r-1"]}
    with factory() as s:
        assert _stored(s, "r-1") == [NOVEMBER]
        assert _played_in_reports(s) == 1


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


# --- migration 0022 on a database that already holds receipts ----------------------------------


def test_upgrading_fills_the_ledger_with_the_earliest_start_and_reports_what_was_stored_twice(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    downgrade(engine, "0021")
    assert "receipt_ledger" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        device_id = conn.execute(
            insert(Device)
            .values(
                uid="loa-old-1", name="Cụm loa cũ", village="", heartbeat_s=30, pending_receipts=0,
                messages_refused=0, message_errors=0, active=True, online=False, firmware="",
                created_at=NOVEMBER,
            )
            .returning(Device.id)
        ).scalar_one()  # fmt: skip
        stored = [("twice", JANUARY), ("twice", NOVEMBER), ("once", NOVEMBER), ("thrice", NOVEMBER)]
        stored += [("thrice", NOVEMBER + timedelta(days=k)) for k in (1, 2)]
        conn.execute(
            insert(PlayReceipt),
            [
                {
                    "device_id": device_id, "receipt_id": rid, "seq": 0, "item_id": "cmd-1",
                    "audio_sha256": SHA, "started_at": at, "ended_at": at + timedelta(seconds=30),
                    "outcome": "played", "received_at": at,
                }
                for rid, at in stored
            ],
        )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="loa.db.migrations"):
        upgrade(engine)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "loa.db.migrations"]
    assert "3 receipts stored more than once under one receipt id (2 receipt ids)" in warning
    assert "loa-old-1 thrice ×3" in warning and "loa-old-1 twice ×2" in warning
    with make_session_factory(engine)() as s:
        rows = s.execute(select(ReceiptLedger.receipt_id, ReceiptLedger.started_at))
        ledger = {rid: at for rid, at in rows}
        assert ledger == {"twice": NOVEMBER, "once": NOVEMBER, "thrice": NOVEMBER}
        assert s.scalar(select(func.count()).select_from(PlayReceipt)) == 6  # nothing deleted
        # From now on: the earliest start is the duplicate, any other start is refused.
        outcome = _send(s, _receipt("twice", NOVEMBER), _receipt("once", JANUARY), uid="loa-old-1")
        s.commit()
        assert (outcome.receipts_new, outcome.receipts_duplicate) == (0, 1)
        assert outcome.reused == {"loa-old-1": ["once"]}
    caplog.clear()
    downgrade(engine, "0021")
    assert "receipt_ledger" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PlayReceipt)).scalar() == 6
    with caplog.at_level(logging.WARNING, logger="loa.db.migrations"):
        upgrade(engine)


def test_a_database_without_duplicates_upgrades_silently(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    downgrade(engine, "0021")
    with caplog.at_level(logging.WARNING, logger="loa.db.migrations"):
        upgrade(engine)
    assert [r for r in caplog.records if r.name == "loa.db.migrations"] == []

"""History that grows for years (issue 17): receipts and the status log partitioned by month on
PostgreSQL, each receipt recorded once whenever it is re-sent, the status log's retention (audited,
receipts never touched), the statistics reading only their period's partitions, and migration 0018
converting a database that already holds receipts. SQLite runs the same code on plain tables."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.db import partitions as p
from loa.db.migrate import downgrade, upgrade
from loa.fleet.history import maintain_history, status_log_cutoff
from loa.fleet.ingest import write_events
from loa.fleet.models import Device, DeviceStatusLog, PlayReceipt, StatusEvent
from loa.protocol import messages as m
from loa.reports.facts import period_bounds
from loa.reports.receipt_sql import receipts_statement
from loa.vocab.period import Period
from tests.support.databases import PostgresBackend

SHA = "ab" * 32
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def _device(session: Session, uid: str = "loa-history-1") -> Device:
    device = Device(uid=uid, name="Cụm loa thôn 1")
    session.add(device)
    session.flush()
    return device


def _receipt(receipt_id: str, started_at: datetime) -> m.Receipt:
    return m.Receipt(
        receipt_id=receipt_id,
        seq=0,
        item_id="cmd-1",
        audio_sha256=SHA,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=30),
        outcome=m.Outcome.PLAYED,
    )


def _send(session: Session, uid: str, received_at: datetime, *receipts: m.Receipt) -> tuple[int, int]:
    batch = m.ReceiptBatch(sent_at=received_at, receipts=list(receipts))
    outcome = write_events(session, events=[(uid, received_at, batch)])
    return outcome.receipts_new, outcome.receipts_duplicate


def _receipts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PlayReceipt)) or 0)


def _holding(session: Session, table: p.MonthlyTable, key: str, value: Any) -> str:
    """The partition a row sits in (PostgreSQL)."""
    return str(
        session.execute(
            text(f"SELECT tableoid::regclass::text FROM {table.name} WHERE {key} = :v"), {"v": value}
        ).scalar_one()
    )


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def test_a_resent_receipt_is_recorded_once_even_when_it_arrives_in_another_month(session: Session) -> None:
    device = _device(session)
    played_at = datetime(2026, 11, 29, 23, 50, tzinfo=UTC)  # 30/11 06:50 in Vietnam
    first = _receipt("r-0001", played_at)
    assert _send(session, device.uid, played_at + timedelta(minutes=1), first) == (1, 0)
    session.commit()
    # The acknowledgement was lost: the device re-sends its journaled receipt next month, when the
    # gateway has made the following months' partitions meanwhile.
    later = datetime(2027, 1, 3, 8, tzinfo=UTC)
    p.ensure_partitions(session.connection(), now=later)
    assert _send(session, device.uid, later, first, _receipt("r-0002", later)) == (1, 1)
    assert _send(session, device.uid, later + timedelta(hours=1), first) == (0, 1)  # and again
    session.commit()
    assert _receipts(session) == 2
    rows = session.execute(
        select(PlayReceipt.receipt_id, PlayReceipt.received_at).order_by(PlayReceipt.id)
    ).all()
    assert [(r, at.month) for r, at in rows] == [("r-0001", 11), ("r-0002", 1)]  # the first arrival kept
    if _is_postgres(session):
        assert _holding(session, p.RECEIPTS, "receipt_id", "r-0001") == "play_receipts_y2026m11"
        assert _holding(session, p.RECEIPTS, "receipt_id", "r-0002") == "play_receipts_y2027m01"


def test_a_receipt_from_a_wild_clock_is_kept_and_moves_to_its_month_when_the_month_is_made(
    session: Session,
) -> None:
    device = _device(session)
    far = datetime(2031, 5, 2, 3, tzinfo=UTC)  # no partition that far ahead: the default one keeps it
    assert _send(session, device.uid, NOW, _receipt("r-far", far)) == (1, 0)
    session.commit()
    assert _send(session, device.uid, NOW, _receipt("r-far", far)) == (0, 1)
    if not _is_postgres(session):
        return
    assert _holding(session, p.RECEIPTS, "receipt_id", "r-far") == "play_receipts_default"
    made = p.ensure_partitions(session.connection(), now=far)
    assert "play_receipts_y2031m05" in made
    session.commit()
    assert _holding(session, p.RECEIPTS, "receipt_id", "r-far") == "play_receipts_y2031m05"
    assert _send(session, device.uid, far, _receipt("r-far", far)) == (0, 1)  # still once
    assert _receipts(session) == 1


def test_ensure_partitions_makes_the_months_ahead_once(session: Session) -> None:
    first = p.ensure_partitions(session.connection(), now=datetime(2029, 3, 15, tzinfo=UTC))
    again = p.ensure_partitions(session.connection(), now=datetime(2029, 3, 20, tzinfo=UTC))
    if not _is_postgres(session):
        assert first == again == []
        return
    months = ["2029m02", "2029m03", "2029m04", "2029m05", "2029m06"]  # last month, this one, three ahead
    assert first == [f"{t.name}_y{mo}" for t in p.MONTHLY_TABLES for mo in months]
    assert again == []
    # Bounds are Vietnam's local months: 28/02 17:00 UTC is already 1 March.
    device = _device(session)
    session.add(
        DeviceStatusLog(device_id=device.id, at=datetime(2029, 2, 28, 17, tzinfo=UTC), event="online")
    )
    session.flush()
    assert _holding(session, p.STATUS_LOG, "device_id", device.id) == "device_status_log_y2029m03"


def _status(session: Session, device_id: int, *ats: datetime) -> None:
    session.add_all(DeviceStatusLog(device_id=device_id, at=at, event=StatusEvent.ONLINE) for at in ats)
    session.flush()


def test_the_status_log_keeps_its_months_and_receipts_are_never_dropped(session: Session) -> None:
    device = _device(session)
    old = [datetime(2023, 6, 10, tzinfo=UTC), datetime(2024, 11, 30, 16, tzinfo=UTC)]  # 30/11 23:00 local
    kept = [datetime(2024, 11, 30, 17, tzinfo=UTC), NOW - timedelta(days=3)]  # 1/12 00:00 local; recent
    p.ensure_partitions(session.connection(), now=datetime(2024, 11, 30, tzinfo=UTC))  # the months then
    _status(session, device.id, *old, *kept)
    for i, at in enumerate([*old, *kept]):  # receipts as old as the status changes
        _send(session, device.uid, at, _receipt(f"r-{i}", at))
    session.commit()
    assert status_log_cutoff(NOW, 24) == datetime(2024, 11, 30, 17, tzinfo=UTC)

    done = maintain_history(session, now=NOW, retention_months=24)
    session.commit()
    remaining = session.scalars(
        select(DeviceStatusLog.at)
        .where(DeviceStatusLog.event == StatusEvent.ONLINE)
        .order_by(DeviceStatusLog.at)
    ).all()
    assert [at for at in remaining if at in old] == []
    assert set(kept) <= set(remaining)
    assert _receipts(session) == 4  # the evidence stays
    assert done.status_rows_deleted >= 2
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "fleet.history_maintain")).all()
    assert event.details["retention_months"] == 24
    assert event.details["status_log_before"] == "01/12/2024"
    assert event.details["status_log_rows"] == done.status_rows_deleted
    if _is_postgres(session):
        assert "device_status_log_y2024m11" in done.status_partitions_dropped
        names = p.partitions(session.connection(), p.STATUS_LOG)
        assert "device_status_log_y2024m11" not in names and "device_status_log_y2024m12" in names
        assert "play_receipts_y2024m11" in p.partitions(session.connection(), p.RECEIPTS)

    again = maintain_history(session, now=NOW, retention_months=24)
    session.commit()
    assert not again.changed  # nothing more to do: no second audit event
    assert session.scalar(select(func.count()).where(AuditEvent.action == "fleet.history_maintain")) == 1


def _scanned(session: Session, statement: Any) -> set[str]:
    """The relations a statement's plan reads (EXPLAIN, PostgreSQL)."""
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    plan = (
        session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params)
        .scalar()
    )
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk((plan if isinstance(plan, list) else json.loads(str(plan)))[0]["Plan"])
    return found


@pytest.fixture
def pg_session(postgres_backend: PostgresBackend) -> Iterator[Session]:
    """PostgreSQL only: partitions and their pruning exist there (SQLite keeps one table)."""
    with postgres_backend.database() as engine, make_session_factory(engine)() as session:
        yield session


def test_the_statistics_of_a_month_read_only_that_months_partition(pg_session: Session) -> None:
    session = pg_session
    p.ensure_partitions(session.connection(), now=datetime(2026, 3, 10, tzinfo=UTC))
    for month in (2, 3, 4):
        start_at, end_at = period_bounds(Period.month(2026, month))
        statement = receipts_statement("postgresql", start_at=start_at, end_at=end_at, commune_ids=[1, 2])
        receipts = {r for r in _scanned(session, statement) if r.startswith("play_receipts")}
        assert receipts == {f"play_receipts_y2026m{month:02d}"}
    start_at, end_at = period_bounds(Period.year(2026))
    statement = receipts_statement("postgresql", start_at=start_at, end_at=end_at, commune_ids=[1])
    year = {r for r in _scanned(session, statement) if r.startswith("play_receipts")}
    assert "play_receipts_y2025m12" not in year and "play_receipts_y2026m03" in year


# --- migration 0018 on a database that already holds receipts ---------------------------------


# The revision 0018 follows (other migrations may come between 0011 and it as branches merge).
BEFORE_0018: str = importlib.import_module("loa.db.migrations.versions.0018_monthly_partitions").down_revision


@pytest.fixture
def at_0011(engine: Engine) -> Iterator[Engine]:
    downgrade(engine, BEFORE_0018)
    yield engine


def test_upgrading_a_database_with_receipts_keeps_them_and_their_dedup(at_0011: Engine) -> None:
    engine = at_0011
    months = [datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 2, 15, tzinfo=UTC), NOW]
    with engine.begin() as conn:
        device_id = conn.execute(
            insert(Device)
            .values(
                uid="loa-old-1",
                name="Cụm loa cũ",
                village="",
                heartbeat_s=30,
                pending_receipts=0,
                messages_refused=0,
                message_errors=0,
                active=True,
                online=False,
                firmware="",
                created_at=NOW,
            )
            .returning(Device.id)
        ).scalar_one()
        conn.execute(
            insert(PlayReceipt),
            [
                {
                    "device_id": device_id,
                    "receipt_id": f"old-{i}",
                    "seq": i,
                    "item_id": "cmd-1",
                    "audio_sha256": SHA,
                    "started_at": at,
                    "ended_at": at + timedelta(seconds=30),
                    "outcome": "played",
                    "received_at": at,
                }
                for i, at in enumerate(months)
            ],
        )
        conn.execute(
            insert(DeviceStatusLog),
            [{"device_id": device_id, "at": at, "event": "online", "detail": ""} for at in months],
        )
    upgrade(engine)
    with make_session_factory(engine)() as session:
        assert _receipts(session) == 3
        assert session.scalar(select(func.count()).select_from(DeviceStatusLog)) == 3
        before = session.scalar(select(func.max(PlayReceipt.id)))
        assert before is not None
        # Re-sent after the upgrade: still recorded once; a new one gets a fresh id from the same sequence.
        again = _receipt("old-1", months[1])
        assert _send(session, "loa-old-1", NOW, again, _receipt("new-1", NOW)) == (1, 1)
        session.commit()
        assert _receipts(session) == 4
        assert (session.scalar(select(PlayReceipt.id).where(PlayReceipt.receipt_id == "new-1")) or 0) > before
        if _is_postgres(session):
            assert p.is_partitioned(session.connection(), p.RECEIPTS)
            assert p.is_partitioned(session.connection(), p.STATUS_LOG)
            assert _holding(session, p.RECEIPTS, "receipt_id", "old-0") == "play_receipts_y2025m01"
            assert _holding(session, p.RECEIPTS, "receipt_id", "old-1") == "play_receipts_y2025m02"
            assert _holding(session, p.STATUS_LOG, "at", months[0]) == "device_status_log_y2025m01"
    downgrade(engine, BEFORE_0018)  # and back, rows kept
    with make_session_factory(engine)() as session:
        assert session.execute(text("SELECT count(*) FROM play_receipts")).scalar() == 4
    upgrade(engine)


def test_loa_db_maintain_forgets_old_status_changes_and_says_so(
    session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from loa.cli import app
    from loa.units.models import AdminUnit, UnitKind

    device = _device(session)
    commune = AdminUnit(
        code="99001", kind=UnitKind.COMMUNE, name="Xã Thử", name_folded="xa thu", path="/99001/"
    )
    session.add(commune)
    session.flush()
    device.commune_id = commune.id
    now = datetime.now(UTC)
    _status(session, device.id, now - timedelta(days=400), now - timedelta(days=10))
    _send(session, device.uid, now, _receipt("r-old", now - timedelta(days=400)))
    session.commit()
    monkeypatch.setenv("LOA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LOA_DEMO", "1")
    result = CliRunner().invoke(app, ["db", "maintain", "--status-log-months", "6"])
    assert result.exit_code == 0, result.output
    assert "Nhật ký trạng thái giữ 6 tháng: đã xóa 1 dòng trước" in result.output
    session.expire_all()
    ats = session.scalars(select(DeviceStatusLog.at)).all()
    assert len(ats) == 2 and min(ats) > now - timedelta(days=11)  # the old change went, the rest stayed
    assert _receipts(session) == 1  # never a receipt
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "fleet.history_maintain")).all()
    assert event.actor_name == "cli" and event.details["via"] == "cli"
    # The closed months since the old receipt's are summarised for the reports, each one audited.
    from loa.fleet.models import ReceiptSummary, ReceiptSummaryMonth
    from loa.reports.summary import month_key

    old_month = month_key(now - timedelta(days=400))
    assert f"Tổng hợp biên nhận phát của các tháng đã khép lại: {old_month:%m/%Y}, " in result.output
    row = session.get(ReceiptSummaryMonth, old_month)
    assert row is not None and not row.dirty and row.groups == 1
    assert session.scalar(select(ReceiptSummary.played).where(ReceiptSummary.month == old_month)) == 1
    made = session.scalars(select(AuditEvent).where(AuditEvent.action == "reports.receipt_summary")).all()
    assert len(made) >= 12 and {e.details["via"] for e in made} == {"cli"}
    again = CliRunner().invoke(app, ["db", "maintain"])
    assert "các tháng đã khép lại: không có tháng nào cần." in again.output

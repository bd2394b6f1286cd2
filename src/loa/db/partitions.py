"""Monthly partitions of the tables that grow for years (PostgreSQL only; SQLite keeps plain tables).

``play_receipts`` (by ``started_at``) and ``device_status_log`` (by ``at``) are declaratively
partitioned by RANGE of their time column, one partition per month, named ``<table>_yYYYYmMM``, plus a
``<table>_default`` partition as a safety net: an insert never fails for want of a partition (a receipt
dated by a clock that ran wild lands there). Months are Vietnam's local months (UTC+7, no daylight
saving), the periods the reports ask for, so a monthly report reads one partition.

``ensure_partitions`` creates the current month's and the next months' partitions ahead of time; rows
already in the default partition for a month being created are moved into it (PostgreSQL refuses to
create a partition whose rows sit in the default one). ``drop_months_before`` drops whole months (the
status log's retention). Callers own the transaction; both take a transaction-scoped advisory lock, so
several gateways maintaining at once wait for each other instead of racing.

Migration 0018 converted existing databases with the same names and bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

LOCAL_OFFSET = timedelta(hours=7)  # Vietnam keeps UTC+7 all year
_LOCK_KEY = 0x10A_0018  # pg_advisory_xact_lock key of partition maintenance


@dataclass(frozen=True)
class MonthlyTable:
    name: str
    key: str  # the time column the reports filter on: the partition key


RECEIPTS = MonthlyTable("play_receipts", "started_at")
STATUS_LOG = MonthlyTable("device_status_log", "at")
MONTHLY_TABLES: tuple[MonthlyTable, ...] = (RECEIPTS, STATUS_LOG)

_PARTITION_NAME = re.compile(
    r"^(?P<table>" + "|".join(t.name for t in MONTHLY_TABLES) + r")_(?:y(?P<y>\d{4})m(?P<m>\d{2})|default)$"
)


def is_partition_name(name: str | None) -> bool:
    """Whether ``name`` is one of the partitions this module makes (not a table of the models)."""
    return bool(name and _PARTITION_NAME.match(name))


def month_start(at: datetime) -> datetime:
    """The (UTC) instant the local month holding ``at`` began."""
    local = at.astimezone(UTC) + LOCAL_OFFSET
    return datetime(local.year, local.month, 1, tzinfo=UTC) - LOCAL_OFFSET


def add_months(start: datetime, months: int) -> datetime:
    """The start of the local month ``months`` after the one starting at ``start``."""
    local = start.astimezone(UTC) + LOCAL_OFFSET
    index = local.year * 12 + local.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC) - LOCAL_OFFSET


def partition_name(table: MonthlyTable, start: datetime) -> str:
    local = start.astimezone(UTC) + LOCAL_OFFSET
    return f"{table.name}_y{local.year:04d}m{local.month:02d}"


def default_partition(table: MonthlyTable) -> str:
    return f"{table.name}_default"


def _literal(at: datetime) -> str:
    """A timestamptz literal for partition bounds (made from a datetime, never from input)."""
    return "'" + at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00") + "'"


def is_partitioned(connection: Connection, table: MonthlyTable) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": table.name}
    ).scalar()
    return kind == "p"


def partitions(connection: Connection, table: MonthlyTable) -> list[str]:
    """The names of ``table``'s partitions, sorted (months first, then the default one)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:name)"
        ),
        {"name": table.name},
    ).scalars()
    return sorted(names, key=lambda n: (n.endswith("_default"), n))


def month_of(table: MonthlyTable, name: str) -> datetime | None:
    """The start of the month partition ``name`` holds (None for the default one or another name)."""
    match = _PARTITION_NAME.match(name)
    if match is None or match["table"] != table.name or match["y"] is None:
        return None
    return datetime(int(match["y"]), int(match["m"]), 1, tzinfo=UTC) - LOCAL_OFFSET


def create_month(connection: Connection, table: MonthlyTable, start: datetime) -> str:
    """The partition of the month starting at ``start`` (which must not exist yet). Rows of that month
    waiting in the default partition are moved into it in the same transaction."""
    name = partition_name(table, start)
    lower, upper = _literal(start), _literal(add_months(start, 1))
    default = default_partition(table)
    stranded = connection.exec_driver_sql(
        f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {table.key} >= {lower} AND {table.key} < {upper})"
    ).scalar()
    if not stranded:
        connection.exec_driver_sql(
            f"CREATE TABLE {name} PARTITION OF {table.name} FOR VALUES FROM ({lower}) TO ({upper})"
        )
        return name
    connection.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {default} WHERE {table.key} >= {lower} AND {table.key} < {upper} "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
    )
    connection.exec_driver_sql(
        f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
    )
    return name


def ensure_partitions(connection: Connection, *, now: datetime, months_ahead: int = 3) -> list[str]:
    """The partitions of last month, this month and ``months_ahead`` months after it, for every
    partitioned table; returns those created (none on SQLite, or when all exist)."""
    if connection.dialect.name != "postgresql":
        return []
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    created: list[str] = []
    first = add_months(month_start(now), -1)
    for table in MONTHLY_TABLES:
        if not is_partitioned(connection, table):
            continue
        existing = set(partitions(connection, table))
        for k in range(months_ahead + 2):
            start = add_months(first, k)
            if partition_name(table, start) not in existing:
                created.append(create_month(connection, table, start))
    return created


@dataclass(frozen=True)
class Dropped:
    partitions: list[str]
    rows: int  # rows gone with them, and from the default partition


def drop_months_before(connection: Connection, table: MonthlyTable, cutoff: datetime) -> Dropped:
    """Drop the month partitions that end at or before ``cutoff`` (a month start) and delete older
    rows from the default partition. PostgreSQL with a partitioned ``table`` only."""
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    gone: list[str] = []
    rows = 0
    for name in partitions(connection, table):
        start = month_of(table, name)
        if start is None or add_months(start, 1) > cutoff:
            continue
        rows += int(connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() or 0)
        connection.exec_driver_sql(f"DROP TABLE {name}")
        gone.append(name)
    deleted = connection.exec_driver_sql(
        f"DELETE FROM {default_partition(table)} WHERE {table.key} < {_literal(cutoff)}"
    )
    return Dropped(gone, rows + max(deleted.rowcount, 0))

"""monthly partitions of play receipts and the device status log

PostgreSQL: ``play_receipts`` (by ``started_at``) and ``device_status_log`` (by ``at``) become RANGE
partitioned by Vietnam's local month (UTC+7), named ``<table>_yYYYYmMM``, with a ``<table>_default``
partition as a safety net. Existing rows are moved in this migration's transaction: the partitioned
table is created beside the old one, filled, and takes its name; the id sequence is kept.

A unique constraint of a partitioned table must include the partition key, so a receipt's key becomes
``(device_id, receipt_id, started_at)`` on every backend: a device re-sends the receipt it journaled,
byte for byte, so the same receipt always carries the same ``started_at`` (and lands in the same
partition, whenever it arrives). The primary keys become ``(id, <time column>)`` on PostgreSQL; ids
still come from one sequence per table. SQLite keeps plain tables (only the receipt key changes).

Partitions for the months with rows, last month, this month and the three after it are made here;
later months by ``loa.db.partitions.ensure_partitions`` (the gateway's periodic maintenance, ``loa db
maintain``).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alembic import op
from sqlalchemy import Connection

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFSET = timedelta(hours=7)


@dataclass(frozen=True)
class _Table:
    name: str
    key: str
    unique: tuple[str, str] | None  # (name, columns) of the partitioned table's unique constraint
    old_unique: tuple[str, str] | None
    indexes: tuple[tuple[str, str], ...]  # (name, columns)


_TABLES = (
    _Table(
        "play_receipts",
        "started_at",
        ("uq_play_receipts_device_id_receipt_id_started_at", "device_id, receipt_id, started_at"),
        ("uq_play_receipts_device_id_receipt_id", "device_id, receipt_id"),
        (
            ("ix_play_receipts_device_started", "device_id, started_at"),
            ("ix_play_receipts_item_id", "item_id"),
            ("ix_play_receipts_started", "started_at"),
        ),
    ),
    _Table("device_status_log", "at", None, None, (("ix_device_status_log_device_at", "device_id, at"),)),
)


def _months_from_now(count: int) -> list[datetime]:
    """Local month starts (naive local time) of last month, this month and ``count`` after it."""
    local = datetime.now(UTC) + OFFSET
    index = local.year * 12 + local.month - 1
    return [datetime((index + k) // 12, (index + k) % 12 + 1, 1) for k in range(-1, count + 1)]


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1)


def _bound(local: datetime) -> str:
    return f"'{local:%Y-%m-%d %H:%M:%S}+07'"


def _partition(conn: Connection, t: _Table) -> None:
    old = f"{t.name}_unpartitioned"
    sequence = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{t.name}', 'id')").scalar()
    conn.exec_driver_sql(f"ALTER TABLE {t.name} RENAME TO {old}")
    for index, _ in t.indexes:
        conn.exec_driver_sql(f"DROP INDEX {index}")
    drops = [f"pk_{t.name}", f"fk_{t.name}_device_id_devices"] + ([t.old_unique[0]] if t.old_unique else [])
    for constraint in drops:
        conn.exec_driver_sql(f"ALTER TABLE {old} DROP CONSTRAINT {constraint}")
    conn.exec_driver_sql(
        f"CREATE TABLE {t.name} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({t.key})"
    )
    conn.exec_driver_sql(f"CREATE TABLE {t.name}_default PARTITION OF {t.name} DEFAULT")
    with_rows = conn.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', timezone(INTERVAL '+07:00', {t.key})) FROM {old}"
    ).scalars()
    for start in sorted({*with_rows, *_months_from_now(3)}):
        conn.exec_driver_sql(
            f"CREATE TABLE {t.name}_y{start:%Y}m{start:%m} PARTITION OF {t.name} "
            f"FOR VALUES FROM ({_bound(start)}) TO ({_bound(_next_month(start))})"
        )
    conn.exec_driver_sql(f"INSERT INTO {t.name} SELECT * FROM {old}")
    conn.exec_driver_sql(f"ALTER TABLE {t.name} ADD CONSTRAINT pk_{t.name} PRIMARY KEY (id, {t.key})")
    if t.unique:
        conn.exec_driver_sql(f"ALTER TABLE {t.name} ADD CONSTRAINT {t.unique[0]} UNIQUE ({t.unique[1]})")
    conn.exec_driver_sql(
        f"ALTER TABLE {t.name} ADD CONSTRAINT fk_{t.name}_device_id_devices FOREIGN KEY (device_id) "
        "REFERENCES devices (id) ON DELETE CASCADE"
    )
    for index, columns in t.indexes:
        conn.exec_driver_sql(f"CREATE INDEX {index} ON {t.name} ({columns})")
    conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {t.name}.id")
    conn.exec_driver_sql(f"DROP TABLE {old}")
    conn.exec_driver_sql(f"ANALYZE {t.name}")


def _unpartition(conn: Connection, t: _Table) -> None:
    old = f"{t.name}_partitioned"
    sequence = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{t.name}', 'id')").scalar()
    conn.exec_driver_sql(f"ALTER TABLE {t.name} RENAME TO {old}")
    for index, _ in t.indexes:
        conn.exec_driver_sql(f"DROP INDEX {index}")
    drops = [f"pk_{t.name}", f"fk_{t.name}_device_id_devices"] + ([t.unique[0]] if t.unique else [])
    for constraint in drops:
        conn.exec_driver_sql(f"ALTER TABLE {old} DROP CONSTRAINT {constraint}")
    conn.exec_driver_sql(f"CREATE TABLE {t.name} (LIKE {old} INCLUDING DEFAULTS)")
    conn.exec_driver_sql(f"INSERT INTO {t.name} SELECT * FROM {old}")
    conn.exec_driver_sql(f"ALTER TABLE {t.name} ADD CONSTRAINT pk_{t.name} PRIMARY KEY (id)")
    if t.old_unique:
        conn.exec_driver_sql(
            f"ALTER TABLE {t.name} ADD CONSTRAINT {t.old_unique[0]} UNIQUE ({t.old_unique[1]})"
        )
    conn.exec_driver_sql(
        f"ALTER TABLE {t.name} ADD CONSTRAINT fk_{t.name}_device_id_devices FOREIGN KEY (device_id) "
        "REFERENCES devices (id) ON DELETE CASCADE"
    )
    for index, columns in t.indexes:
        conn.exec_driver_sql(f"CREATE INDEX {index} ON {t.name} ({columns})")
    conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {t.name}.id")
    conn.exec_driver_sql(f"DROP TABLE {old}")  # its partitions go with it


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table in _TABLES:
            _partition(conn, table)
        return
    with op.batch_alter_table("play_receipts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_play_receipts_device_id_receipt_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_play_receipts_device_id_receipt_id_started_at", ["device_id", "receipt_id", "started_at"]
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table in _TABLES:
            _unpartition(conn, table)
        return
    with op.batch_alter_table("play_receipts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_play_receipts_device_id_receipt_id_started_at", type_="unique")
        batch_op.create_unique_constraint(
            "uq_play_receipts_device_id_receipt_id", ["device_id", "receipt_id"]
        )

"""one receipt id, one play: the receipt ledger

``receipt_ledger`` holds every (device, receipt id) ever recorded, once, with the start it was recorded
with; not partitioned, so its key can leave the start out (``play_receipts``' key holds it: it is the
partition key on PostgreSQL). The ingest claims a receipt's key here in the receipt's transaction and
refuses a receipt id sent again with another start (``loa.fleet.ingest``).

Filled from the receipts already stored: per (device, receipt id) the earliest start, in one pass
over ``play_receipts`` (measured: 9.3 s for 1,000,000 receipts on PostgreSQL, two cores). Receipts stored
more than once under one receipt id before this revision (with different starts) are not deleted —
they are evidence, and which one is true is for a person to judge — but counted and listed in the
migration's log (``loa.db.migrations``, warning): how many, and the first ``LISTED`` receipt ids by
device with how many times each was stored; ``docs/reporting.md`` says how to list them all.

Revision ID: 0022
Revises: 0021
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("loa.db.migrations")
LISTED = 20


def upgrade() -> None:
    op.create_table(
        "receipt_ledger",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_receipt_ledger_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "receipt_id", name=op.f("pk_receipt_ledger")),
    )
    connection = op.get_bind()
    connection.exec_driver_sql(
        "INSERT INTO receipt_ledger (device_id, receipt_id, started_at) "
        "SELECT device_id, receipt_id, min(started_at) FROM play_receipts GROUP BY device_id, receipt_id"
    )
    receipts = int(connection.exec_driver_sql("SELECT count(*) FROM play_receipts").scalar() or 0)
    keys = int(connection.exec_driver_sql("SELECT count(*) FROM receipt_ledger").scalar() or 0)
    if receipts == keys:
        return
    reused = connection.exec_driver_sql(
        "SELECT d.uid, r.receipt_id, count(*) AS n FROM play_receipts AS r "
        "JOIN devices AS d ON d.id = r.device_id GROUP BY d.uid, r.receipt_id HAVING count(*) > 1 "
        f"ORDER BY d.uid, r.receipt_id LIMIT {LISTED}"
    ).all()
    log.warning(
        "receipt ledger: %d receipts stored more than once under one receipt id (%d receipt ids); "
        "kept, the earliest start recorded in the ledger; first ones: %s",
        receipts - keys,
        int(
            connection.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM play_receipts GROUP BY device_id, receipt_id "
                "HAVING count(*) > 1) AS t"
            ).scalar()
            or 0
        ),
        "; ".join(f"{uid} {receipt_id} ×{n}" for uid, receipt_id, n in reused),
    )


def downgrade() -> None:
    op.drop_table("receipt_ledger")

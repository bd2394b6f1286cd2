"""fleet counters: what the gateways drop and send, per day

One small table the gateways add to in batches (issue 20.11): messages dropped at the edge by reason,
refused receipts, and the traffic in and out (``loa.fleet.counters``). New table only.

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fleet_counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "day", name=op.f("pk_fleet_counters")),
    )


def downgrade() -> None:
    op.drop_table("fleet_counters")

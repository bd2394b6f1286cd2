"""stored summaries of closed months' play receipts

``receipt_summaries`` holds, per closed Vietnam-local month, the reports' receipt aggregate (one row
per commune, local day and item); ``receipt_summary_months`` which months are summarised and which are
dirty (a late receipt arrived); ``receipt_summary_devices`` the commune each cluster was counted under.
Filled by ``loa db maintain`` and the gateway's periodic maintenance (``loa.reports.summary``).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipt_summary_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("summarised_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_receipt_summary_months")),
    )
    op.create_table(
        "receipt_summaries",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("played", sa.Integer(), nullable=False),
        sa.Column("preempted", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("played_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("month", "commune_id", "day", "item_id", name=op.f("pk_receipt_summaries")),
    )
    op.create_table(
        "receipt_summary_devices",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("month", "device_id", name=op.f("pk_receipt_summary_devices")),
    )


def downgrade() -> None:
    op.drop_table("receipt_summary_devices")
    op.drop_table("receipt_summaries")
    op.drop_table("receipt_summary_months")

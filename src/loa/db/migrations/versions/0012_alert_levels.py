"""emergency alerts: hazard, risk level, status, typed text, target, expiry, source, confirmation

Columns for Decision 18/2021/QĐ-TTg levels, drafts and two-person confirmation (``loa.alerts``).
Existing alerts become ``active``, or ``stopped`` when they have a stop time; source ``manual``.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emergency_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hazard", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("risk_level", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=24), server_default="active", nullable=False)
        )
        batch_op.add_column(sa.Column("message_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("target", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", loa.db.base.UtcDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="manual", nullable=False)
        )
        batch_op.add_column(sa.Column("source_ref", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", loa.db.base.UtcDateTime(), nullable=True))
    op.execute("UPDATE emergency_alerts SET status = 'stopped' WHERE stopped_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("emergency_alerts", schema=None) as batch_op:
        for name in (
            "confirmed_at",
            "confirmed_by",
            "source_ref",
            "source",
            "expires_at",
            "target",
            "message_text",
            "status",
            "risk_level",
            "hazard",
        ):
            batch_op.drop_column(name)

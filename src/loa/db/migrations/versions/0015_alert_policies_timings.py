"""alert policies (second person from a risk level) and alert timings (from "Phát" to first play)

Tables of ``loa.alerts.confirm`` and ``loa.alerts.compose``.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("second_person_from_level", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["province_id"], ["admin_units.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("province_id"),
    )
    op.create_table(
        "alert_timings",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("pressed_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("prepare_ms", sa.Integer(), nullable=False),
        sa.Column("send_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["emergency_alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_timings")
    op.drop_table("alert_policies")

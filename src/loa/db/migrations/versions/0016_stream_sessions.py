"""stream sessions (live broadcast and relay)

One row per live broadcast or relay of an outside station (``loa.live``). New table only.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("mount", sa.String(length=60), nullable=False),
        sa.Column("stream_url", sa.String(length=500), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("start_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("end_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("started_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.Column("ended_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=False),
        sa.Column("status_message", sa.String(length=300), nullable=False),
        sa.Column("max_listeners", sa.Integer(), nullable=False),
        sa.Column("recording_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_stream_sessions_commune_id_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_stream_sessions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_sessions")),
    )
    with op.batch_alter_table("stream_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stream_sessions_commune_id"), ["commune_id"], unique=False)
        batch_op.create_index("ix_stream_sessions_status_end", ["status", "end_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stream_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_stream_sessions_status_end")
        batch_op.drop_index(batch_op.f("ix_stream_sessions_commune_id"))
    op.drop_table("stream_sessions")

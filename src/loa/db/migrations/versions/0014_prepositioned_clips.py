"""pre-positioned clips: the generic warning of each risk level, cached on every loudspeaker

One small table (``loa.fleet.models.PrepositionedClip``, issue 15 point 8): a row per risk level with
its audio; the manifests carry them as cache-only clips. New table only.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prepositioned_clips",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audio_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("made_by", sa.String(length=200), nullable=False),
        sa.Column("made_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_prepositioned_clips")),
    )


def downgrade() -> None:
    op.drop_table("prepositioned_clips")

"""speech: upload jobs, names for audio, voice choices per area

Uploads are levelled on the job worker (``speech_jobs.kind = 'upload'``; the original file is kept in
the store under ``source_sha256``). Every job and audio file can carry a name (``title``). Each
area remembers the voice and rate its editors last chose (``speech_voice_choices``).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("tts", "upload", name="speech_job_kind", native_enum=False, length=16),
                nullable=False,
                server_default="tts",
            )
        )
        batch_op.add_column(sa.Column("source_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("source_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("title", sa.String(length=255), nullable=True))
    with op.batch_alter_table("audio_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=255), nullable=True))
    op.create_table(
        "speech_voice_choices",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("voice", sa.String(length=120), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["admin_units.id"],
            name=op.f("fk_speech_voice_choices_area_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_speech_voice_choices_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_speech_voice_choices")),
    )


def downgrade() -> None:
    op.drop_table("speech_voice_choices")
    with op.batch_alter_table("audio_assets", schema=None) as batch_op:
        batch_op.drop_column("title")
    with op.batch_alter_table("speech_jobs", schema=None) as batch_op:
        batch_op.drop_column("title")
        batch_op.drop_column("source_name")
        batch_op.drop_column("source_sha256")
        batch_op.drop_column("kind")

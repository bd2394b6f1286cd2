"""play_receipts: receipts of stream items (live broadcasts, relays); devices: output switch failure

Issue 14.3: a loudspeaker reports a stream item with how long its own audio was heard and how many
times it dropped; a stream names no audio file, so ``audio_sha256`` may be empty. ``kind`` tells the
two apart (every receipt recorded before is a file's); ``priority`` is the stream's rung (live or relay).

``devices.output_switch_error``: the agent's amplifier or transmitter switch failed (from its status).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("output_switch_error", sa.String(length=200), nullable=True))
    with op.batch_alter_table("play_receipts", schema=None) as batch_op:
        batch_op.alter_column("audio_sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("kind", sa.String(length=10), server_default="file", nullable=False))
        batch_op.add_column(sa.Column("heard_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("interruptions", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("output_switch_error")
    op.execute("DELETE FROM play_receipts WHERE audio_sha256 IS NULL")
    with op.batch_alter_table("play_receipts", schema=None) as batch_op:
        batch_op.drop_column("priority")
        batch_op.drop_column("interruptions")
        batch_op.drop_column("heard_ms")
        batch_op.drop_column("kind")
        batch_op.alter_column("audio_sha256", existing_type=sa.String(length=64), nullable=False)

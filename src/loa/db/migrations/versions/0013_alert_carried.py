"""emergency alerts carried in the manifest: the aired audio (lead-in + message) and the stop's batches

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("emergency_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aired_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("stop_batch_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emergency_alerts", schema=None) as batch_op:
        batch_op.drop_column("stop_batch_ids")
        batch_op.drop_column("aired_sha256")

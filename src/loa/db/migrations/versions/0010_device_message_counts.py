"""devices: the messages a loudspeaker refused and failed to handle (from its status)

Issue 21.1: no message ends the agent; it counts those it refused and those whose handling failed,
and reports both in its status. The server keeps the latest figures on the device row.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("messages_refused", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("message_errors", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("message_errors")
        batch_op.drop_column("messages_refused")

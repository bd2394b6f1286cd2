"""device bcrypt password hash

A NATS cluster (the clustered MQTT option, ``loa.fleet.nats``) checks passwords against bcrypt hashes,
computed at enrolment like Mosquitto's. Devices enrolled before this have none: they join a cluster
after a new enrolment code. New nullable column only.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("bcrypt_password_hash", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("bcrypt_password_hash")

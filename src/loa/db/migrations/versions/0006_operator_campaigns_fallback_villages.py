"""campaign cap per day, fallback playlists, village coordinates and population

A programme may cap its airings per day (``max_per_day``: "3 lần/ngày trong 7 ngày"); running-order
lines marked ``fallback`` are a programme's fallback playlist, played at the background rung when an
airing has nothing else; villages carry a point and a population for the map's coverage figures.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_per_day", sa.Integer(), nullable=True))
    with op.batch_alter_table("running_order_items", schema=None) as batch_op:
        # Existing lines are ordinary ones; the default stays in the application.
        batch_op.add_column(sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("running_order_items", schema=None) as batch_op:
        batch_op.alter_column("fallback", existing_type=sa.Boolean(), server_default=None)
    with op.batch_alter_table("admin_units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("population", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admin_units", schema=None) as batch_op:
        batch_op.drop_column("population")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
    # A fallback playlist has no place in the older schema.
    op.execute(sa.text("DELETE FROM running_order_items WHERE fallback"))
    with op.batch_alter_table("running_order_items", schema=None) as batch_op:
        batch_op.drop_column("fallback")
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_column("max_per_day")

"""register count entries, banners without sizes, staged imports

A centre that kept only a notebook's totals enters them as count entries: ``ends_on`` on the
registers (the row then counts ``quantity``/``count`` items between its date and ``ends_on``), a
``quantity`` on mobile trips and press items, and banner/flag sizes may be unknown. Uploaded files wait
in ``activity_imports`` until the person confirms the rows that duplicate existing records.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → the date column a count entry starts on
COUNTED: dict[str, str] = {
    "visual_items": "installed_on",
    "mobile_trips": "trip_on",
    "press_items": "published_on",
    "portal_posts": "posted_on",
    "radio_items": "aired_on",
}
WITH_NEW_QUANTITY = ("mobile_trips", "press_items")


def upgrade() -> None:
    for table, start in COUNTED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
            if table in WITH_NEW_QUANTITY:
                # Existing rows are one item each; the default stays in the application.
                batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=False, server_default="1"))
            if table == "visual_items":
                batch_op.alter_column("width_m", existing_type=sa.Float(), nullable=True)
                batch_op.alter_column("height_m", existing_type=sa.Float(), nullable=True)
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in WITH_NEW_QUANTITY:
                batch_op.alter_column("quantity", existing_type=sa.Integer(), server_default=None)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_quantity_positive"), sa.text("quantity >= 1")
                )
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_ends_after_start"), sa.text(f"ends_on IS NULL OR ends_on >= {start}")
            )

    op.create_table(
        "activity_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("default_area_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "imported", "cancelled", name="import_status", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_activity_imports_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["default_area_id"],
            ["admin_units.id"],
            name=op.f("fk_activity_imports_default_area_id_admin_units"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_imports")),
    )
    with op.batch_alter_table("activity_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_imports_created_by_id"), ["created_by_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_imports_created_by_id"))
    op.drop_table("activity_imports")

    # Count entries and sizeless banners cannot be kept in the older schema.
    for table in COUNTED:
        op.execute(sa.text(f"DELETE FROM {table} WHERE ends_on IS NOT NULL"))
    op.execute(sa.text("DELETE FROM visual_items WHERE width_m IS NULL OR height_m IS NULL"))
    for table in COUNTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_ends_after_start"), type_="check")
            if table in WITH_NEW_QUANTITY:
                batch_op.drop_constraint(op.f(f"ck_{table}_quantity_positive"), type_="check")
                batch_op.drop_column("quantity")
            if table == "visual_items":
                batch_op.alter_column("width_m", existing_type=sa.Float(), nullable=False)
                batch_op.alter_column("height_m", existing_type=sa.Float(), nullable=False)
            batch_op.drop_column("ends_on")

"""fleet health and agent releases

Issue 18 (points 3 and 4): the health columns of ``devices`` (from the latest status), a bounded
history of health samples, health alarms, signed agent releases and their rollouts in waves.
New tables and nullable columns only.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEVICE_COLUMNS = (
    ("storage_total_bytes", sa.BigInteger()),
    ("operator", sa.String(length=60)),
    ("uptime_s", sa.Integer()),
    ("data_used_today_bytes", sa.BigInteger()),
    ("data_used_month_bytes", sa.BigInteger()),
    ("data_budget_bytes", sa.BigInteger()),
    ("output_state", sa.String(length=16)),
    ("agent_version", sa.String(length=40)),
    ("rolled_back_from", sa.String(length=40)),
)


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name, type_ in DEVICE_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index(batch.f("ix_devices_agent_version"), ["agent_version"], unique=False)
    op.create_table(
        "device_health_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("signal_dbm", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("storage_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("storage_total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("data_used_today_bytes", sa.BigInteger(), nullable=True),
        sa.Column("uptime_s", sa.Integer(), nullable=True),
        sa.Column("output_ok", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_health_samples_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_health_samples")),
    )
    op.create_index("ix_device_health_samples_device_at", "device_health_samples", ["device_id", "at"])
    op.create_table(
        "device_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("raised_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("cleared_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_alarms_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_alarms")),
    )
    op.create_index("ix_device_alarms_open", "device_alarms", ["device_id", "kind", "cleared_at"])
    op.create_index(op.f("ix_device_alarms_cleared_at"), "device_alarms", ["cleared_at"])
    op.create_table(
        "agent_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=160), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.String(length=120), nullable=False),
        sa.Column("published_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_releases")),
        sa.UniqueConstraint("version", name=op.f("uq_agent_releases_version")),
        sa.UniqueConstraint("sha256", name=op.f("uq_agent_releases_sha256")),
    )
    op.create_table(
        "agent_rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("waves", sa.String(length=60), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("created_at", loa.db.base.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("finished_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["agent_releases.id"],
            name=op.f("fk_agent_rollouts_release_id_agent_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_agent_rollouts_commune_id_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_rollouts")),
    )
    op.create_index(op.f("ix_agent_rollouts_release_id"), "agent_rollouts", ["release_id"])
    op.create_index(op.f("ix_agent_rollouts_state"), "agent_rollouts", ["state"])
    op.create_table(
        "agent_rollout_targets",
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("sent_at", loa.db.base.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["agent_rollouts.id"],
            name=op.f("fk_agent_rollout_targets_rollout_id_agent_rollouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_agent_rollout_targets_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rollout_id", "device_id", name=op.f("pk_agent_rollout_targets")),
    )


def downgrade() -> None:
    op.drop_table("agent_rollout_targets")
    op.drop_index(op.f("ix_agent_rollouts_state"), table_name="agent_rollouts")
    op.drop_index(op.f("ix_agent_rollouts_release_id"), table_name="agent_rollouts")
    op.drop_table("agent_rollouts")
    op.drop_table("agent_releases")
    op.drop_index(op.f("ix_device_alarms_cleared_at"), table_name="device_alarms")
    op.drop_index("ix_device_alarms_open", table_name="device_alarms")
    op.drop_table("device_alarms")
    op.drop_index("ix_device_health_samples_device_at", table_name="device_health_samples")
    op.drop_table("device_health_samples")
    with op.batch_alter_table("devices") as batch:
        batch.drop_index(batch.f("ix_devices_agent_version"))
        for name, _ in reversed(DEVICE_COLUMNS):
            batch.drop_column(name)

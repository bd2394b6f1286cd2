"""exchange with other information-source systems, citizens' feedback

Connected systems with their keys, the call log, the outbox and the idempotency record of both
directions, the inbox of bulletins from above, bulletins sent down with their acknowledgements, and
what lower systems report (play receipts, snapshots); citizens' feedback items (docs/exchange.md,
docs/feedback.md). New tables only.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loa.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_peers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "relation",
            sa.Enum("upper", "lower", name="peer_relation", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("push_url", sa.String(length=500), nullable=False),
        sa.Column("push_key_encrypted", sa.Text(), nullable=False),
        sa.Column("via_lgsp", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_min", sa.Integer(), nullable=True),
        sa.Column("receipts_cursor", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_peers")),
        sa.UniqueConstraint("name", name=op.f("uq_exchange_peers_name")),
    )
    op.create_table(
        "exchange_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=True),
        sa.Column("at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_calls_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_calls")),
    )
    with op.batch_alter_table("exchange_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_calls_at"), ["at"], unique=False)
        batch_op.create_index("ix_exchange_calls_peer_at", ["peer_id", "at"], unique=False)

    op.create_table(
        "exchange_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_keys_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_exchange_keys_key_id")),
    )
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_keys_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "exchange_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_outbox_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_exchange_outbox_idempotency_key")),
    )
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_outbox_due", ["sent_at", "gave_up_at", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_outbox_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "exchange_received",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("received_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_received_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_received")),
        sa.UniqueConstraint(
            "peer_id", "idempotency_key", name=op.f("uq_exchange_received_peer_id_idempotency_key")
        ),
    )
    op.create_table(
        "exchange_remote_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period_key", sa.String(length=24), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_remote_snapshots_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_remote_snapshots")),
        sa.UniqueConstraint(
            "peer_id", "kind", "period_key", name=op.f("uq_exchange_remote_snapshots_peer_id_kind_period_key")
        ),
    )
    op.create_table(
        "exchange_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "normal", "priority", "emergency", name="exchange_priority", native_enum=False, length=12
            ),
            nullable=False,
        ),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("scheduled_for", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("played_ms", sa.Integer(), nullable=False),
        sa.Column("acked_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_exchange_sent_bulletin_id_bulletins"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_sent_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_sent")),
    )
    with op.batch_alter_table("exchange_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_sent_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "feedback_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("tracking_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "hotline", name="feedback_channel", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sender_name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("photo_type", sa.String(length=32), nullable=True),
        sa.Column("voice_sha256", sa.String(length=64), nullable=True),
        sa.Column("voice_type", sa.String(length=64), nullable=True),
        sa.Column("voice_ms", sa.Integer(), nullable=True),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("challenge_nonce", sa.String(length=40), nullable=True),
        sa.Column(
            "state",
            sa.Enum("new", "assigned", "answered", name="feedback_state", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("received_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("replied_by", sa.String(length=200), nullable=False),
        sa.Column("answered_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("notify_error", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_feedback_items_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_feedback_items_bulletin_id_bulletins"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_feedback_items_commune_id_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["activity_topics.id"], name=op.f("fk_feedback_items_topic_id_activity_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_items")),
        sa.UniqueConstraint("challenge_nonce", name=op.f("uq_feedback_items_challenge_nonce")),
        sa.UniqueConstraint("tracking_sha256", name=op.f("uq_feedback_items_tracking_sha256")),
    )
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_items_commune_state", ["commune_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_items_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_items_source_key"), ["source_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_items_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "exchange_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "normal", "priority", "emergency", name="exchange_priority", native_enum=False, length=12
            ),
            nullable=False,
        ),
        sa.Column("audio_sha256", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("commune_codes", sa.JSON(), nullable=False),
        sa.Column("sent_codes", sa.JSON(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "received",
                "needs_order",
                "scheduled",
                "aired",
                "declined",
                name="inbox_state",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("received_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("announcement_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_for", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=1000), nullable=False),
        sa.Column("clash_titles", sa.JSON(), nullable=False),
        sa.Column("clash_until", loa.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("acked", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["emergency_alerts.id"],
            name=op.f("fk_exchange_inbox_alert_id_emergency_alerts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_exchange_inbox_announcement_id_announcements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["admin_units.id"], name=op.f("fk_exchange_inbox_area_id_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_inbox_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_inbox")),
        sa.UniqueConstraint("peer_id", "remote_id", name=op.f("uq_exchange_inbox_peer_id_remote_id")),
    )
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_inbox_area_id"), ["area_id"], unique=False)
        batch_op.create_index("ix_exchange_inbox_state", ["state"], unique=False)

    op.create_table(
        "exchange_remote_plays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("receipt_key", sa.String(length=140), nullable=False),
        sa.Column("commune_code", sa.String(length=32), nullable=False),
        sa.Column("commune_name", sa.String(length=200), nullable=False),
        sa.Column("device_uid", sa.String(length=64), nullable=False),
        sa.Column("device_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("sent_id", sa.Integer(), nullable=True),
        sa.Column("started_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("received_at", loa.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["exchange_peers.id"],
            name=op.f("fk_exchange_remote_plays_peer_id_exchange_peers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_id"],
            ["exchange_sent.id"],
            name=op.f("fk_exchange_remote_plays_sent_id_exchange_sent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_remote_plays")),
        sa.UniqueConstraint(
            "peer_id", "receipt_key", name=op.f("uq_exchange_remote_plays_peer_id_receipt_key")
        ),
    )
    with op.batch_alter_table("exchange_remote_plays", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_remote_plays_peer_started", ["peer_id", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_remote_plays", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_remote_plays_peer_started")

    op.drop_table("exchange_remote_plays")
    with op.batch_alter_table("exchange_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_inbox_state")
        batch_op.drop_index(batch_op.f("ix_exchange_inbox_area_id"))

    op.drop_table("exchange_inbox")
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_items_topic_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_items_source_key"))
        batch_op.drop_index(batch_op.f("ix_feedback_items_received_at"))
        batch_op.drop_index("ix_feedback_items_commune_state")

    op.drop_table("feedback_items")
    with op.batch_alter_table("exchange_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_sent_peer_id"))

    op.drop_table("exchange_sent")
    op.drop_table("exchange_remote_snapshots")
    op.drop_table("exchange_received")
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_outbox_peer_id"))
        batch_op.drop_index("ix_exchange_outbox_due")

    op.drop_table("exchange_outbox")
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_keys_peer_id"))

    op.drop_table("exchange_keys")
    with op.batch_alter_table("exchange_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_calls_peer_at")
        batch_op.drop_index(batch_op.f("ix_exchange_calls_at"))

    op.drop_table("exchange_calls")
    op.drop_table("exchange_peers")

"""Tables of citizens' feedback (phản ánh, kiến nghị; Decree 49/2024/NĐ-CP): what a citizen sent to
their commune, who handles it, the answer, and the sources that posted (for the rate limits)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


class FeedbackState(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ANSWERED = "answered"


class FeedbackChannel(StrEnum):
    WEB = "web"  # the public page
    SMS = "sms"  # through the SMS/hotline provider's webhook
    HOTLINE = "hotline"


class Feedback(Base):
    """One item. ``tracking_sha256``: the citizen's tracking code is shown once and kept only hashed.
    ``phone`` is personal data: shown only to officers of the commune (``loa.feedback.access``).
    ``challenge_nonce`` is unique: a solved challenge cannot be used twice. ``due_at`` is fixed when it
    arrives (``feedback_answer_days``), so "answered on time" never changes with a later setting."""

    __tablename__ = "feedback_items"
    __table_args__ = (Index("ix_feedback_items_commune_state", "commune_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))
    tracking_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[FeedbackChannel] = mapped_column(str_enum(FeedbackChannel, "feedback_channel", length=8))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("activity_topics.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    sender_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_type: Mapped[str | None] = mapped_column(String(32))
    voice_sha256: Mapped[str | None] = mapped_column(String(64))
    voice_type: Mapped[str | None] = mapped_column(String(64))
    voice_ms: Mapped[int | None] = mapped_column(Integer)
    source_key: Mapped[str] = mapped_column(String(64), index=True)  # HMAC of the address (or phone)
    challenge_nonce: Mapped[str | None] = mapped_column(String(40), unique=True)
    state: Mapped[FeedbackState] = mapped_column(str_enum(FeedbackState, "feedback_state", length=12))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_by: Mapped[str] = mapped_column(String(200), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id", ondelete="SET NULL"))
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    notify_error: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

"""The browsers that asked to be told (``loa.push.service``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, utcnow


class PushSubscription(Base):
    """One browser's push subscription, for one user. ``endpoint`` is the push service's address for
    that browser (unique: a browser re-subscribing under another user moves to that user); ``p256dh``
    and ``auth`` are the browser's keys that encrypt the payload (RFC 8291), base64url as it gave them."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row; reset by a delivery

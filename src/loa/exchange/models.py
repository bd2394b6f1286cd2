"""Tables of the exchange with other information-source systems (docs/exchange.md).

A *connected system* (``ExchangePeer``) is a higher system that sends us bulletins and reads our data
(relation ``upper``), or a lower one that reports to us (``lower``). It signs in with its own keys
(``ExchangeKey``, never a user account) and sees only its areas. Every call is logged
(``ExchangeCall``), which is also what its rate limit counts.

Both directions are reliable the same way: the sender writes an ``OutboxMessage`` with an idempotency
key in the transaction that made the news, a connector delivers it until the other side answers 2xx,
and the receiver records the key (``ReceivedMessage``) with its answer in the transaction that applied
it, so a message resent after a lost answer is answered again and applied once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


class PeerRelation(StrEnum):
    UPPER = "upper"  # sends bulletins down to us, reads our data
    LOWER = "lower"  # reports to us (acknowledgements, play logs, inventory, statistics)


WAITING_FOR_COMMUNE = "exchange_inbox_waiting"  # announced (loa.db.changes) with an inbox item's id


class InboxState(StrEnum):
    RECEIVED = "received"  # normal: waits for the commune to choose a time
    NEEDS_ORDER = "needs_order"  # priority, clashing with the commune's own priority item
    SCHEDULED = "scheduled"
    AIRED = "aired"  # at least one play receipt
    DECLINED = "declined"


class Priority(StrEnum):
    """The three regulated priorities, as they travel between systems."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class ExchangePeer(Base):
    """A connected system. ``area_codes`` (JSON list of unit codes) is its scope here; ``push_url`` the
    base of its ``/api/exchange/v1`` when we send to it, with the key it gave us stored encrypted
    (``loa.exchange.secrets``)."""

    __tablename__ = "exchange_peers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    relation: Mapped[PeerRelation] = mapped_column(str_enum(PeerRelation, "peer_relation", length=8))
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    push_url: Mapped[str] = mapped_column(String(500), default="")
    push_key_encrypted: Mapped[str] = mapped_column(Text, default="")
    via_lgsp: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_limit_per_min: Mapped[int | None] = mapped_column(Integer)
    # The last ``play_receipts.id`` offered upward to this (upper) system: play logs go in id order.
    receipts_cursor: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ExchangeKey(Base):
    """A credential of a connected system: ``key_id`` is public (``lx_`` + 16 hex), the secret is kept
    only as its SHA-256. Several may be live at once, so a key is rotated without a gap."""

    __tablename__ = "exchange_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ExchangeCall(Base):
    """One call to the exchange API (also refused ones: ``peer_id`` empty when no key was valid)."""

    __tablename__ = "exchange_calls"
    __table_args__ = (Index("ix_exchange_calls_peer_at", "peer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str] = mapped_column(String(120), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class ReceivedMessage(Base):
    """An idempotency key a connected system used, with the answer we gave."""

    __tablename__ = "exchange_received"
    __table_args__ = (UniqueConstraint("peer_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(Base):
    """A message to a connected system, delivered by the connector until it is answered 2xx.
    ``gave_up_at``: refused for good (a 4xx other than 408/429): kept for a person to look at."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (Index("ix_exchange_outbox_due", "sent_at", "gave_up_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, exactly
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    gave_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class InboxItem(Base):
    """A bulletin received from a higher system and what became of it here. ``remote_id`` is the
    sender's id (unique per sender); ``announcement_id`` / ``alert_id`` how it was put on air."""

    __tablename__ = "exchange_inbox"
    __table_args__ = (UniqueConstraint("peer_id", "remote_id"), Index("ix_exchange_inbox_state", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "exchange_priority", length=12))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    commune_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # current codes, after mapping
    sent_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # as the sender wrote them
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    state: Mapped[InboxState] = mapped_column(str_enum(InboxState, "inbox_state", length=16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_alerts.id", ondelete="SET NULL"))
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decline_reason: Mapped[str] = mapped_column(String(1000), default="")
    clash_titles: Mapped[list[str]] = mapped_column(JSON, default=list)  # the commune's own items
    clash_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when the last of them ends
    plays: Mapped[int] = mapped_column(Integer, default=0)  # receipts "played" counted so far
    acked: Mapped[str] = mapped_column(String(80), default="")  # the last acknowledgement queued


class SentBulletin(Base):
    """A bulletin we sent down to a lower system, and what it answered (its acknowledgements)."""

    __tablename__ = "exchange_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"), index=True)
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "exchange_priority", length=12))
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Their answer: the inbox state there, its reason, when it is scheduled, how often it played.
    state: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime())
    plays: Mapped[int] = mapped_column(Integer, default=0)
    played_ms: Mapped[int] = mapped_column(Integer, default=0)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RemotePlay(Base):
    """A play receipt of a lower system's loudspeaker, as it reported it (once per receipt)."""

    __tablename__ = "exchange_remote_plays"
    __table_args__ = (
        UniqueConstraint("peer_id", "receipt_key"),
        Index("ix_exchange_remote_plays_peer_started", "peer_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"))
    receipt_key: Mapped[str] = mapped_column(String(140))
    commune_code: Mapped[str] = mapped_column(String(32), default="")
    commune_name: Mapped[str] = mapped_column(String(200), default="")
    device_uid: Mapped[str] = mapped_column(String(64))
    device_name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    sent_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_sent.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RemoteSnapshot(Base):
    """The latest report of one kind from a lower system (``inventory``: stations and clusters with
    their status; ``statistics``: a day's figures), kept as sent."""

    __tablename__ = "exchange_remote_snapshots"
    __table_args__ = (UniqueConstraint("peer_id", "kind", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("exchange_peers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    period_key: Mapped[str] = mapped_column(String(24), default="")
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

"""The outbox of messages to connected systems: queued in the transaction that made the news, delivered
by ``loa.exchange.connector``. Each message has an idempotency key, unique here (queuing the same news
twice queues it once) and sent with every attempt (the receiver applies it once, ``loa.exchange.api``).

A message is *leased* before it is sent, so two connectors never send it at the same moment; a
connector that dies mid-send leaves a lease that runs out, and the message is sent again (the
receiver's record of the key makes that harmless)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from loa.db.base import dialect_insert, utcnow
from loa.exchange.logic import retry_after_s, worth_retrying
from loa.exchange.models import ExchangePeer, OutboxMessage

LEASE = timedelta(seconds=120)

# Message kinds and where they go under the other system's /api/exchange/v1.
PATHS: Mapping[str, str] = {
    "bulletin": "/bulletins",  # down: a bulletin for the inbox of a lower system
    "ack": "/acks",  # up: what became of a bulletin received from above
    "plays": "/plays",  # up: play receipts
    "snapshot": "/snapshots",  # up: inventory, a day's statistics
}


def encode(body: Mapping[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def enqueue(session: Session, *, peer: ExchangePeer, kind: str, key: str, body: Mapping[str, Any]) -> bool:
    """Queue a message (False when one with this key is already queued or sent: nothing changes)."""
    if kind not in PATHS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    now = utcnow()
    statement = (
        dialect_insert(session, OutboxMessage.__table__)
        .values(
            peer_id=peer.id,
            kind=kind,
            idempotency_key=key,
            body=encode(body),
            created_at=now,
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.id)
    )
    return session.execute(statement).scalar() is not None


@dataclass(frozen=True)
class Due:
    id: int
    peer_id: int
    kind: str
    key: str
    body: str


def due(session: Session, *, now: datetime, limit: int = 100) -> list[Due]:
    """Messages to send now, oldest first per system, for active systems that have an address."""
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.peer_id,
            OutboxMessage.kind,
            OutboxMessage.idempotency_key,
            OutboxMessage.body,
        )
        .join(ExchangePeer, ExchangePeer.id == OutboxMessage.peer_id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            ExchangePeer.active.is_(True),
            ExchangePeer.push_url != "",
        )
        .order_by(OutboxMessage.peer_id, OutboxMessage.id)
        .limit(limit)
    )
    return [Due(*row) for row in rows]


def first_pending(session: Session, peer_ids: set[int]) -> dict[int, int]:
    """Per system, the oldest message not yet sent nor given up: the only one that may go next, so a
    message backing off holds the later ones of its system (acknowledgements stay in order)."""
    if not peer_ids:
        return {}
    rows = session.execute(
        select(OutboxMessage.peer_id, func.min(OutboxMessage.id))
        .where(
            OutboxMessage.peer_id.in_(sorted(peer_ids)),
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
        )
        .group_by(OutboxMessage.peer_id)
    )
    return {int(peer_id): int(first) for peer_id, first in rows}


def claim(session: Session, *, message_id: int, now: datetime) -> bool:
    """Take the lease on one message; False when another connector holds it or it was sent."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.gave_up_at.is_(None),
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .values(lease_until=now + LEASE)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


def settle(session: Session, *, message_id: int, status: int | None, error: str, now: datetime) -> str:
    """Record one attempt: ``sent``, ``retry`` (later, with back-off) or ``gave_up``."""
    message = session.get_one(OutboxMessage, message_id)
    message.attempts += 1
    message.lease_until = None
    message.last_status = status
    if status is not None and 200 <= status < 300:
        message.sent_at, message.last_error = now, ""
        return "sent"
    message.last_error = error[:500]
    if worth_retrying(status):
        message.next_attempt_at = now + timedelta(seconds=retry_after_s(message.attempts))
        return "retry"
    message.gave_up_at = now
    return "gave_up"


def retry_now(session: Session, *, message_id: int) -> None:
    """A person asks for a message given up on (the other side fixed its end) to be sent again."""
    message = session.get_one(OutboxMessage, message_id)
    message.gave_up_at, message.next_attempt_at = None, utcnow()


@dataclass(frozen=True)
class QueueState:
    waiting: int
    failing: int  # tried at least once, still waiting
    gave_up: int
    sent: int


def queue_state(session: Session, peer_id: int) -> QueueState:
    base = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.peer_id == peer_id)
    pending = (OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None))
    return QueueState(
        waiting=session.scalar(base.where(*pending)) or 0,
        failing=session.scalar(base.where(*pending, OutboxMessage.attempts > 0)) or 0,
        gave_up=session.scalar(base.where(OutboxMessage.gave_up_at.is_not(None))) or 0,
        sent=session.scalar(base.where(OutboxMessage.sent_at.is_not(None))) or 0,
    )


def recent(session: Session, peer_id: int, limit: int = 20) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.peer_id == peer_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )

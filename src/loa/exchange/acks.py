"""What became of a bulletin from above, told back to its sender: counting its play receipts (evidence,
never the schedule) and queuing an acknowledgement for each change (``logic.ack_key``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.exchange import outbox
from loa.exchange.logic import ack_key
from loa.exchange.models import ExchangePeer, InboxItem, InboxState
from loa.fleet.models import PlayReceipt, ReceiptOutcome
from loa.protocol import itemids

AIRING_WATCH = timedelta(days=30)  # receipts of an item are counted for this long after it arrived


# --- airing, acknowledgements -----------------------------------------------------------------------


def _receipt_filter(session: Session, item: InboxItem) -> ColumnElement[bool] | None:
    """The play receipts that are evidence of this item: its announcement's, or every round of the
    emergency commands its alert sent (``loa.protocol.itemids``)."""
    if item.announcement_id is not None:
        base = itemids.announcement_item(str(item.announcement_id))
        return or_(PlayReceipt.item_id == base, PlayReceipt.item_id.startswith(base + "-"))
    if item.alert_id is not None:
        alert = session.get(EmergencyAlert, item.alert_id)
        if alert is None:
            return None
        # Rounds carried by the manifest and the command's own repetition name the alert's item id;
        # an alert sent before that, its commands' item ids.
        bases = [
            itemids.alert_item(alert.id),
            *(itemids.command_item(b) for b in json.loads(alert.batch_ids)),
        ]
        return or_(
            PlayReceipt.item_id.in_(bases),
            *(PlayReceipt.item_id.startswith(b + ".r", autoescape=True) for b in bases),
        )
    return None


def plays_of(session: Session, item: InboxItem) -> tuple[int, int]:
    """(receipts "played", milliseconds heard) for the item."""
    condition = _receipt_filter(session, item)
    if condition is None:
        return 0, 0
    rows = session.execute(
        select(PlayReceipt.started_at, PlayReceipt.ended_at).where(
            condition, PlayReceipt.outcome == ReceiptOutcome.PLAYED
        )
    ).all()
    return len(rows), sum(max(0, int((ended - started).total_seconds() * 1000)) for started, ended in rows)


def refresh_airings(session: Session, *, now: datetime) -> int:
    """Count new play receipts of items on air; an item first heard becomes "aired". Returns how many
    items changed (each queues an acknowledgement)."""
    rows = session.scalars(
        select(InboxItem).where(
            InboxItem.state.in_([InboxState.SCHEDULED, InboxState.AIRED]),
            InboxItem.received_at >= now - AIRING_WATCH,
        )
    )
    changed = 0
    for item in rows:
        plays, _ms = plays_of(session, item)
        if plays > item.plays:
            item.plays = plays
            item.state = InboxState.AIRED
            queue_ack(session, item)
            changed += 1
    return changed


def queue_ack(session: Session, item: InboxItem) -> None:
    """Tell the sender what became of the item (when we know where to send: its address)."""
    peer = session.get_one(ExchangePeer, item.peer_id)
    key = ack_key(item.id, item.state, item.plays)
    if item.acked == key:
        return
    item.acked = key
    if not peer.push_url:
        return  # the sender reads acknowledgements itself (GET /inbox/{id})
    _plays, played_ms = plays_of(session, item)
    outbox.enqueue(
        session,
        peer=peer,
        kind="ack",
        key=f"{peer.id}:{key}",
        body={
            "id": item.remote_id,
            "state": item.state.value,
            "reason": item.decline_reason,
            "scheduled_for": item.scheduled_for.isoformat() if item.scheduled_for else None,
            "plays": item.plays,
            "played_ms": played_ms,
            "at": (item.decided_at or item.received_at).isoformat(),
        },
    )

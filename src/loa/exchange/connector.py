"""The outbound connector: what ``loa exchange run`` does every few seconds.

1. counts new play receipts of bulletins received from above, and queues their acknowledgements;
2. for each higher system with an address, queues what we report to it: play receipts since the last
   ones sent (a cursor moved in the same transaction), and, once per push interval, the inventory
   (stations, clusters, their status) and the day's statistics;
3. delivers the outbox (``loa.exchange.outbox``): oldest first per system, stopping at a system's
   first failure so its messages keep their order; each attempt carries the message's idempotency key.

All I/O goes through ``loa.exchange.transport`` (``HttpTransport`` in production, a fake or a wrapper
in tests). With an LGSP in front (``Settings.exchange_lgsp_*`` and a connection marked "via LGSP"), every call
first gets an OAuth2 client-credentials token from the LGSP's token endpoint (kept until it expires)
and carries our key for the other system in ``X-Loa-Exchange-Key`` instead of ``Authorization``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts.models import EmergencyAlert
from loa.db.base import utcnow
from loa.errors import LoaError
from loa.exchange import acks, outbox, pull
from loa.exchange.models import ExchangePeer, InboxItem, InboxState, PeerRelation
from loa.exchange.peers import push_key, scope_paths
from loa.exchange.transport import HttpTransport, LgspToken, Reply, Transport, TransportError, lgsp_from
from loa.fleet.models import Device
from loa.protocol import itemids
from loa.settings import Settings
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

KEY_HEADER = "X-Loa-Exchange-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "loa-exchange/1"
PLAYS_PER_MESSAGE = 500


# --- delivery ---------------------------------------------------------------------------------------


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    gave_up: int = 0


@dataclass(frozen=True)
class _Target:
    url: str
    key: str
    via_lgsp: bool


def _error_text(reply: Reply) -> str:
    try:
        data = json.loads(reply.body)
        if isinstance(data, dict) and data.get("title"):
            return f"{reply.status}: {data['title']}"
    except ValueError:
        pass
    return f"{reply.status}: {reply.body[:200].decode('utf-8', 'replace')}"


def _send(transport: Transport, lgsp: LgspToken | None, target: _Target, message: outbox.Due) -> Reply:
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: message.key, "User-Agent": USER_AGENT}
    url = target.url + outbox.PATHS[message.kind]
    if not target.via_lgsp:
        return transport.post(
            url, body=message.body.encode(), headers={**headers, "Authorization": f"Bearer {target.key}"}
        )
    if lgsp is None:
        raise TransportError(
            "this connection goes through an LGSP, but LOA_EXCHANGE_LGSP_TOKEN_URL is not set"
        )
    for _attempt in range(2):
        token = lgsp.get(transport)
        reply = transport.post(
            url,
            body=message.body.encode(),
            headers={**headers, "Authorization": f"Bearer {token}", KEY_HEADER: target.key},
        )
        if reply.status != 401:
            return reply
        lgsp.forget()  # expired or revoked at the gateway: one fresh token, then give up
    return reply


def deliver_due(
    sessions: sessionmaker[Session],
    *,
    transport: Transport,
    secret_key: str,
    lgsp: LgspToken | None = None,
    limit: int = 100,
) -> Delivery:
    """Send what is due. Each message: lease it, post it, record the answer, each step committed."""
    done = Delivery()
    with sessions() as session, session.begin():
        due = outbox.due(session, now=utcnow(), limit=limit)
        targets: dict[int, _Target | str] = {}
        for peer in session.scalars(
            select(ExchangePeer).where(ExchangePeer.id.in_({d.peer_id for d in due}))
        ):
            try:
                targets[peer.id] = _Target(
                    peer.push_url, push_key(peer, secret_key=secret_key), peer.via_lgsp
                )
            except LoaError as err:
                targets[peer.id] = err.message
        firsts = outbox.first_pending(session, {d.peer_id for d in due})
    # A system whose oldest message is not due (backing off, or leased by another connector) waits.
    first_due = {d.peer_id: d.id for d in reversed(due)}
    blocked = {peer for peer, first in firsts.items() if first_due.get(peer) != first}
    for message in due:
        if message.peer_id in blocked:
            continue
        with sessions() as session, session.begin():
            if not outbox.claim(session, message_id=message.id, now=utcnow()):
                blocked.add(message.peer_id)  # another connector is on this system's queue
                continue
        target = targets[message.peer_id]
        status: int | None = None
        try:
            if isinstance(target, str):
                raise TransportError(target)
            reply = _send(transport, lgsp, target, message)
            status, error = reply.status, "" if 200 <= reply.status < 300 else _error_text(reply)
        except TransportError as err:
            error = str(err)
        with sessions() as session, session.begin():
            outcome = outbox.settle(session, message_id=message.id, status=status, error=error, now=utcnow())
        if outcome == "sent":
            done.sent += 1
            continue
        log.info("exchange message %s to system %s: %s (%s)", message.key, message.peer_id, outcome, error)
        blocked.add(message.peer_id)
        if outcome == "retry":
            done.retried += 1
        else:
            done.gave_up += 1
    return done


# --- what goes up -----------------------------------------------------------------------------------


def _sources(session: Session, peer: ExchangePeer) -> dict[str, str]:
    """Item id (first round) → the sender's id, for bulletins this system sent us: plays of them go
    back named by its own id."""
    out: dict[str, str] = {}
    for item in session.scalars(
        select(InboxItem).where(
            InboxItem.peer_id == peer.id,
            InboxItem.state.in_([InboxState.SCHEDULED, InboxState.AIRED]),
        )
    ):
        if item.announcement_id is not None:
            out[itemids.announcement_item(str(item.announcement_id))] = item.remote_id
        if item.alert_id is not None:
            alert = session.get(EmergencyAlert, item.alert_id)
            out[itemids.alert_item(item.alert_id)] = item.remote_id
            for batch in json.loads(alert.batch_ids) if alert else []:
                out[itemids.command_item(batch)] = item.remote_id
    return out


def queue_plays(session: Session, *, peer: ExchangePeer) -> int:
    """Queue the receipts after the peer's cursor (one message per ``PLAYS_PER_MESSAGE``)."""
    paths = scope_paths(session, peer)
    rows = pull.play_rows(session, paths, after=peer.receipts_cursor, limit=PLAYS_PER_MESSAGE)
    if not rows:
        return 0
    sources = _sources(session, peer)
    devices = {
        uid: (name, commune)
        for uid, name, commune in session.execute(
            select(Device.uid, Device.name, AdminUnit.name)
            .join(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(Device.uid.in_(sorted({p.device for _, p in rows})))
        )
    }
    body = {
        "plays": [
            {
                "key": p.key,
                "device": p.device,
                "device_name": devices.get(p.device, ("", ""))[0],
                "commune_code": p.commune_code or "",
                "commune_name": devices.get(p.device, ("", ""))[1],
                "title": p.title[:300],
                "source_id": sources.get(itemids.split_round(p.item_id)[0]),
                "started_at": p.started_at.isoformat(),
                "ended_at": p.ended_at.isoformat(),
                "outcome": p.outcome,
            }
            for _, p in rows
        ]
    }
    first, last = rows[0][0], rows[-1][0]
    outbox.enqueue(session, peer=peer, kind="plays", key=f"plays:{peer.id}:{first}-{last}", body=body)
    peer.receipts_cursor = last
    return len(rows)


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(outbox.encode(body).encode()).hexdigest()[:16]


def queue_snapshots(session: Session, *, peer: ExchangePeer, now: datetime, interval_s: int) -> int:
    """Once per interval: the inventory (if it changed) and today's statistics (Vietnam's day)."""
    bucket = int(now.timestamp() // interval_s)
    paths = scope_paths(session, peer)
    queued = 0
    inventory = {
        "stations": [s.model_dump(mode="json") for s in pull.stations(session, paths)],
        "clusters": [c.model_dump(mode="json") for c in pull.clusters(session, paths)],
        "status": [s.model_dump(mode="json") for s in pull.cluster_status(session, paths)],
    }
    queued += outbox.enqueue(
        session,
        peer=peer,
        kind="snapshot",
        key=f"inventory:{peer.id}:{bucket}",
        body={"kind": "inventory", "period": "", "body": inventory},
    )
    today = now.astimezone(pull.VIETNAM).date()
    figures = pull.statistics(session, paths, today, today).model_dump(mode="json")
    queued += outbox.enqueue(
        session,
        peer=peer,
        kind="snapshot",
        key=f"statistics:{peer.id}:{today.isoformat()}:{_digest(figures)}",
        body={"kind": "statistics", "period": today.isoformat(), "body": figures},
    )
    return queued


@dataclass
class Round:
    acks: int = 0
    plays: int = 0
    snapshots: int = 0
    delivery: Delivery = field(default_factory=Delivery)


def run_once(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    transport: Transport,
    lgsp: LgspToken | None = None,
    snapshots: bool = True,
) -> Round:
    """One round of the connector (each step its own transaction)."""
    done = Round()
    now = utcnow()
    with sessions() as session, session.begin():
        done.acks = acks.refresh_airings(session, now=now)
    with sessions() as session, session.begin():
        uppers = list(
            session.scalars(
                select(ExchangePeer).where(
                    ExchangePeer.relation == PeerRelation.UPPER,
                    ExchangePeer.active.is_(True),
                    ExchangePeer.push_url != "",
                )
            )
        )
        for peer in uppers:
            done.plays += queue_plays(session, peer=peer)
            if snapshots:
                done.snapshots += queue_snapshots(
                    session, peer=peer, now=now, interval_s=settings.exchange_push_interval_s
                )
    done.delivery = deliver_due(
        sessions, transport=transport, secret_key=settings.secret_key.get_secret_value(), lgsp=lgsp
    )
    return done


def run_forever(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    stop: threading.Event,
    transport: Transport | None = None,
) -> None:
    """``loa exchange run``: a round every ``exchange_poll_s`` until ``stop`` is set."""
    own = transport is None
    real = transport or HttpTransport(settings.exchange_timeout_s)
    lgsp = lgsp_from(settings)
    try:
        while not stop.is_set():
            try:
                result = run_once(sessions, settings=settings, transport=real, lgsp=lgsp)
                if result.delivery.sent or result.acks or result.plays:
                    log.info(
                        "exchange: %d sent, %d acknowledgements, %d plays queued",
                        result.delivery.sent,
                        result.acks,
                        result.plays,
                    )
            except Exception:  # one bad round must not end the connector: logged, tried again
                log.exception("exchange connector round failed")
            stop.wait(settings.exchange_poll_s)
    finally:
        if own and isinstance(real, HttpTransport):
            real.close()

"""What lower systems report to us: acknowledgements of the bulletins we sent down, their loudspeakers'
play receipts, and snapshots (inventory, a day's figures); and the statistics page made of them.

Each report is checked against the reporting system's areas: a system cannot file plays for a commune
that is not its own. Play receipts are stored once each (unique per system and receipt key), so a
batch sent twice adds nothing the second time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.db.base import dialect_insert, utcnow
from loa.errors import InvalidInput, NotFound, PermissionDenied
from loa.exchange.logic import moves_forward
from loa.exchange.models import ExchangePeer, PeerRelation, RemotePlay, RemoteSnapshot, SentBulletin
from loa.exchange.peers import Caller, require_relation
from loa.exchange.sending import parse_remote_id
from loa.exchange.wire import Accepted, AckIn, PlaysIn, SnapshotIn
from loa.units.models import AdminUnit


def apply_ack(session: Session, *, caller: Caller, ack: AckIn) -> SentBulletin:
    """Record what the lower system did with one of our bulletins (states only move forward)."""
    require_relation(caller, PeerRelation.LOWER)
    sent_id = parse_remote_id(ack.id)
    sent = session.get(SentBulletin, sent_id) if sent_id is not None else None
    if sent is None or sent.peer_id != caller.peer.id:
        raise NotFound(
            "Không có bản tin nào với mã này được gửi tới hệ thống của bạn.", code="sent_not_found"
        )
    if moves_forward(sent.state, ack.state) and (ack.state.value != sent.state or ack.plays >= sent.plays):
        sent.state = ack.state.value
        sent.reason = ack.reason
        sent.scheduled_for = ack.scheduled_for or sent.scheduled_for
        sent.plays = max(sent.plays, ack.plays)
        sent.played_ms = max(sent.played_ms, ack.played_ms)
        sent.acked_at = utcnow()
        audit.record(
            session,
            action="exchange.ack_receive",
            actor=caller.principal,
            target_type="bulletin",
            target_id=sent.bulletin_id or "",
            details={
                "title": sent.title,
                "to": ack.state.value,
                "count": ack.plays,
                "name": caller.peer.name,
            },
        )
    return sent


def _communes(session: Session, caller: Caller, codes: set[str]) -> dict[str, AdminUnit]:
    units = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(sorted(codes))))}
    unknown = sorted(codes - set(units))
    if unknown:
        raise InvalidInput(f"Không có địa bàn mã {', '.join(unknown)}.", code="area_unknown")
    outside = sorted(u.name for u in units.values() if not caller.covers(u.path))
    if outside:
        raise PermissionDenied(
            f"Địa bàn {', '.join(outside)} nằm ngoài phạm vi của kết nối «{caller.peer.name}».",
            code="exchange_out_of_scope",
        )
    return units


def store_plays(session: Session, *, caller: Caller, data: PlaysIn) -> Accepted:
    require_relation(caller, PeerRelation.LOWER)
    units = _communes(session, caller, {p.commune_code for p in data.plays if p.commune_code})
    named = {parse_remote_id(p.source_id or "") for p in data.plays} - {None}
    ours = set(
        session.scalars(
            select(SentBulletin.id).where(
                SentBulletin.peer_id == caller.peer.id, SentBulletin.id.in_(sorted(i for i in named if i))
            )
        )
    )
    rows = []
    for p in data.plays:
        sent_id = parse_remote_id(p.source_id or "")
        rows.append(
            {
                "peer_id": caller.peer.id,
                "receipt_key": p.key,
                "commune_code": p.commune_code,
                "commune_name": units[p.commune_code].name if p.commune_code in units else p.commune_name,
                "device_uid": p.device,
                "device_name": p.device_name,
                "title": p.title,
                "sent_id": sent_id if sent_id in ours else None,
                "started_at": p.started_at,
                "ended_at": p.ended_at,
                "outcome": p.outcome,
                "received_at": utcnow(),
            }
        )
    inserted = 0
    if rows:
        statement = (
            dialect_insert(session, RemotePlay.__table__)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["peer_id", "receipt_key"])
            .returning(RemotePlay.id)
        )
        # Counted from RETURNING: a multi-row insert's rowcount is -1 on PostgreSQL (batched values).
        inserted = len(session.execute(statement).all())
        audit.record(
            session,
            action="exchange.plays_receive",
            actor=caller.principal,
            target_type="exchange_peer",
            target_id=caller.peer.id,
            details={"name": caller.peer.name, "count": inserted, "duplicates": len(rows) - inserted},
        )
    return Accepted(accepted=inserted, duplicates=len(rows) - inserted)


def store_snapshot(session: Session, *, caller: Caller, data: SnapshotIn) -> None:
    require_relation(caller, PeerRelation.LOWER)
    key = data.period if data.kind == "statistics" else ""
    if data.kind == "statistics" and not key:
        raise InvalidInput("Số liệu thống kê cần ghi ngày (period).", code="period_missing")
    row = session.scalar(
        select(RemoteSnapshot).where(
            RemoteSnapshot.peer_id == caller.peer.id,
            RemoteSnapshot.kind == data.kind,
            RemoteSnapshot.period_key == key,
        )
    )
    if row is None:
        row = RemoteSnapshot(peer_id=caller.peer.id, kind=data.kind, period_key=key)
        session.add(row)
    row.body, row.received_at = dict(data.body), utcnow()
    session.flush()
    audit.record(
        session,
        action="exchange.snapshot_receive",
        actor=caller.principal,
        target_type="exchange_peer",
        target_id=caller.peer.id,
        details={"name": caller.peer.name, "message_kind": data.kind, **({"period": key} if key else {})},
    )


# --- the statistics page of an upper system ---------------------------------------------------------


@dataclass
class CommunePlays:
    code: str
    name: str
    played: int = 0
    preempted: int = 0
    failed: int = 0
    played_ms: int = 0
    ours: int = 0  # plays of bulletins we sent down
    devices: set[str] = field(default_factory=set)


@dataclass
class PeerPlays:
    peer: ExchangePeer
    communes: list[CommunePlays]
    clusters: int | None  # from its last inventory
    online: int | None
    inventory_at: datetime | None

    @property
    def played(self) -> int:
        return sum(c.played for c in self.communes)

    @property
    def played_ms(self) -> int:
        return sum(c.played_ms for c in self.communes)


def remote_statistics(
    session: Session,
    *,
    principal: Principal,
    start: datetime,
    end: datetime,
    peers: Sequence[ExchangePeer] = (),
) -> list[PeerPlays]:
    """Per lower system and commune: what its loudspeakers reported playing in [start, end)."""
    require(principal, Permission.VIEW)
    chosen = list(peers) or list(
        session.scalars(
            select(ExchangePeer)
            .where(ExchangePeer.relation == PeerRelation.LOWER)
            .order_by(ExchangePeer.name)
        )
    )
    out = []
    for peer in chosen:
        by_commune: dict[str, CommunePlays] = {}
        rows = list(
            session.scalars(
                select(RemotePlay).where(
                    RemotePlay.peer_id == peer.id, RemotePlay.started_at >= start, RemotePlay.started_at < end
                )
            )
        )
        codes = sorted({p.commune_code for p in rows})
        paths = {
            code: path
            for code, path in session.execute(
                select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))
            )
        }
        for play in rows:
            if not principal.can_access_path(paths.get(play.commune_code, "")):
                continue
            figures = by_commune.setdefault(
                play.commune_code, CommunePlays(play.commune_code, play.commune_name)
            )
            setattr(figures, play.outcome, getattr(figures, play.outcome) + 1)
            if play.outcome == "played":
                figures.played_ms += max(0, int((play.ended_at - play.started_at).total_seconds() * 1000))
                figures.ours += 1 if play.sent_id is not None else 0
            figures.devices.add(play.device_uid)
        inventory = session.scalar(
            select(RemoteSnapshot).where(
                RemoteSnapshot.peer_id == peer.id,
                RemoteSnapshot.kind == "inventory",
                RemoteSnapshot.period_key == "",
            )
        )
        clusters = online = None
        if inventory is not None:
            statuses = inventory.body.get("status", [])
            if isinstance(statuses, list):
                clusters = len(statuses)
                online = sum(1 for s in statuses if isinstance(s, dict) and s.get("online"))
        out.append(
            PeerPlays(
                peer,
                sorted(by_commune.values(), key=lambda c: c.code),
                clusters,
                online,
                inventory.received_at if inventory is not None else None,
            )
        )
    return out


def plays_by_sent(session: Session, sent_ids: Sequence[int]) -> dict[int, int]:
    """How many receipts "played" each of our bulletins has among what lower systems reported."""
    counted: dict[int, int] = defaultdict(int)
    if sent_ids:
        for sent_id in session.scalars(
            select(RemotePlay.sent_id).where(
                RemotePlay.sent_id.in_(list(sent_ids)), RemotePlay.outcome == "played"
            )
        ):
            if sent_id is not None:
                counted[sent_id] += 1
    return dict(counted)

"""What the schedule planned, as plain values: the public read model of scheduling for readers outside
it (the reports). Everything the reports know of programmes, airings, running orders, announcements
and who they reach comes from here, never from the tables, recurrences or target tokens themselves.

A plan is only ever a plan: what was *aired* is known from play receipts, which scheduling does not
read. ``load_plan`` expands every programme over a window (slot overrides applied: moved, cancelled,
own running orders) and resolves targets to the active loudspeaker clusters they reach.

A province-year is a hundred daily programmes on thousands of clusters: each distinct recurrence is
expanded once per window (communes usually share one daily rule), running orders are read as tuples
with the bulletin of a line picked in SQL, and reach is worked out per programme, not per airing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, case, func, or_, select
from sqlalchemy.orm import Session

from loa.protocol.itemids import airing_stamp
from loa.schedule import models as m
from loa.schedule.dbsnapshot import programme_recurrence
from loa.schedule.memberships import load_memberships
from loa.schedule.recurrence import Recurrence, occurrences, resolve_timezone, to_local
from loa.schedule.snapshot import Target, TargetKind
from loa.schedule.targets import StoredTarget, load_tokens
from loa.schedule.wording import describe

Line = int | None  # a running-order line: the bulletin it airs, None for a line that is not a bulletin


@dataclass(frozen=True)
class Airing:
    """One airing of a programme."""

    at: datetime  # aware UTC
    local: datetime  # naive, in the programme's timezone (the key of a slot)
    day: date  # local
    stamp: str  # as manifest item ids name the airing (``loa.protocol.itemids.airing_stamp``)


@dataclass(frozen=True)
class ProgrammePlan:
    """A programme with its airings in the window (none when it did not air there)."""

    id: int
    name: str
    area_id: int | None
    topic_id: int | None
    schedule_text: str  # the recurrence in Vietnamese
    airings: tuple[Airing, ...]
    running_order: Sequence[Line]  # the programme's own
    own_orders: Mapping[datetime, Sequence[Line]]  # local airing time → a slot's own running order
    device_ids: tuple[int, ...]  # the active clusters its targets reach

    def lines_at(self, airing: Airing) -> Sequence[Line]:
        own = self.own_orders.get(airing.local)
        return self.running_order if own is None else own


@dataclass(frozen=True)
class AnnouncementPlan:
    """A one-off announcement planned in the window (scheduled, or cancelled after its time)."""

    id: int
    bulletin_id: int | None
    start_at: datetime
    device_ids: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    programmes: Mapping[int, ProgrammePlan]  # every programme, by id
    announcements: tuple[AnnouncementPlan, ...]


@lru_cache(maxsize=512)
def _month_occurrences(recurrence: Recurrence, start_at: datetime, end_at: datetime) -> tuple[datetime, ...]:
    return tuple(occurrences(recurrence, start_at, end_at))


def airings_between(recurrence: Recurrence, start_at: datetime, end_at: datetime) -> list[datetime]:
    """Occurrences in ``[start_at, end_at)``, expanded a month at a time (a programme every few minutes
    stays under the expansion limit) and cached: communes often share one daily rule."""
    out: list[datetime] = []
    chunk = start_at
    while chunk < end_at:
        nxt = min(chunk + timedelta(days=31), end_at)
        out.extend(_month_occurrences(recurrence, chunk, nxt))
        chunk = nxt
    return out


class _Timelines:
    """Airings of each distinct recurrence in the window, worked out once per plan."""

    def __init__(self, start_at: datetime) -> None:
        self.start_at = start_at
        self._done: dict[tuple[Recurrence, datetime], tuple[Airing, ...]] = {}

    def of(self, recurrence: Recurrence, stop: datetime) -> tuple[Airing, ...]:
        key = (recurrence, stop)
        if key not in self._done:
            zone = resolve_timezone(recurrence.timezone)
            out = []
            for at in airings_between(recurrence, self.start_at, stop):
                local = at.astimezone(zone).replace(tzinfo=None)
                out.append(Airing(at, local, local.date(), airing_stamp(at)))
            self._done[key] = tuple(out)
        return self._done[key]


def _slot_window(start_at: datetime, end_at: datetime) -> tuple[datetime, datetime]:
    """Local bounds wide enough for any programme timezone around Vietnam's."""
    return to_local(start_at) - timedelta(days=2), to_local(end_at) + timedelta(days=2)


def _slots_in(local_from: datetime, local_to: datetime) -> Any:
    s = m.Slot.__table__.c
    return or_(
        s.occurrence_local.between(local_from, local_to), s.moved_to_local.between(local_from, local_to)
    )


@dataclass
class _RunningOrders:
    default: dict[int, list[Line]]  # programme → its running order
    own: dict[int, dict[datetime, list[Line]]]  # programme → local airing time → the slot's own order
    overrides: dict[int, list[m.Slot]]  # programme → moved and cancelled slots


def _running_orders(session: Session, local_from: datetime, local_to: datetime) -> _RunningOrders:
    """Read as tuples, with the bulletin of a line picked in SQL: a year of daily slots with their own
    running order is tens of thousands of rows."""
    slots, items = m.Slot.__table__, m.RunningOrderItem.__table__  # tables: no ORM row processing
    s, item = slots.c, items.c
    in_window = _slots_in(local_from, local_to)
    bulletin = case((item.kind == m.ItemKind.BULLETIN, item.bulletin_id), else_=None)
    # Only moved and cancelled slots change the recurrence.
    overrides: dict[int, list[m.Slot]] = defaultdict(list)
    for pid, occurrence, status, moved_to in session.execute(
        select(s.programme_id, s.occurrence_local, s.status, s.moved_to_local).where(
            in_window, s.status != m.SlotStatus.SCHEDULED
        )
    ):
        overrides[pid].append(m.Slot(occurrence_local=occurrence, status=status, moved_to_local=moved_to))
    default: dict[int, list[Line]] = defaultdict(list)
    for pid, bulletin_id in session.execute(
        select(item.programme_id, bulletin)
        .where(item.slot_id.is_(None), item.fallback.is_(False))  # a fallback playlist is not planned
        .order_by(item.position, item.id)
    ):
        default[pid].append(bulletin_id)
    # A slot with its own running order (even an empty one) replaces the programme's at its time.
    own: dict[int, dict[datetime, list[Line]]] = defaultdict(dict)
    owner: dict[tuple[int, datetime], int] = {}
    for pid, local, slot_id, item_id, bulletin_id in session.execute(
        select(s.programme_id, func.coalesce(s.moved_to_local, s.occurrence_local), s.id, item.id, bulletin)
        .select_from(slots.outerjoin(items, item.slot_id == s.id))
        .where(in_window, s.own_running_order.is_(True), s.status != m.SlotStatus.CANCELLED)
        .order_by(s.id, item.position, item.id)
    ).all():
        if owner.get((pid, local)) != slot_id:  # the last slot at a time wins
            owner[(pid, local)] = slot_id
            own[pid][local] = []
        if item_id is not None:
            own[pid][local].append(bulletin_id)
    return _RunningOrders(default, own, overrides)


def _announcements_in(start_at: datetime, end_at: datetime) -> tuple[Any, ...]:
    return (m.Announcement.start_at >= start_at, m.Announcement.start_at < end_at)


def planned_bulletin_ids(start_at: datetime, end_at: datetime) -> CompoundSelect[Any]:
    """A SELECT of the bulletins the plan of the window names (running orders, announcements), for a
    reader that loads their kinds and topics in one query without a list of ids travelling."""
    local_from, local_to = _slot_window(start_at, end_at)
    own_slots = select(m.Slot.id).where(_slots_in(local_from, local_to), m.Slot.own_running_order.is_(True))
    lines = select(m.RunningOrderItem.bulletin_id).where(
        or_(m.RunningOrderItem.slot_id.is_(None), m.RunningOrderItem.slot_id.in_(own_slots))
    )
    return lines.union(select(m.Announcement.bulletin_id).where(*_announcements_in(start_at, end_at)))


def announcement_bulletins(session: Session, ids: Iterable[int]) -> dict[int, int | None]:
    """The bulletin each announcement reads (announcements named by receipts, in or out of a window).
    One range query instead of thousands of bound ids."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(m.Announcement.id, m.Announcement.bulletin_id).where(
            m.Announcement.id.between(min(wanted), max(wanted))
        )
    ).all()
    return {a: b for a, b in rows if a in wanted}


class _Reach:
    """Target tokens → the active clusters they reach."""

    def __init__(self, session: Session, stored: Sequence[StoredTarget]) -> None:
        memberships, ids = load_memberships(session)
        self.index: dict[Target, list[int]] = defaultdict(list)
        for membership in memberships:
            device_id = ids[membership.device_id]
            for token in membership.tokens():
                self.index[token].append(device_id)
        self.tokens = load_tokens(session, stored)

    def devices(self, targets: Sequence[StoredTarget]) -> tuple[int, ...]:
        seen: dict[int, None] = {}
        for t in targets:
            token = self.tokens.get((t.kind, t.ref_id))
            if token is not None:
                seen.update(dict.fromkeys(self.index.get(token, ())))
        return tuple(seen)


def _targets(session: Session, model: Any, owner: Any, where: Any = None) -> dict[int, list[StoredTarget]]:
    query = select(owner, model.kind, model.ref_id, model.language).order_by(model.id)
    if where is not None:
        query = query.where(where)
    out: dict[int, list[StoredTarget]] = defaultdict(list)
    kinds = {k.value: k for k in TargetKind}  # a dict lookup: the enum's own costs more per row
    for owner_id, kind, ref_id, language in session.execute(query).all():
        out[owner_id].append(StoredTarget(kinds[kind], ref_id, language))
    return out


def load_plan(session: Session, *, start_at: datetime, end_at: datetime) -> Plan:
    """Every programme (with its airings in ``[start_at, end_at)``) and the announcements of the window."""
    local_from, local_to = _slot_window(start_at, end_at)
    orders = _running_orders(session, local_from, local_to)
    window = _announcements_in(start_at, end_at)
    announcements = [
        a
        for a in session.execute(
            select(
                m.Announcement.id,
                m.Announcement.bulletin_id,
                m.Announcement.start_at,
                m.Announcement.status,
                m.Announcement.cancelled_at,
            ).where(*window)
        ).all()
        if a.status is m.AnnouncementStatus.SCHEDULED
        or (a.cancelled_at is not None and a.cancelled_at > a.start_at)
    ]
    ptargets = _targets(session, m.ProgrammeTarget, m.ProgrammeTarget.programme_id)
    atargets = (
        _targets(
            session,
            m.AnnouncementTarget,
            m.AnnouncementTarget.announcement_id,
            m.AnnouncementTarget.announcement_id.in_(select(m.Announcement.id).where(*window)),
        )
        if announcements
        else {}
    )
    reach = _Reach(session, [t for ts in (*ptargets.values(), *atargets.values()) for t in ts])
    timelines = _Timelines(start_at)
    programmes: dict[int, ProgrammePlan] = {}
    for p in session.scalars(select(m.Programme)):
        until = p.cancelled_at or (None if p.active else p.updated_at)
        stop = min(end_at, until) if until is not None else end_at
        airings = (
            timelines.of(programme_recurrence(p, orders.overrides.get(p.id, ())), stop)
            if stop > start_at
            else ()
        )
        programmes[p.id] = ProgrammePlan(
            id=p.id,
            name=p.name,
            area_id=p.area_id,
            topic_id=p.topic_id,
            schedule_text=describe(programme_recurrence(p)),
            airings=airings,
            running_order=orders.default.get(p.id, []),
            own_orders=orders.own.get(p.id, {}),
            device_ids=reach.devices(ptargets.get(p.id, ())) if airings else (),
        )
    planned = tuple(
        AnnouncementPlan(a.id, a.bulletin_id, a.start_at, reach.devices(atargets.get(a.id, ())))
        for a in announcements
    )
    return Plan(programmes, planned)

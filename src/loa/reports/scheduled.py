"""What the schedule planned for an area and period: programmes expanded with their slot overrides
and running orders, and one-off announcements, counted per commune, day, bulletin and programme.
Definitions: ``loa.reports.airtime``.

A province-year is a hundred daily programmes on thousands of clusters: each distinct recurrence is
expanded once per report (communes usually share one daily rule), and clusters are counted per
commune (how many existed at the airing), never one by one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from loa.content.catalog import BulletinKind
from loa.protocol.itemids import ItemRef, airing_stamp, programme_item_from_stamp
from loa.reports.facts import BulletinIndex, DeviceRef, Facts
from loa.schedule import models as m
from loa.schedule.dbsnapshot import programme_recurrence
from loa.schedule.recurrence import Recurrence, occurrences, resolve_timezone, to_local
from loa.schedule.snapshot import Target, TargetKind
from loa.schedule.targets import StoredTarget, load_tokens

Line = list[int | None]  # a running order: bulletin ids, None for a line that is not a bulletin


@lru_cache(maxsize=512)
def _month_occurrences(recurrence: Recurrence, start_at: datetime, end_at: datetime) -> tuple[datetime, ...]:
    return tuple(occurrences(recurrence, start_at, end_at))


def airings(recurrence: Recurrence, start_at: datetime, end_at: datetime) -> list[datetime]:
    """Occurrences in ``[start_at, end_at)``, expanded a month at a time (a programme every few minutes
    stays under the expansion limit) and cached: communes often share one daily rule."""
    out: list[datetime] = []
    chunk = start_at
    while chunk < end_at:
        nxt = min(chunk + timedelta(days=31), end_at)
        out.extend(_month_occurrences(recurrence, chunk, nxt))
        chunk = nxt
    return out


@dataclass(frozen=True)
class Airing:
    at: datetime  # aware UTC
    local: datetime  # naive, in the programme's timezone (the key of a slot)
    day: date  # local
    stamp: str  # as in manifest item ids


class Timelines:
    """Airings of each distinct recurrence in the window, worked out once per report."""

    def __init__(self, start_at: datetime) -> None:
        self.start_at = start_at
        self._done: dict[tuple[Recurrence, datetime], tuple[Airing, ...]] = {}

    def of(self, recurrence: Recurrence, stop: datetime) -> tuple[Airing, ...]:
        key = (recurrence, stop)
        if key not in self._done:
            zone = resolve_timezone(recurrence.timezone)
            out = []
            for at in airings(recurrence, self.start_at, stop):
                local = at.astimezone(zone).replace(tzinfo=None)
                out.append(Airing(at, local, local.date(), airing_stamp(at)))
            self._done[key] = tuple(out)
        return self._done[key]


@dataclass(frozen=True)
class Reach:
    """The in-scope clusters one item reaches in one commune: creation times, sorted."""

    commune_id: int
    created: list[datetime]

    def at(self, moment: datetime) -> int:
        """How many existed at ``moment``."""
        created = self.created
        return len(created) if moment >= created[-1] else bisect_right(created, moment)


def _reach(
    targets: Sequence[StoredTarget],
    tokens: dict[tuple[TargetKind, int], Target],
    index: dict[Target, list[DeviceRef]],
    scope: set[int],
) -> list[Reach]:
    """The in-scope clusters the targets reach, by commune."""
    seen: dict[int, DeviceRef] = {}
    for t in targets:
        token = tokens.get((t.kind, t.ref_id))
        for device in index.get(token, ()) if token is not None else ():
            seen[device.id] = device
    by_commune: dict[int, list[datetime]] = defaultdict(list)
    for device in seen.values():
        if device.commune_id is not None and device.commune_id in scope:
            by_commune[device.commune_id].append(device.created_at)
    return [Reach(c, sorted(v)) for c, v in by_commune.items()]


@dataclass
class _RunningOrders:
    default: dict[int, Line]  # programme → its running order
    own: dict[int, dict[datetime, Line]]  # programme → local airing time → the slot's own order
    overrides: dict[int, list[m.Slot]]  # programme → moved and cancelled slots


def _running_orders(session: Session, local_from: datetime, local_to: datetime) -> _RunningOrders:
    """Read as tuples, with the bulletin of a line picked in SQL: a year of daily slots with their own
    running order is tens of thousands of rows."""
    slots, items = m.Slot.__table__, m.RunningOrderItem.__table__  # tables: no ORM row processing
    s, item = slots.c, items.c
    in_window = or_(
        s.occurrence_local.between(local_from, local_to), s.moved_to_local.between(local_from, local_to)
    )
    bulletin = case((item.kind == m.ItemKind.BULLETIN, item.bulletin_id), else_=None)
    # Only moved and cancelled slots change the recurrence.
    overrides: dict[int, list[m.Slot]] = defaultdict(list)
    for pid, occurrence, status, moved_to in session.execute(
        select(s.programme_id, s.occurrence_local, s.status, s.moved_to_local).where(
            in_window, s.status != m.SlotStatus.SCHEDULED
        )
    ):
        overrides[pid].append(m.Slot(occurrence_local=occurrence, status=status, moved_to_local=moved_to))
    default: dict[int, Line] = defaultdict(list)
    for pid, bulletin_id in session.execute(
        select(item.programme_id, bulletin)
        .where(item.slot_id.is_(None), item.fallback.is_(False))  # a fallback playlist is not planned
        .order_by(item.position, item.id)
    ):
        default[pid].append(bulletin_id)
    # A slot with its own running order (even an empty one) replaces the programme's at its time.
    own: dict[int, dict[datetime, Line]] = defaultdict(dict)
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


def count_scheduled(
    session: Session,
    facts: Facts,
    *,
    start_at: datetime,
    end_at: datetime,
    devices: Sequence[DeviceRef],
    scope: set[int],
    topic_id: int | None,
    topics: BulletinIndex,
) -> dict[int, m.Programme]:
    """Add scheduled broadcasts to ``facts``; returns every programme by id (for receipts' topics)."""
    programmes = {p.id: p for p in session.scalars(select(m.Programme))}
    local_from, local_to = to_local(start_at) - timedelta(days=2), to_local(end_at) + timedelta(days=2)
    orders = _running_orders(session, local_from, local_to)
    in_window = or_(
        m.Slot.occurrence_local.between(local_from, local_to),
        m.Slot.moved_to_local.between(local_from, local_to),
    )
    own_slots = select(m.Slot.id).where(in_window, m.Slot.own_running_order.is_(True))
    window_announcements = (m.Announcement.start_at >= start_at, m.Announcement.start_at < end_at)
    announcements = [
        a
        for a in session.execute(
            select(
                m.Announcement.id,
                m.Announcement.bulletin_id,
                m.Announcement.start_at,
                m.Announcement.status,
                m.Announcement.cancelled_at,
            ).where(*window_announcements)
        ).all()
        if a.status is m.AnnouncementStatus.SCHEDULED
        or (a.cancelled_at is not None and a.cancelled_at > a.start_at)
    ]
    topics.load_where(
        select(m.RunningOrderItem.bulletin_id).where(
            or_(m.RunningOrderItem.slot_id.is_(None), m.RunningOrderItem.slot_id.in_(own_slots))
        )
    )
    topics.load_where(select(m.Announcement.bulletin_id).where(*window_announcements))
    ptargets: dict[int, list[StoredTarget]] = defaultdict(list)
    pt, at = m.ProgrammeTarget, m.AnnouncementTarget
    for pid, target_kind, ref_id, language in session.execute(
        select(pt.programme_id, pt.kind, pt.ref_id, pt.language).order_by(pt.id)
    ):
        ptargets[pid].append(StoredTarget(TargetKind(target_kind), ref_id, language))
    atargets: dict[int, list[StoredTarget]] = defaultdict(list)
    if announcements:
        for aid, target_kind, ref_id, language in session.execute(
            select(at.announcement_id, at.kind, at.ref_id, at.language)
            .where(at.announcement_id.in_(select(m.Announcement.id).where(*window_announcements)))
            .order_by(at.id)
        ).all():
            atargets[aid].append(StoredTarget(TargetKind(target_kind), ref_id, language))
    tokens = load_tokens(session, [t for ts in (*ptargets.values(), *atargets.values()) for t in ts])
    index: dict[Target, list[DeviceRef]] = defaultdict(list)
    for device in devices:
        for token in device.tokens:
            index[token].append(device)

    timelines = Timelines(start_at)
    for p in programmes.values():
        until = p.cancelled_at or (None if p.active else p.updated_at)
        stop = min(end_at, until) if until is not None else end_at
        if stop <= start_at:
            continue
        timeline = timelines.of(programme_recurrence(p, orders.overrides.get(p.id, ())), stop)
        if timeline:
            _count_programme(
                facts,
                p,
                timeline,
                orders.default.get(p.id, []),
                orders.own.get(p.id, {}),
                _reach(ptargets[p.id], tokens, index, scope),
                topic_id,
                topics,
            )
    for a in announcements:
        if not topics.matches(a.bulletin_id, topic_id, None):
            continue
        day = to_local(a.start_at).date()
        total = 0
        for reach in _reach(atargets[a.id], tokens, index, scope):
            k = reach.at(a.start_at)
            facts.commune_days[(reach.commune_id, day)].scheduled += k
            total += k
        if a.bulletin_id is not None:
            _scheduled_bulletin(facts, a.bulletin_id, 1, total, day)
    return programmes


def _count_programme(
    facts: Facts,
    p: m.Programme,
    timeline: Sequence[Airing],
    default: Line,
    own: dict[datetime, Line],
    reached: list[Reach],
    topic_id: int | None,
    topics: BulletinIndex,
) -> None:
    """``own``: the running orders of slots that have their own, by local airing time."""
    kinds = topics.kinds
    kept: dict[datetime | None, tuple[Line, int, int]] = {}  # lines, news, articles per running order
    per_order: dict[datetime | None, list[int]] = {}  # airings, cluster-airings
    first: dict[datetime | None, date] = {}
    commune_days = facts.commune_days
    clusters = [(r.commune_id, r.created, len(r.created), r.created[-1]) for r in reached]
    pf = facts.programmes[p.id]
    scheduled_airings, news, articles = pf.scheduled_airings, pf.news, pf.articles
    expected, pid = facts.expected_items, p.id
    named = 0 <= pid < 10**12  # as item ids can name it (``loa.protocol.itemids.parse``)
    scheduled = 0
    for airing in timeline:
        local = airing.local
        tag = local if local in own else None
        if tag not in kept:
            line = own[local] if tag is not None else default
            if topic_id is not None:
                line = [b for b in line if topics.matches(b, topic_id, p.topic_id)]
            n_news = n_articles = 0
            for b in line:
                kind = kinds.get(b) if b is not None else None
                n_news += kind is BulletinKind.NEWS
                n_articles += kind is BulletinKind.ARTICLE
            kept[tag] = (line, n_news, n_articles)
            per_order[tag] = [0, 0]
            first[tag] = airing.day
        line, n_news, n_articles = kept[tag]
        n_lines = len(line)
        total = 0
        at = airing.at
        for commune_id, created, n, newest in clusters:
            k = n if at >= newest else bisect_right(created, at)  # Reach.at, inlined
            if k and n_lines:
                commune_days[(commune_id, airing.day)].scheduled += k * n_lines
            total += k
        counts = per_order[tag]
        counts[0] += 1
        counts[1] += total
        scheduled_airings[airing.stamp] = airing.day
        if total and named:  # the item ids of the lines, as the manifest (``loa.schedule.layout``) names them
            stamp = airing.stamp
            for b in line:
                if b is not None and 0 <= b < 10**16:
                    expected[programme_item_from_stamp(pid, stamp, b)] = ItemRef(pid, stamp, b)
        scheduled += total * n_lines
        news.append(n_news)
        articles.append(n_articles)
    pf.tally.scheduled += scheduled
    for tag, (n_airings, cluster_airings) in per_order.items():
        for bulletin_id in kept[tag][0]:
            if bulletin_id is not None:
                _scheduled_bulletin(facts, bulletin_id, n_airings, cluster_airings, first[tag])


def _scheduled_bulletin(facts: Facts, bulletin_id: int, n_airings: int, clusters: int, day: date) -> None:
    bf = facts.bulletins[bulletin_id]
    bf.scheduled_airings += n_airings
    bf.tally.scheduled += clusters
    bf.first_scheduled = day if bf.first_scheduled is None else min(bf.first_scheduled, day)

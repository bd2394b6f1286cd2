"""Broadcasts of an area and period from the database: what the schedule planned (programmes expanded
with their slot overrides, announcements) and what the loudspeakers reported (play receipts, summed
in SQL by commune, local day and item). Definitions: ``loa.reports.airtime``.

The receipts are aggregated by the database (one pass over ``play_receipts`` through its
``started_at`` index); Python sees one row per commune, day and item, never one per receipt.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Select, case, cast, func, or_, select
from sqlalchemy.orm import Session

from loa.areas.models import Station
from loa.content.catalog import BulletinKind
from loa.content.models import Bulletin, bulletin_topics
from loa.fleet.models import Device, PlayReceipt, ReceiptOutcome
from loa.reports.airtime import ItemRef, Tally, airing_stamp, parse_item_id
from loa.reports.period import Period
from loa.schedule import models as m
from loa.schedule.dbsnapshot import load_memberships, programme_recurrence
from loa.schedule.recurrence import VIETNAM_TZ, Recurrence, occurrences, resolve_timezone, to_local, to_utc
from loa.schedule.snapshot import Target, TargetKind
from loa.schedule.targets import StoredTarget, load_tokens
from loa.speech.models import AudioAsset

VIETNAM_UTC_OFFSET_HOURS = 7  # Vietnam keeps UTC+7 all year (no daylight saving)


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's first local midnight and the local midnight after its last day, in UTC."""
    start = to_utc(datetime.combine(period.start, time()), VIETNAM_TZ)
    end = to_utc(datetime.combine(period.end + timedelta(days=1), time()), VIETNAM_TZ)
    return start, end


@dataclass(frozen=True)
class DeviceRef:
    id: int
    commune_id: int | None
    created_at: datetime
    tokens: tuple[Target, ...]


def load_devices(session: Session) -> list[DeviceRef]:
    """Active loudspeaker clusters with their commune (their own, else their station's) and targets."""
    memberships, ids = load_memberships(session)
    rows = session.execute(
        select(Device.id, func.coalesce(Device.commune_id, Station.commune_id), Device.created_at)
        .outerjoin(Station, Station.id == Device.station_id)
        .where(Device.active.is_(True))
    ).all()
    info = {device_id: (commune_id, created_at) for device_id, commune_id, created_at in rows}
    out = []
    for membership in memberships:
        device_id = ids[membership.device_id]
        commune_id, created_at = info[device_id]
        out.append(DeviceRef(device_id, commune_id, created_at, membership.tokens()))
    return out


@dataclass
class BulletinFacts:
    scheduled_airings: int = 0
    tally: Tally = field(default_factory=Tally)
    first_scheduled: date | None = None
    first_played: date | None = None


@dataclass
class ProgrammeFacts:
    scheduled_airings: dict[str, date] = field(default_factory=dict)  # airing stamp → local day
    played_airings: dict[str, date] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    news: list[int] = field(default_factory=list)  # per scheduled airing
    articles: list[int] = field(default_factory=list)


@dataclass
class Facts:
    """Everything counted for one area, period and topic."""

    commune_days: dict[tuple[int, date], Tally] = field(default_factory=lambda: defaultdict(Tally))
    bulletins: dict[int, BulletinFacts] = field(default_factory=lambda: defaultdict(BulletinFacts))
    programmes: dict[int, ProgrammeFacts] = field(default_factory=lambda: defaultdict(ProgrammeFacts))
    receipts: bool = False


class BulletinIndex:
    """Kinds, topics and titles of the bulletins met while counting: those of running orders and
    announcements are loaded through a subquery (no list of ids travels to the database); the few a
    receipt names beyond them, by id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.kinds: dict[int, BulletinKind] = {}
        self.topics: dict[int, set[int]] = defaultdict(set)

    def load_where(self, ids: Any) -> None:
        """``ids``: a SELECT of bulletin ids."""
        for bulletin_id, kind in self.session.execute(
            select(Bulletin.id, Bulletin.kind).where(Bulletin.id.in_(ids))
        ):
            self.kinds[bulletin_id] = kind
        for bulletin_id, topic_id in self.session.execute(
            select(bulletin_topics.c.bulletin_id, bulletin_topics.c.topic_id).where(
                bulletin_topics.c.bulletin_id.in_(ids)
            )
        ):
            self.topics[bulletin_id].add(topic_id)

    def load(self, ids: Iterable[int]) -> None:
        wanted = sorted(set(ids) - set(self.kinds))
        for start in range(0, len(wanted), 1000):
            self.load_where(wanted[start : start + 1000])

    def matches(self, bulletin_id: int | None, topic_id: int | None, fallback_topic: int | None) -> bool:
        if topic_id is None:
            return True
        if bulletin_id is None:
            return fallback_topic == topic_id
        return topic_id in self.topics.get(bulletin_id, ())


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


def _reach(
    targets: Sequence[StoredTarget],
    tokens: dict[tuple[TargetKind, int], Target],
    index: dict[Target, list[DeviceRef]],
    scope: set[int],
) -> dict[int, list[datetime]]:
    """Creation times (sorted) of the in-scope clusters the targets reach, by commune."""
    seen: dict[int, DeviceRef] = {}
    for t in targets:
        token = tokens.get((t.kind, t.ref_id))
        for device in index.get(token, ()) if token is not None else ():
            seen[device.id] = device
    by_commune: dict[int, list[datetime]] = defaultdict(list)
    for device in seen.values():
        if device.commune_id is not None and device.commune_id in scope:
            by_commune[device.commune_id].append(device.created_at)
    return {c: sorted(v) for c, v in by_commune.items()}


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
    in_window = or_(
        m.Slot.occurrence_local.between(local_from, local_to),
        m.Slot.moved_to_local.between(local_from, local_to),
    )
    # Only moved and cancelled slots change the recurrence; a slot with its own running order only
    # changes what plays. Rows are read as tuples: a year of daily slots is tens of thousands.
    overrides: dict[int, list[m.Slot]] = defaultdict(list)
    own: dict[int, dict[datetime, int]] = defaultdict(dict)  # programme → airing (local) → slot id
    for slot_id, pid, occurrence, status, moved_to, has_own in session.execute(
        select(
            m.Slot.id,
            m.Slot.programme_id,
            m.Slot.occurrence_local,
            m.Slot.status,
            m.Slot.moved_to_local,
            m.Slot.own_running_order,
        ).where(in_window)
    ):
        if status is not m.SlotStatus.SCHEDULED:
            overrides[pid].append(m.Slot(occurrence_local=occurrence, status=status, moved_to_local=moved_to))
        if has_own and status is not m.SlotStatus.CANCELLED:
            own[pid][moved_to or occurrence] = slot_id
    own_slots = select(m.Slot.id).where(in_window, m.Slot.own_running_order.is_(True))
    lines: dict[tuple[int, int | None], list[int | None]] = defaultdict(list)
    for owner, line_slot, kind, bulletin_id in session.execute(
        select(
            m.RunningOrderItem.programme_id,
            m.RunningOrderItem.slot_id,
            m.RunningOrderItem.kind,
            m.RunningOrderItem.bulletin_id,
        )
        .where(or_(m.RunningOrderItem.slot_id.is_(None), m.RunningOrderItem.slot_id.in_(own_slots)))
        .order_by(m.RunningOrderItem.position, m.RunningOrderItem.id)
    ):
        lines[(owner, line_slot)].append(bulletin_id if kind is m.ItemKind.BULLETIN else None)
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
        )
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
        ):
            atargets[aid].append(StoredTarget(TargetKind(target_kind), ref_id, language))
    tokens = load_tokens(session, [t for ts in (*ptargets.values(), *atargets.values()) for t in ts])
    index: dict[Target, list[DeviceRef]] = defaultdict(list)
    for device in devices:
        for token in device.tokens:
            index[token].append(device)

    for p in programmes.values():
        until = p.cancelled_at or (None if p.active else p.updated_at)
        stop = min(end_at, until) if until is not None else end_at
        if stop <= start_at:
            continue
        times = airings(programme_recurrence(p, overrides[p.id]), start_at, stop)
        if times:
            _count_programme(
                facts,
                p,
                times,
                own[p.id],
                lines,
                _reach(ptargets[p.id], tokens, index, scope),
                topic_id,
                topics,
            )
    for a in announcements:
        if not topics.matches(a.bulletin_id, topic_id, None):
            continue
        reached = _reach(atargets[a.id], tokens, index, scope)
        day = to_local(a.start_at).date()
        total = 0
        for commune_id, created in reached.items():
            k = bisect_right(created, a.start_at)
            facts.commune_days[(commune_id, day)].scheduled += k
            total += k
        if a.bulletin_id is not None:
            _scheduled_bulletin(facts, a.bulletin_id, 1, total, day)
    return programmes


def _count_programme(
    facts: Facts,
    p: m.Programme,
    times: Sequence[datetime],
    own: dict[datetime, int],
    lines: dict[tuple[int, int | None], list[int | None]],
    reached: dict[int, list[datetime]],
    topic_id: int | None,
    topics: BulletinIndex,
) -> None:
    """``own``: the slots with their own running order, by local airing time."""
    zone = resolve_timezone(p.timezone)
    kept: dict[int | None, list[int | None]] = {}
    counts: dict[int | None, tuple[int, int]] = {}  # news, articles per running order
    per_tag: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])  # airings, cluster-airings
    first: dict[int | None, date] = {}
    pf = facts.programmes[p.id]
    for at in times:
        local = at.astimezone(zone).replace(tzinfo=None)
        tag = own.get(local)
        if tag not in kept:
            kept[tag] = [b for b in lines.get((p.id, tag), []) if topics.matches(b, topic_id, p.topic_id)]
            kinds = [topics.kinds.get(b) for b in kept[tag] if b is not None]
            counts[tag] = (kinds.count(BulletinKind.NEWS), kinds.count(BulletinKind.ARTICLE))
        n_lines = len(kept[tag])
        day = local.date()
        total = 0
        for commune_id, created in reached.items():
            k = bisect_right(created, at)
            if k and n_lines:
                facts.commune_days[(commune_id, day)].scheduled += k * n_lines
            total += k
        per_tag[tag][0] += 1
        per_tag[tag][1] += total
        first.setdefault(tag, day)
        pf.scheduled_airings[airing_stamp(at)] = day
        pf.tally.scheduled += total * n_lines
        pf.news.append(counts[tag][0])
        pf.articles.append(counts[tag][1])
    for tag, (n_airings, clusters) in per_tag.items():
        for bulletin_id in kept[tag]:
            if bulletin_id is not None:
                _scheduled_bulletin(facts, bulletin_id, n_airings, clusters, first[tag])


def _scheduled_bulletin(facts: Facts, bulletin_id: int, n_airings: int, clusters: int, day: date) -> None:
    bf = facts.bulletins[bulletin_id]
    bf.scheduled_airings += n_airings
    bf.tally.scheduled += clusters
    bf.first_scheduled = day if bf.first_scheduled is None else min(bf.first_scheduled, day)


# --- receipts -----------------------------------------------------------------------------------------
def receipts_statement(
    dialect: str, *, start_at: datetime, end_at: datetime, commune_ids: Sequence[int]
) -> Select[Any]:
    """Played / pre-empted / failed receipts and capped played milliseconds, by commune, local day
    and item, for clusters in ``commune_ids``."""
    r, d, s, a = PlayReceipt.__table__, Device.__table__, Station.__table__, AudioAsset.__table__
    commune = func.coalesce(d.c.commune_id, s.c.commune_id)
    if dialect == "postgresql":
        day: Any = cast(func.timezone(VIETNAM_TZ, r.c.started_at), Date)
        duration: Any = func.extract("epoch", r.c.ended_at - r.c.started_at) * 1000
    else:
        day = func.date(r.c.started_at, f"+{VIETNAM_UTC_OFFSET_HOURS} hours")
        # julianday is a double: round each receipt to the millisecond before summing
        duration = func.round((func.julianday(r.c.ended_at) - func.julianday(r.c.started_at)) * 86_400_000.0)
    capped = case(
        (duration < 0, 0),
        (a.c.duration_ms.is_not(None) & (duration > a.c.duration_ms), a.c.duration_ms),
        else_=duration,
    )
    played = r.c.outcome == ReceiptOutcome.PLAYED.value
    return (
        select(
            commune.label("commune_id"),
            day.label("day"),
            r.c.item_id,
            func.sum(case((played, 1), else_=0)).label("played"),
            func.sum(case((r.c.outcome == ReceiptOutcome.PREEMPTED.value, 1), else_=0)).label("preempted"),
            func.sum(case((r.c.outcome == ReceiptOutcome.FAILED.value, 1), else_=0)).label("failed"),
            cast(func.sum(case((played, capped), else_=0)), Integer).label("played_ms"),
        )
        .select_from(
            r.join(d, d.c.id == r.c.device_id)
            .outerjoin(s, s.c.id == d.c.station_id)
            .outerjoin(a, a.c.sha256 == r.c.audio_sha256)
        )
        .where(r.c.started_at >= start_at, r.c.started_at < end_at, commune.in_(list(commune_ids)))
        .group_by(commune, day, r.c.item_id)
    )


def count_played(
    session: Session,
    facts: Facts,
    *,
    start_at: datetime,
    end_at: datetime,
    scope_communes: Sequence[int],
    topic_id: int | None,
    topics: BulletinIndex,
    programmes: dict[int, m.Programme],
) -> None:
    if not scope_communes:
        return
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        receipts_statement(dialect, start_at=start_at, end_at=end_at, commune_ids=scope_communes)
    ).all()
    refs: dict[str, ItemRef] = {}
    for row in rows:
        if row.item_id not in refs:
            refs[row.item_id] = parse_item_id(row.item_id)
    announcement_ids = {r.announcement_id for r in refs.values() if r.announcement_id is not None}
    of_announcement: dict[int, int | None] = {}
    if announcement_ids:
        # One range query instead of thousands of bound ids (their parsing alone took a quarter
        # of a second on a province-year).
        for announcement_id, bulletin_id in session.execute(
            select(m.Announcement.id, m.Announcement.bulletin_id).where(
                m.Announcement.id.between(min(announcement_ids), max(announcement_ids))
            )
        ).all():
            if announcement_id in announcement_ids:
                of_announcement[announcement_id] = bulletin_id
    topics.load(b for r in refs.values() if (b := r.bulletin_id) is not None)
    topics.load(b for b in of_announcement.values() if b is not None)
    if rows:
        facts.receipts = True
    # Rows are unpacked as plain tuples and added field by field: a province-year is tens of
    # thousands of rows (one per commune, day and item).
    commune_days, bulletins, programme_facts = facts.commune_days, facts.bulletins, facts.programmes
    days: dict[Any, date] = {}
    for commune_id, raw_day, item_id, played, preempted, failed, played_ms in rows:
        ref = refs[item_id]
        bulletin_id = ref.bulletin_id
        if bulletin_id is None and ref.announcement_id is not None:
            bulletin_id = of_announcement.get(ref.announcement_id)
        programme = programmes.get(ref.programme_id) if ref.programme_id is not None else None
        if ref.programme_id is not None and bulletin_id is not None and bulletin_id not in topics.kinds:
            bulletin_id = None  # a recording line whose id happens to be digits, or a deleted bulletin
        fallback = programme.topic_id if programme is not None else None
        if topic_id is not None and not topics.matches(bulletin_id, topic_id, fallback):
            continue
        day = days.get(raw_day)
        if day is None:
            day = days[raw_day] = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        played, preempted, failed, played_ms = int(played), int(preempted), int(failed), int(played_ms or 0)
        _add(commune_days[(int(commune_id), day)], played, preempted, failed, played_ms)
        if bulletin_id is not None:
            bf = bulletins[bulletin_id]
            _add(bf.tally, played, preempted, failed, played_ms)
            if played:
                bf.first_played = day if bf.first_played is None else min(bf.first_played, day)
        if ref.programme_id is not None:
            pf = programme_facts[ref.programme_id]
            _add(pf.tally, played, preempted, failed, played_ms)
            if played:
                pf.played_airings[ref.airing] = day


def _add(tally: Tally, played: int, preempted: int, failed: int, played_ms: int) -> None:
    tally.played += played
    tally.preempted += preempted
    tally.failed += failed
    tally.played_ms += played_ms


def collect_facts(
    session: Session, *, period: Period, scope: set[int], topic_id: int | None
) -> tuple[Facts, dict[int, m.Programme], BulletinIndex]:
    """Scheduled and played broadcasts on the clusters of the communes in ``scope`` (unit ids)."""
    start_at, end_at = period_bounds(period)
    devices = load_devices(session)
    facts = Facts()
    topics = BulletinIndex(session)
    programmes = count_scheduled(
        session,
        facts,
        start_at=start_at,
        end_at=end_at,
        devices=devices,
        scope=scope,
        topic_id=topic_id,
        topics=topics,
    )
    # Receipts of every cluster of the area, including those retired since.
    all_communes = session.scalars(
        select(func.coalesce(Device.commune_id, Station.commune_id))
        .outerjoin(Station, Station.id == Device.station_id)
        .distinct()
    )
    communes = sorted(c for c in all_communes if c is not None and c in scope)
    count_played(
        session,
        facts,
        start_at=start_at,
        end_at=end_at,
        scope_communes=communes,
        topic_id=topic_id,
        topics=topics,
        programmes=programmes,
    )
    return facts, programmes, topics

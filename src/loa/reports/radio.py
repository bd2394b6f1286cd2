"""The radio and portal channels of a report from the system's records, merged with the manual
registers: detail rows (bulletins "TB…", programmes "CT…", manual entries by their id) whose
``counted`` cell says whether they add to the figures, and the broadcasts by commune and day.
Rules: ``loa.reports.airtime``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.activities.models import PortalPost, RadioItem
from loa.activities.present import detail_cells
from loa.activities.registers import PORTAL, RADIO
from loa.activities.service import area_ref
from loa.areas.models import AdminUnit
from loa.content.catalog import KINDS
from loa.content.models import Attachment, Bulletin, bulletin_topics
from loa.reports.airtime import (
    BASIS_DUPLICATE,
    BASIS_MANUAL,
    BASIS_PLAYED,
    BASIS_PUBLISHED,
    BASIS_SCHEDULED,
    BULLETIN_PREFIX,
    MANUAL,
    PORTAL_KIND_OF_BULLETIN,
    PROGRAMME_PREFIX,
    RADIO_KIND_OF_BULLETIN,
    SYSTEM,
    Bucket,
    aired_basis,
    apply_manual_rule,
    hours_value,
    month_of,
    row_ref,
)
from loa.reports.broadcasts import StartedReceipts, collect_facts
from loa.reports.data import Airtime, AirtimeRow, DetailRow, ProgrammeRow
from loa.reports.facts import BulletinIndex, Facts, period_bounds
from loa.schedule import models as m
from loa.schedule.dbsnapshot import programme_recurrence
from loa.schedule.recurrence import to_local
from loa.schedule.wording import describe as describe_recurrence
from loa.topics.models import Topic
from loa.vocab.period import Period

Pair = tuple[DetailRow, AdminUnit]


@dataclass(frozen=True)
class SystemChannels:
    radio: list[Pair]
    portal: list[Pair]
    airtime: Airtime


def _topic_names(session: Session, bulletin_ids: Sequence[int]) -> dict[int, list[str]]:
    """Topic names of a few bulletins (the published ones of the portal)."""
    names: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(bulletin_ids), 1000):
        chunk = bulletin_ids[start : start + 1000]
        for bulletin_id, name in session.execute(
            select(bulletin_topics.c.bulletin_id, Topic.name)
            .join(Topic, Topic.id == bulletin_topics.c.topic_id)
            .where(bulletin_topics.c.bulletin_id.in_(chunk))
            .order_by(Topic.id)
        ):
            names[bulletin_id].append(name)
    return names


BulletinTitles = dict[int, tuple[str, AdminUnit]]  # bulletin → title, unit (those under the area)


def _bulletins(session: Session, ids: set[int], prefixes: Sequence[str]) -> BulletinTitles:
    """Titles and areas of the bulletins in ``ids`` filed under the area: one query over the id range
    (the ids are those of running orders and receipts, mostly close together)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Bulletin.id, Bulletin.title, Bulletin.area_id)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(Bulletin.id.between(min(ids), max(ids)), under(AdminUnit.path, prefixes))
        .order_by(Bulletin.id)
    ).all()
    found = [(b, title, area_id) for b, title, area_id in rows if b in ids]
    area_ids = {a for _, _, a in found}
    units = (
        {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(area_ids)))}
        if area_ids
        else {}
    )
    return {b: (title, units[a]) for b, title, a in found}


def _bulletin_rows(
    session: Session,
    facts: Facts,
    index: BulletinIndex,
    prefixes: Sequence[str],
    topic_id: int | None,
    buckets: set[Bucket],
    group: Callable[[AdminUnit], str],
    read: tuple[set[int], BulletinTitles] = (set(), {}),
) -> list[Pair]:
    """``read``: bulletins already looked up (ids asked, titles found), before the receipts came."""
    topic_names = dict(session.execute(select(Topic.id, Topic.name)).all())
    asked, titles = read
    missing = set(facts.bulletins) - asked
    if missing:
        titles = {**titles, **_bulletins(session, missing, prefixes)}
    rows: list[Pair] = []
    # Tens of thousands of bulletins in a few communes and topic sets: per unit and per topic set
    # the cells are worked out once.
    places: dict[int, tuple[str, str, str]] = {}  # unit → group key, name, code
    topic_text: dict[frozenset[int], str] = {}
    months: dict[date, str] = {}
    for bulletin_id in sorted(b for b in titles if b in facts.bulletins):
        title, unit = titles[bulletin_id]
        kind = index.kinds.get(bulletin_id)
        topic_ids = index.topics.get(bulletin_id, ())
        if kind is None or (topic_id is not None and topic_id not in topic_ids):
            continue
        bf = facts.bulletins[bulletin_id]
        t = bf.tally
        basis = aired_basis(t.played, t.not_played, bf.scheduled_airings)
        day = bf.first_played if t.played else bf.first_scheduled
        aired = basis in (BASIS_PLAYED, BASIS_SCHEDULED)
        kind_code = RADIO_KIND_OF_BULLETIN[kind]
        place = places.get(id(unit))
        if place is None:
            place = places[id(unit)] = (group(unit), unit.name, unit.code)
        if aired and day is not None:
            month = months.get(day)
            if month is None:
                month = months[day] = month_of(day)
            buckets.add((place[0], month, kind_code))
        key = frozenset(topic_ids)
        topics = topic_text.get(key)
        if topics is None:
            topics = topic_text[key] = "; ".join(topic_names[t_id] for t_id in sorted(key))
        cells = {
            "record": SYSTEM,
            "kind_label": KINDS[kind].label,
            "kind_code": kind_code,
            "date": day.isoformat() if day else None,
            "title": title,
            "area_name": place[1],
            "area_code": place[2],
            "topics": topics,
            "quantity": 1,
            "scheduled_airings": bf.scheduled_airings,
            "scheduled": t.scheduled,
            "played": t.played,
            "not_played": t.not_played,
            "hours": hours_value(t.played_ms),
            "basis": basis or "Không tính: không có lịch phát hay biên nhận trong kỳ",
            "counted": 1 if aired else 0,
        }
        rows.append((DetailRow(row_ref(BULLETIN_PREFIX, bulletin_id), cells), unit))
    return rows


def _programme_rows(
    session: Session,
    facts: Facts,
    programmes: dict[int, m.Programme],
    prefixes: Sequence[str],
    topic_id: int | None,
    buckets: set[Bucket],
    group: Callable[[AdminUnit], str],
) -> tuple[list[Pair], list[ProgrammeRow]]:
    area_ids = {
        p.area_id for pid, p in programmes.items() if pid in facts.programmes and p.area_id is not None
    }
    units = {
        u.id: u
        for u in session.scalars(
            select(AdminUnit).where(AdminUnit.id.in_(area_ids), under(AdminUnit.path, prefixes))
        )
    }
    topic_names = dict(session.execute(select(Topic.id, Topic.name)).all())
    rows: list[Pair] = []
    out: list[ProgrammeRow] = []
    for pid in sorted(facts.programmes):
        p = programmes.get(pid)
        unit = units.get(p.area_id) if p is not None and p.area_id is not None else None
        if p is None or unit is None or (topic_id is not None and p.topic_id != topic_id):
            continue
        pf = facts.programmes[pid]
        t = pf.tally
        basis = aired_basis(len(pf.played_airings), t.not_played, len(pf.scheduled_airings))
        aired = (
            pf.played_airings
            if basis == BASIS_PLAYED
            else pf.scheduled_airings
            if basis == BASIS_SCHEDULED
            else {}
        )
        if aired:
            key = group(unit)
            buckets.update((key, month, "programme") for month in {month_of(d) for d in set(aired.values())})
        first_day = min([*pf.scheduled_airings.values(), *pf.played_airings.values()], default=None)
        schedule = describe_recurrence(programme_recurrence(p))
        cells = {
            "record": SYSTEM,
            "kind_label": "Chuyên mục",
            "kind_code": "programme",
            "date": first_day.isoformat() if first_day else None,
            "title": p.name,
            "area_name": unit.name,
            "area_code": unit.code,
            "topics": topic_names.get(p.topic_id, "") if p.topic_id is not None else "",
            "quantity": len(aired),
            "scheduled_airings": len(pf.scheduled_airings),
            "scheduled": t.scheduled,
            "played": t.played,
            "not_played": t.not_played,
            "hours": hours_value(t.played_ms),
            "basis": basis or "Không tính: không có buổi phát trong kỳ",
            "counted": 1 if aired else 0,
            "notes": (
                f"Lịch phát: {schedule}; đã phát {len(pf.played_airings)}/{len(pf.scheduled_airings)} buổi"
            ),
        }
        rows.append((DetailRow(row_ref(PROGRAMME_PREFIX, pid), cells), unit))
        out.append(
            ProgrammeRow(
                pid,
                p.name,
                schedule,
                unit.name,
                len(pf.scheduled_airings),
                len(pf.played_airings),
                t.scheduled,
                t.played,
                (min(pf.news, default=0), max(pf.news, default=0)),
                (min(pf.articles, default=0), max(pf.articles, default=0)),
            )
        )
    return rows, out


ManualRows = tuple[list[DetailRow], dict[int | str, AdminUnit]]  # rows before the rule, their units


def _manual_radio_rows(records: Sequence[tuple[RadioItem, AdminUnit]]) -> ManualRows:
    units: dict[int | str, AdminUnit] = {}
    rows = []
    for record, unit in records:
        cells = {
            **detail_cells(RADIO, record, area_ref(unit)),
            "record": MANUAL,
            "kind_label": RADIO.kinds[record.kind].label if RADIO.kinds else str(record.kind),
            "kind_code": record.kind.value,
            "date": record.aired_on.isoformat(),
            "quantity": record.count,
        }
        rows.append(DetailRow(record.id, cells))
        units[record.id] = unit
    return rows, units


def _manual_radio(manual: ManualRows, buckets: set[Bucket], group: Callable[[AdminUnit], str]) -> list[Pair]:
    rows, units = manual
    ruled = apply_manual_rule(rows, buckets, lambda r: group(units[r.id]))
    return [(r, units[r.id]) for r in ruled]


def _portal_rows(
    session: Session,
    period: Period,
    prefixes: Sequence[str],
    topic_id: int | None,
    manual: Sequence[tuple[PortalPost, AdminUnit]],
) -> list[Pair]:
    start_at, end_at = period_bounds(period)
    photos = (
        select(Attachment.bulletin_id, func.count().label("n")).group_by(Attachment.bulletin_id).subquery()
    )
    query = (
        select(Bulletin.id, Bulletin.kind, Bulletin.title, Bulletin.published_at, AdminUnit, photos.c.n)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .outerjoin(photos, photos.c.bulletin_id == Bulletin.id)
        .where(
            Bulletin.published_revision_no.is_not(None),
            Bulletin.published_at >= start_at,
            Bulletin.published_at < end_at,
            under(AdminUnit.path, prefixes),
        )
        .order_by(Bulletin.published_at, Bulletin.id)
    )
    if topic_id is not None:
        query = query.where(
            Bulletin.id.in_(
                select(bulletin_topics.c.bulletin_id).where(bulletin_topics.c.topic_id == topic_id)
            )
        )
    published = session.execute(query).all()
    names = _topic_names(session, [b[0] for b in published])
    rows: list[Pair] = []
    for bulletin_id, kind, title, published_at, unit, n_photos in published:
        cells = {
            "record": SYSTEM,
            "kind_label": "Tin" if PORTAL_KIND_OF_BULLETIN[kind] == "news" else "Bài viết",
            "kind_code": PORTAL_KIND_OF_BULLETIN[kind],
            "date": to_local(published_at).date().isoformat(),
            "title": title,
            "quantity": 1,
            "photos": int(n_photos or 0),
            "area_name": unit.name,
            "area_code": unit.code,
            "topics": "; ".join(names.get(bulletin_id, [])),
            "bulletin_ref": row_ref(BULLETIN_PREFIX, bulletin_id),
            "basis": BASIS_PUBLISHED,
            "counted": 1,
        }
        rows.append((DetailRow(row_ref(BULLETIN_PREFIX, bulletin_id), cells), unit))
    automatic = {b[0] for b in published}
    for record, unit in manual:
        duplicate = record.bulletin_id is not None and record.bulletin_id in automatic
        ref = row_ref(BULLETIN_PREFIX, record.bulletin_id) if record.bulletin_id is not None else ""
        cells = {
            **detail_cells(PORTAL, record, area_ref(unit)),
            "record": MANUAL,
            "kind_label": PORTAL.kinds[record.kind].label if PORTAL.kinds else str(record.kind),
            "kind_code": record.kind.value,
            "date": record.posted_on.isoformat(),
            "quantity": record.count,
            "bulletin_ref": ref,
            "basis": BASIS_DUPLICATE.format(ref=ref) if duplicate else BASIS_MANUAL,
            "counted": 0 if duplicate else 1,
        }
        rows.append((DetailRow(record.id, cells), unit))
    return rows


def _airtime(
    session: Session, facts: Facts, programmes: list[ProgrammeRow], district_of: Callable[[AdminUnit], str]
) -> Airtime:
    ids = {c for c, _ in facts.commune_days}
    units = {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))} if ids else {}
    places = {c: (u.name, district_of(u)) for c, u in units.items()}
    days: list[AirtimeRow] = []
    # By commune name, then day: an integer key (rank of the name, day ordinal) sorts tens of
    # thousands of commune-days much faster than (name, date) tuples, in the same order.
    rank = {name: i for i, name in enumerate(sorted({name for name, _ in places.values()}))}
    order = {c: rank[name] << 24 for c, (name, _) in places.items()}
    sums: dict[int, list[int]] = {}  # commune → scheduled, played, preempted, failed, played_ms
    for (commune_id, day), t in sorted(
        facts.commune_days.items(), key=lambda kv: order[kv[0][0]] + kv[0][1].toordinal()
    ):
        name, district = places[commune_id]
        days.append(
            AirtimeRow(
                commune_id, name, district, day, t.scheduled, t.played, t.preempted, t.failed, t.played_ms
            )
        )
        total = sums.get(commune_id)
        if total is None:
            total = sums[commune_id] = [0, 0, 0, 0, 0]
        total[0] += t.scheduled
        total[1] += t.played
        total[2] += t.preempted
        total[3] += t.failed
        total[4] += t.played_ms
    communes = [AirtimeRow(c, *places[c], None, *total) for c, total in sums.items()]
    return Airtime(tuple(communes), tuple(days), tuple(programmes), facts.receipts)


def scope_of(session: Session, prefixes: Sequence[str]) -> frozenset[int]:
    """Ids of the units under ``prefixes``."""
    return frozenset(session.scalars(select(AdminUnit.id).where(under(AdminUnit.path, prefixes))))


def system_channels(
    session: Session,
    *,
    period: Period,
    prefixes: Sequence[str],
    topic_id: int | None,
    manual_radio: Sequence[tuple[RadioItem, AdminUnit]],
    manual_portal: Sequence[tuple[PortalPost, AdminUnit]],
    group: Callable[[AdminUnit], str],
    district_of: Callable[[AdminUnit], str],
    started: StartedReceipts | None = None,
) -> SystemChannels:
    """``group``: a unit's key at commune level (the manual rule's buckets); ``district_of``: the
    name of a commune's former district, for the broadcast tables; ``started``: the receipt
    aggregate of the area (``scope_of(prefixes)``), if already started."""
    scope = started.scope if started is not None else scope_of(session, prefixes)
    # The portal and the manual register do not depend on receipts: their rows are made while the
    # database sums them.
    portal = _portal_rows(session, period, prefixes, topic_id, manual_portal)
    manual = _manual_radio_rows(manual_radio)
    read: tuple[set[int], BulletinTitles] = (set(), {})

    def meanwhile(scheduled: Facts) -> None:
        nonlocal read
        asked = set(scheduled.bulletins)  # those the schedule names: almost all
        read = (asked, _bulletins(session, asked, prefixes))

    facts, programmes, index = collect_facts(
        session, period=period, scope=set(scope), topic_id=topic_id, started=started, meanwhile=meanwhile
    )
    buckets: set[Bucket] = set()
    radio = _bulletin_rows(session, facts, index, prefixes, topic_id, buckets, group, read)
    programme_pairs, programme_rows = _programme_rows(
        session, facts, programmes, prefixes, topic_id, buckets, group
    )
    radio = programme_pairs + radio + _manual_radio(manual, buckets, group)
    return SystemChannels(radio, portal, _airtime(session, facts, programme_rows, district_of))

"""The radio and portal channels of a report from the system's records (the portal's rows are made
in ``loa.reports.portal``), merged with the manual registers: detail rows (bulletins "TB…",
programmes "CT…", manual entries by their id) whose ``counted`` cell says whether they add to the
figures, and the broadcasts by commune and day. Rules: ``loa.reports.airtime``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.activities.models import PortalPost, RadioItem
from loa.activities.present import detail_cells
from loa.activities.registers import RADIO
from loa.activities.service import area_ref
from loa.areas.models import AdminUnit
from loa.content.catalog import KINDS
from loa.content.models import Bulletin
from loa.reports.airdata import Airtime, AirtimeRow, ProgrammeRow
from loa.reports.airtime import (
    BASIS_PLAYED,
    BULLETIN_PREFIX,
    MANUAL,
    RADIO_KIND_OF_BULLETIN,
    SYSTEM,
    SystemAired,
    Tally,
    aired_basis,
    apply_manual_rule,
    hours_value,
    row_ref,
)
from loa.reports.broadcasts import StartedReceipts, collect_facts
from loa.reports.data import DetailRow
from loa.reports.facts import BulletinIndex, Facts
from loa.reports.portal import portal_rows
from loa.reports.programme_rows import programme_rows_of
from loa.topics.models import Topic
from loa.vocab.dates import vn_date
from loa.vocab.numbers import number_text
from loa.vocab.period import Period

Pair = tuple[DetailRow, AdminUnit]


@dataclass(frozen=True)
class ComparisonAreas:
    """Where the manual rule compares records: ``system(unit)``, every area a system record of the unit
    counts in (its commune group and the territories holding it); ``manual(unit)``, the one area a
    manual entry of the unit is compared in."""

    system: Callable[[AdminUnit], Sequence[str]]
    manual: Callable[[AdminUnit], str]


@dataclass(frozen=True)
class SystemChannels:
    radio: list[Pair]
    portal: list[Pair]
    airtime: Airtime


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
    aired: SystemAired,
    areas: Callable[[AdminUnit], Sequence[str]],
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
    places: dict[int, tuple[Sequence[str], str, str]] = {}  # unit → comparison areas, name, code
    topic_text: dict[frozenset[int], str] = {}
    notes: dict[tuple[date | None, int], str] = {}
    aired_days = aired.days
    for bulletin_id in sorted(b for b in titles if b in facts.bulletins):
        title, unit = titles[bulletin_id]
        kind = index.kinds.get(bulletin_id)
        topic_ids = index.topics.get(bulletin_id, ())
        if kind is None or (topic_id is not None and topic_id not in topic_ids):
            continue
        bf = facts.bulletins[bulletin_id]
        t = bf.tally
        aired_count = t.played
        day = bf.first_played if aired_count else None
        kind_code = RADIO_KIND_OF_BULLETIN[kind]
        place = places.get(id(unit))
        if place is None:
            place = places[id(unit)] = (areas(unit), unit.name, unit.code)
        if day is not None:
            for area in place[0]:  # SystemAired.add, inlined
                by_day = aired_days[(area, kind_code)]
                by_day[day] = by_day.get(day, 0) + 1
        key = frozenset(topic_ids)
        topics = topic_text.get(key)
        if topics is None:
            topics = topic_text[key] = "; ".join(topic_names[t_id] for t_id in sorted(key))
        plan = (bf.first_scheduled, t.scheduled - t.due)
        note = notes.get(plan)
        if note is None:
            note = notes[plan] = _plan_note(*plan)
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
            "counted_quantity": 1 if day else 0,
            "scheduled_airings": bf.scheduled_airings,
            "scheduled": t.scheduled,
            "played": aired_count,
            "extra": t.extra,
            "coverage": f"{aired_count - t.extra}/{t.due}" if t.due else "",
            "not_played": t.preempted + t.failed,
            "hours": hours_value(t.played_ms),
            "basis": BASIS_PLAYED if day else aired_basis(aired_count, t.not_played, bf.scheduled_airings),
            "counted": 1 if day else 0,
            "notes": note,
        }
        rows.append((DetailRow(row_ref(BULLETIN_PREFIX, bulletin_id), cells), unit))
    return rows


def _plan_note(first: date | None, upcoming: int) -> str:
    """What the plan says beside the evidence: from when, and how much is not yet due."""
    parts = [f"Kế hoạch từ ngày {vn_date(first)}"] if first is not None else []
    if upcoming:
        parts.append(f"{number_text(upcoming)} lượt chưa đến giờ phát")
    return "; ".join(parts)


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
        ends_on = getattr(record, "ends_on", None)
        if ends_on is not None:  # a count entry: the notebook's total over a period (a quarter, a year)
            cells["period_start"], cells["period_end"] = record.aired_on.isoformat(), ends_on.isoformat()
        rows.append(DetailRow(record.id, cells))
        units[record.id] = unit
    return rows, units


def _manual_radio(manual: ManualRows, aired: SystemAired, area: Callable[[AdminUnit], str]) -> list[Pair]:
    rows, units = manual
    ruled = apply_manual_rule(rows, aired, lambda r: area(units[r.id]))
    return [(r, units[r.id]) for r in ruled]


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
    sums: dict[int, Tally] = {}
    for (commune_id, day), t in sorted(
        facts.commune_days.items(), key=lambda kv: order[kv[0][0]] + kv[0][1].toordinal()
    ):
        name, district = places[commune_id]
        days.append(
            AirtimeRow(
                commune_id,
                name,
                district,
                day,
                t.scheduled,
                t.played,
                t.preempted,
                t.failed,
                t.played_ms,
                t.due,
                t.extra,
            )
        )
        total = sums.get(commune_id)
        if total is None:
            total = sums[commune_id] = Tally()
        total.add(t)
    communes = [
        AirtimeRow(
            c,
            *places[c],
            None,
            t.scheduled,
            t.played,
            t.preempted,
            t.failed,
            t.played_ms,
            t.due,
            t.extra,
        )
        for c, t in sums.items()
    ]
    return Airtime(
        tuple(communes), tuple(days), tuple(programmes), facts.receipts, facts.now, facts.future_receipts
    )


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
    areas: ComparisonAreas,
    district_of: Callable[[AdminUnit], str],
    now: datetime,
    scope: frozenset[int] | None = None,
    started: StartedReceipts | None = None,
) -> SystemChannels:
    """``areas``: where the manual rule compares a unit's records; ``district_of``: the
    name of a commune's former district, for the broadcast tables; ``now``: the report's moment;
    ``scope``: the units whose clusters' broadcasts are the area's (default: all under
    ``prefixes``); ``started``: the receipt aggregate of that scope, if already started."""
    if scope is None:
        scope = started.scope if started is not None else scope_of(session, prefixes)
    # The portal and the manual register do not depend on receipts: their rows are made while the
    # database sums them.
    portal = portal_rows(session, period, prefixes, topic_id, manual_portal)
    manual = _manual_radio_rows(manual_radio)
    read: tuple[set[int], BulletinTitles] = (set(), {})

    def meanwhile(scheduled: Facts) -> None:
        nonlocal read
        asked = set(scheduled.bulletins)  # those the schedule names: almost all
        read = (asked, _bulletins(session, asked, prefixes))

    facts, programmes, index = collect_facts(
        session,
        period=period,
        scope=set(scope),
        topic_id=topic_id,
        now=now,
        started=started,
        meanwhile=meanwhile,
    )
    aired = SystemAired()
    radio = _bulletin_rows(session, facts, index, prefixes, topic_id, aired, areas.system, read)
    programme_pairs, programme_rows = programme_rows_of(
        session, facts, programmes, prefixes, topic_id, aired, areas.system, index.kinds
    )
    radio = programme_pairs + radio + _manual_radio(manual, aired, areas.manual)
    return SystemChannels(radio, portal, _airtime(session, facts, programme_rows, district_of))

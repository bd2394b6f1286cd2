"""Figures by period, topic, channel and area, each with the ids of the records behind it.

Areas follow the two-tier structure (province → commune) and, for periods before the 2025 reform, the
former districts; every record belongs to exactly one area and is counted once at every level
(``loa.reports.lineage``): a report on a new commune counts its own records and those of the old
communes that became it alone, and shows a former unit's records (its former district's own, an old
commune split in several) apart; a report on a former district counts its own records and those of
the new communes that came out of it, once each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, visible_unit
from loa.activities.present import detail_cells, report_columns
from loa.activities.registers import PORTAL as PORTAL_REGISTER
from loa.activities.registers import RADIO as RADIO_REGISTER
from loa.activities.registers import REGISTERS, AnyRecord, AreaRef, RegisterSpec
from loa.activities.service import area_ref
from loa.reports.airdata import Airtime, AirtimeRow, sum_rows
from loa.reports.airtime import (
    MANUAL,
    PORTAL_COLUMNS,
    PORTAL_KINDS,
    RADIO_COLUMNS,
    RADIO_KINDS,
    figures_from_rows,
)
from loa.reports.broadcasts import start_receipts
from loa.reports.data import ChannelSection, DetailRow, Figure, FormerArea
from loa.reports.feedback_section import feedback_section
from loa.reports.lineage import (
    Chains,
    Ownership,
    Territories,
    area_prefixes,
    group_of,
    lineage,
    manual_area,
    owned_scope,
)
from loa.reports.parts import FormerPart, Records, split_records, split_system, with_former
from loa.reports.radio import ComparisonAreas, Pair, SystemChannels, system_channels
from loa.reports.records import fetch_records
from loa.reports.wording import CHANNEL_TITLES, EVENTS, MOBILE
from loa.topics.service import get_topic
from loa.units.models import AdminUnit
from loa.vocab.period import Period

CHANNEL_ORDER = ("radio", "portal", "press", "visual", "mobile", "events")
Level = Literal["commune", "former_district"]
__all__ = ["area_prefixes", "gather", "groups_of", "sections_of"]


def resolve_root(session: Session, principal: Principal, area_id: int) -> AdminUnit:
    return visible_unit(session, principal, area_id=area_id)


def channel_figures(spec: RegisterSpec, records: Sequence[AnyRecord]) -> tuple[Figure, ...]:
    """The figures of one register over ``records`` (all kinds, zeros included)."""
    channel = spec.channel
    if channel == MOBILE:
        villages: set[object] = set()
        for r in records:
            villages.update(s.area_id or s.name.casefold() for s in getattr(r, "stops", []))
        return (
            _sum_figure(f"{channel}.trip", "Lượt xe", "lượt", records, spec.quantity_field),
            Figure(
                f"{channel}.village",
                "Thôn, tổ dân phố đến",
                len(villages),
                "thôn, tổ dân phố",
                tuple(r.id for r in records if getattr(r, "stops", None)),
            ),
            _sum_figure(
                f"{channel}.audience", "Người nghe (ước tính)", "lượt người", records, "audience_estimate"
            ),
        )
    figures: list[Figure] = []
    assert spec.kinds is not None
    for kind, info in spec.kinds.items():
        rows = [r for r in records if getattr(r, "kind", None) == kind]
        figures.append(
            _sum_figure(f"{channel}.{kind.value}", info.label, info.unit, rows, spec.quantity_field)
        )
    if channel == EVENTS:
        figures.append(
            _sum_figure(f"{channel}.participants", "Người tham dự", "lượt người", records, "participants")
        )
    return tuple(figures)


def _sum_figure(key: str, label: str, unit: str, rows: Sequence[AnyRecord], attr: str | None) -> Figure:
    if attr is None:
        return Figure(key, label, len(rows), unit, tuple(r.id for r in rows))
    counted = [r for r in rows if getattr(r, attr, None) is not None]
    return Figure(key, label, sum(int(getattr(r, attr)) for r in counted), unit, tuple(r.id for r in counted))


SYSTEM_CHANNELS = frozenset({"radio", "portal"})  # figures from bulletins and receipts + manual entries
SYSTEM_KINDS = {"radio": RADIO_KINDS, "portal": PORTAL_KINDS}
SYSTEM_COLUMNS = {"radio": RADIO_COLUMNS, "portal": PORTAL_COLUMNS}


@dataclass(frozen=True)
class Gathered:
    """Everything counted for one area, period and topic: register records of the other channels,
    radio and portal rows (system and manual), and broadcasts, all the area's own; and the records
    of former units shown apart. Sections and splits are views of it."""

    root: AdminUnit
    records: Records
    system: SystemChannels
    # Sections of the register-only channels, made while the database summed the receipts.
    register_sections: dict[str, ChannelSection] = field(default_factory=dict)
    former: tuple[FormerPart, ...] = ()
    # Sections that are no register's channel (citizens' feedback); shown when they count something.
    extra: tuple[ChannelSection, ...] = ()


def gather(
    session: Session,
    *,
    principal: Principal,
    period: Period,
    area_id: int,
    topic_code: str | None = None,
    now: datetime | None = None,
) -> Gathered:
    """``now``: the moment the figures are taken (default: now); evidence after it does not count."""
    require(principal, Permission.VIEW)
    moment = now or datetime.now(UTC)
    root = resolve_root(session, principal, area_id)
    prefixes = area_prefixes(session, root)
    successors, predecessors = lineage(session)
    chains = Chains(session)
    ownership = Ownership(session, root, chains, successors)
    scope = owned_scope(session, ownership, prefixes)
    # The database sums the play receipts (its longest work) while the rest is read and counted.
    started = start_receipts(session, period=period, scope=set(scope), now=moment)
    fetched = {spec.key: fetch_records(session, spec, period, prefixes, topic_code) for spec in _specs()}
    chains.warm(prefixes)
    records, former_records = split_records(fetched, ownership)
    register_sections = {
        spec.key: _register_section(spec, records[spec.key])
        for spec in _specs()
        if spec.channel not in SYSTEM_CHANNELS
    }
    topic_id = get_topic(session, topic_code).id if topic_code else None

    keys: dict[int, str] = {}
    districts: dict[int, str] = {}
    territories = Territories(chains, predecessors)
    system_areas: dict[int, tuple[str, ...]] = {}

    def commune_key(unit: AdminUnit) -> str:
        if unit.id not in keys:
            keys[unit.id] = group_of(unit, chains, successors, "commune")[0]
        return keys[unit.id]

    def areas_of(unit: AdminUnit) -> tuple[str, ...]:
        if unit.id not in system_areas:
            system_areas[unit.id] = (commune_key(unit), *sorted(territories.of(unit)))
        return system_areas[unit.id]

    def district_name(unit: AdminUnit) -> str:
        if unit.id not in districts:
            key, label, _ = group_of(unit, chains, successors, "former_district")
            districts[unit.id] = "" if key == "none" else label
        return districts[unit.id]

    system = system_channels(
        session,
        period=period,
        prefixes=prefixes,
        topic_id=topic_id,
        manual_radio=with_former(records, former_records, RADIO_REGISTER.key),
        manual_portal=with_former(records, former_records, PORTAL_REGISTER.key),
        areas=ComparisonAreas(areas_of, lambda unit: manual_area(commune_key(unit))),
        district_of=district_name,
        now=moment,
        scope=scope,
        started=started,
    )
    own_system, former = split_system(system, ownership, former_records)
    extra = (feedback_section(session, period=period, prefixes=prefixes, topic_id=topic_id),)
    return Gathered(root, records, own_system, register_sections, former, extra)


def _system_pairs(g: Gathered, channel: str) -> list[tuple[DetailRow, AdminUnit]]:
    return g.system.radio if channel == "radio" else g.system.portal


def _sections(
    records: Records,
    radio: Sequence[Pair],
    portal: Sequence[Pair],
    made: dict[str, ChannelSection] | None = None,
) -> tuple[ChannelSection, ...]:
    """``made``: register sections already made."""
    sections = []
    for spec in _specs():
        if spec.channel in SYSTEM_CHANNELS:
            rows = tuple(r for r, _ in (radio if spec.channel == "radio" else portal))
            figures = figures_from_rows(spec.channel, SYSTEM_KINDS[spec.channel], rows)
            columns = SYSTEM_COLUMNS[spec.channel]
            sections.append(
                ChannelSection(spec.channel, CHANNEL_TITLES[spec.channel], figures, columns, rows)
            )
        else:
            done = (made or {}).get(spec.key)
            sections.append(done if done is not None else _register_section(spec, records.get(spec.key, [])))
    return tuple(sections)


def sections_of(g: Gathered) -> tuple[ChannelSection, ...]:
    """The area's own figures, channel by channel (and citizens' feedback, when there was some)."""
    own = _sections(g.records, g.system.radio, g.system.portal, g.register_sections)
    return own + tuple(s for s in g.extra if not s.is_empty)


def former_areas(g: Gathered) -> tuple[FormerArea, ...]:
    """The former units' records of a commune's report, each as its own set of channel sections."""
    return tuple(
        FormerArea(p.unit.name, p.unit.became, _sections(p.records, p.radio, p.portal)) for p in g.former
    )


def _register_section(spec: RegisterSpec, pairs: Sequence[tuple[AnyRecord, AdminUnit]]) -> ChannelSection:
    """The section of a channel counted from its register alone."""
    rows = tuple(DetailRow(r.id, detail_cells(spec, r, area_ref(u))) for r, u in pairs)
    figures = tuple(replace(f, source=MANUAL) for f in channel_figures(spec, [r for r, _ in pairs]))
    return ChannelSection(spec.channel, CHANNEL_TITLES[spec.channel], figures, report_columns(spec), rows)


def collect_channels(
    session: Session,
    *,
    principal: Principal,
    period: Period,
    area_id: int,
    topic_code: str | None = None,
    now: datetime | None = None,
) -> tuple[AreaRef, tuple[ChannelSection, ...]]:
    """Every channel's figures and detail rows for one area, period and (optional) topic."""
    g = gather(session, principal=principal, period=period, area_id=area_id, topic_code=topic_code, now=now)
    return area_ref(g.root), sections_of(g)


def _specs() -> list[RegisterSpec]:
    by_channel = {s.channel: s for s in REGISTERS.values()}
    return [by_channel[c] for c in CHANNEL_ORDER]


# --- rollups ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaGroup:
    key: str
    label: str
    area_id: int | None
    figures: tuple[Figure, ...]

    def value(self, key: str) -> int:
        return next((f.value for f in self.figures if f.key == key), 0)


def breakdown(
    session: Session,
    *,
    principal: Principal,
    period: Period,
    area_id: int,
    level: Level,
    topic_code: str | None = None,
    now: datetime | None = None,
) -> list[AreaGroup]:
    g = gather(session, principal=principal, period=period, area_id=area_id, topic_code=topic_code, now=now)
    return groups_of(session, g, level)


def groups_of(session: Session, g: Gathered, level: Level) -> list[AreaGroup]:
    """Figures of the area split by today's communes or by former districts. Records filed under an
    old commune count for its successor; a commune split in several goes to a group that says so."""
    successors, _ = lineage(session)
    chains = Chains(session)
    grouped: dict[str, tuple[str, int | None, dict[str, list[Any]]]] = {}
    groups_by_unit: dict[int, tuple[str, str, int | None]] = {}
    for spec in _specs():
        pairs: Sequence[tuple[Any, AdminUnit]] = (
            _system_pairs(g, spec.channel) if spec.channel in SYSTEM_CHANNELS else g.records[spec.key]
        )
        for item, unit in pairs:
            if unit.id not in groups_by_unit:
                groups_by_unit[unit.id] = group_of(unit, chains, successors, level)
            key, label, group_id = groups_by_unit[unit.id]
            entry = grouped.setdefault(key, (label, group_id, {}))
            entry[2].setdefault(spec.key, []).append(item)
    groups = []
    for key, (label, group_id, by_register) in grouped.items():
        figures: list[Figure] = []
        for spec in _specs():
            items = by_register.get(spec.key, [])
            if spec.channel in SYSTEM_CHANNELS:
                figures.extend(figures_from_rows(spec.channel, SYSTEM_KINDS[spec.channel], items))
            else:
                figures.extend(channel_figures(spec, items))
        groups.append(AreaGroup(key, label, group_id, tuple(figures)))
    return sorted(groups, key=lambda g: (g.area_id is None, g.label))


def group_key(session: Session, unit: AdminUnit, level: Level) -> tuple[str, str, int | None]:
    """The group of ``unit`` in a split (key, label, group unit id)."""
    successors, _ = lineage(session)
    return group_of(unit, Chains(session), successors, level)


def totals(groups: Iterable[AreaGroup], key: str) -> int:
    return sum(g.value(key) for g in groups)


@dataclass(frozen=True)
class BroadcastGroup:
    key: str
    label: str
    area_id: int | None
    total: AirtimeRow
    commune_ids: tuple[int, ...]


def broadcast_groups(session: Session, airtime: Airtime, level: Level) -> list[BroadcastGroup]:
    """Broadcasts by commune summed by today's communes or by former districts (same groups as the
    split of the other figures)."""
    successors, _ = lineage(session)
    chains = Chains(session)
    grouped: dict[str, tuple[str, int | None, list[AirtimeRow]]] = {}
    for row in airtime.communes:
        unit = chains.get(row.commune_id) if row.commune_id is not None else None
        if unit is None:
            continue
        key, label, group_id = group_of(unit, chains, successors, level)
        grouped.setdefault(key, (label, group_id, []))[2].append(row)
    return sorted(
        (
            BroadcastGroup(
                key,
                label,
                group_id,
                sum_rows(rows, label=label),
                tuple(r.commune_id for r in rows if r.commune_id is not None),
            )
            for key, (label, group_id, rows) in grouped.items()
        ),
        key=lambda g: (g.area_id is None, g.label),
    )

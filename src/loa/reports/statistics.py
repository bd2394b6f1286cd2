"""Figures by period, topic, channel and area, each with the ids of the records behind it.

Areas follow the two-tier structure (province → commune) and, for periods before the 2025 reform, the
former districts: a report on a new commune also counts records filed under the old communes it
succeeded (``AreaLineage``), and a report on a former district also counts records filed under the new
communes whose ``former_district_id`` points at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, under, visible_unit
from loa.activities.present import detail_cells, report_columns
from loa.activities.registers import PORTAL as PORTAL_REGISTER
from loa.activities.registers import RADIO as RADIO_REGISTER
from loa.activities.registers import REGISTERS, AnyRecord, AreaRef, RegisterSpec
from loa.activities.service import area_ref
from loa.areas.models import AdminUnit, AreaLineage, UnitKind
from loa.reports.airtime import (
    MANUAL,
    PORTAL_COLUMNS,
    PORTAL_KINDS,
    RADIO_COLUMNS,
    RADIO_KINDS,
    figures_from_rows,
)
from loa.reports.broadcasts import start_receipts
from loa.reports.data import Airtime, AirtimeRow, ChannelSection, DetailRow, Figure, sum_rows
from loa.reports.radio import SystemChannels, scope_of, system_channels
from loa.reports.records import fetch_records
from loa.reports.wording import CHANNEL_TITLES, EVENTS, MOBILE
from loa.topics.service import get_topic
from loa.vocab.period import Period

CHANNEL_ORDER = ("radio", "portal", "press", "visual", "mobile", "events")
COMMUNE_KINDS = frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE})
_BELOW_COMMUNE = (UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)
Level = Literal["commune", "former_district"]


def resolve_root(session: Session, principal: Principal, area_id: int) -> AdminUnit:
    return visible_unit(session, principal, area_id=area_id)


def _lineage(session: Session) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    successors: dict[int, list[int]] = {}
    predecessors: dict[int, list[int]] = {}
    for link in session.scalars(select(AreaLineage)):
        successors.setdefault(link.predecessor_id, []).append(link.successor_id)
        predecessors.setdefault(link.successor_id, []).append(link.predecessor_id)
    return successors, predecessors


def _closure(start: int, edges: dict[int, list[int]]) -> set[int]:
    seen: set[int] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def area_prefixes(session: Session, root: AdminUnit) -> list[str]:
    """Path prefixes whose records belong to ``root``: its subtree, the subtrees of the units it
    succeeded, and (for a former district) the new communes that came out of it."""
    _, predecessors = _lineage(session)
    ids = _closure(root.id, predecessors)
    units = list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))) if ids else []
    if root.kind is UnitKind.DISTRICT:
        units += list(session.scalars(select(AdminUnit).where(AdminUnit.former_district_id == root.id)))
    prefixes = sorted({root.path, *(u.path for u in units)})
    # Drop prefixes already covered by a shorter one.
    return [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]


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
    radio and portal rows (system and manual), and broadcasts. Sections and splits are views of it."""

    root: AdminUnit
    records: dict[str, list[tuple[AnyRecord, AdminUnit]]]  # register key → records with their unit
    system: SystemChannels
    # Sections of the register-only channels, made while the database summed the receipts.
    register_sections: dict[str, ChannelSection] = field(default_factory=dict)


def gather(
    session: Session,
    *,
    principal: Principal,
    period: Period,
    area_id: int,
    topic_code: str | None = None,
) -> Gathered:
    require(principal, Permission.VIEW)
    root = resolve_root(session, principal, area_id)
    prefixes = area_prefixes(session, root)
    # The database sums the play receipts (its longest work) while the rest is read and counted.
    started = start_receipts(session, period=period, scope=set(scope_of(session, prefixes)))
    records = {spec.key: fetch_records(session, spec, period, prefixes, topic_code) for spec in _specs()}
    register_sections = {
        spec.key: _register_section(spec, records[spec.key])
        for spec in _specs()
        if spec.channel not in SYSTEM_CHANNELS
    }
    topic_id = get_topic(session, topic_code).id if topic_code else None
    successors, _ = _lineage(session)
    chains = _Chains(session)
    chains.warm(prefixes)

    keys: dict[int, str] = {}
    districts: dict[int, str] = {}

    def commune_key(unit: AdminUnit) -> str:
        if unit.id not in keys:
            keys[unit.id] = _group_of(unit, chains, successors, "commune")[0]
        return keys[unit.id]

    def district_name(unit: AdminUnit) -> str:
        if unit.id not in districts:
            key, label, _ = _group_of(unit, chains, successors, "former_district")
            districts[unit.id] = "" if key == "none" else label
        return districts[unit.id]

    system = system_channels(
        session,
        period=period,
        prefixes=prefixes,
        topic_id=topic_id,
        manual_radio=records.pop(RADIO_REGISTER.key),  # type: ignore[arg-type]
        manual_portal=records.pop(PORTAL_REGISTER.key),  # type: ignore[arg-type]
        group=commune_key,
        district_of=district_name,
        started=started,
    )
    return Gathered(root, records, system, register_sections)


def _system_pairs(g: Gathered, channel: str) -> list[tuple[DetailRow, AdminUnit]]:
    return g.system.radio if channel == "radio" else g.system.portal


def sections_of(g: Gathered) -> tuple[ChannelSection, ...]:
    sections = []
    for spec in _specs():
        if spec.channel in SYSTEM_CHANNELS:
            rows = tuple(r for r, _ in _system_pairs(g, spec.channel))
            figures = figures_from_rows(spec.channel, SYSTEM_KINDS[spec.channel], rows)
            columns = SYSTEM_COLUMNS[spec.channel]
            sections.append(
                ChannelSection(spec.channel, CHANNEL_TITLES[spec.channel], figures, columns, rows)
            )
        else:
            made = g.register_sections.get(spec.key)
            sections.append(made if made is not None else _register_section(spec, g.records[spec.key]))
    return tuple(sections)


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
) -> tuple[AreaRef, tuple[ChannelSection, ...]]:
    """Every channel's figures and detail rows for one area, period and (optional) topic."""
    g = gather(session, principal=principal, period=period, area_id=area_id, topic_code=topic_code)
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
) -> list[AreaGroup]:
    g = gather(session, principal=principal, period=period, area_id=area_id, topic_code=topic_code)
    return groups_of(session, g, level)


def groups_of(session: Session, g: Gathered, level: Level) -> list[AreaGroup]:
    """Figures of the area split by today's communes or by former districts. Records filed under an
    old commune count for its successor; a commune split in several goes to a group that says so."""
    successors, _ = _lineage(session)
    chains = _Chains(session)
    grouped: dict[str, tuple[str, int | None, dict[str, list[Any]]]] = {}
    group_of: dict[int, tuple[str, str, int | None]] = {}
    for spec in _specs():
        pairs: Sequence[tuple[Any, AdminUnit]] = (
            _system_pairs(g, spec.channel) if spec.channel in SYSTEM_CHANNELS else g.records[spec.key]
        )
        for item, unit in pairs:
            if unit.id not in group_of:
                group_of[unit.id] = _group_of(unit, chains, successors, level)
            key, label, group_id = group_of[unit.id]
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
    successors, _ = _lineage(session)
    return _group_of(unit, _Chains(session), successors, level)


class _Chains:
    """Units by code, loaded once, to walk a record's path upwards without a query per record."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_code: dict[str, AdminUnit] = {}
        self.by_id: dict[int, AdminUnit] = {}

    def warm(self, prefixes: Sequence[str]) -> None:
        """Load in one query the units above villages under ``prefixes`` and those the prefixes go
        through: the chains of a province's records, without a query per commune."""
        codes = {c for p in prefixes for c in p.strip("/").split("/") if c}
        for u in self.session.scalars(
            select(AdminUnit).where(
                or_(
                    AdminUnit.code.in_(codes),
                    and_(under(AdminUnit.path, prefixes), AdminUnit.kind.not_in(_BELOW_COMMUNE)),
                )
            )
        ):
            self.by_code[u.code], self.by_id[u.id] = u, u

    def chain(self, unit: AdminUnit) -> list[AdminUnit]:
        codes = [c for c in unit.path.strip("/").split("/") if c]
        missing = [c for c in codes if c not in self.by_code]
        if missing:
            for u in self.session.scalars(select(AdminUnit).where(AdminUnit.code.in_(missing))):
                self.by_code[u.code], self.by_id[u.id] = u, u
        return [self.by_code[c] for c in codes if c in self.by_code]

    def get(self, unit_id: int) -> AdminUnit | None:
        if unit_id not in self.by_id:
            unit = self.session.get(AdminUnit, unit_id)
            if unit is None:
                return None
            self.by_id[unit_id], self.by_code[unit.code] = unit, unit
        return self.by_id[unit_id]


def _group_of(
    unit: AdminUnit, chains: _Chains, successors: dict[int, list[int]], level: Level
) -> tuple[str, str, int | None]:
    chain = chains.chain(unit)
    commune = next((u for u in chain if u.kind in COMMUNE_KINDS), None)
    if level == "former_district":
        district = next((u for u in chain if u.kind is UnitKind.DISTRICT), None)
        if district is None and commune is not None and commune.former_district_id is not None:
            district = chains.get(commune.former_district_id)
        if district is None:
            return "none", "Không thuộc huyện cũ nào", None
        return f"unit:{district.id}", district.name, district.id
    if commune is None:
        top = chain[-1] if chain else unit
        return f"above:{top.id}", f"{top.name} (cấp trên xã)", None
    current = _current_units(commune.id, successors)
    if len(current) == 1:
        target = chains.get(next(iter(current)))
        if target is not None:
            return f"unit:{target.id}", target.name, target.id
    names = sorted(u.name for u in (chains.get(i) for i in current) if u is not None)
    return f"split:{commune.id}", f"{commune.name} (đã chia tách: {', '.join(names)})", None


def _current_units(unit_id: int, successors: dict[int, list[int]]) -> set[int]:
    """The unit itself when it has no successor, else its latest successors (following merges)."""
    current: set[int] = set()
    todo, seen = [unit_id], {unit_id}
    while todo:
        u = todo.pop()
        nxt = successors.get(u, [])
        if not nxt:
            current.add(u)
        for n in nxt:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return current


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
    successors, _ = _lineage(session)
    chains = _Chains(session)
    grouped: dict[str, tuple[str, int | None, list[AirtimeRow]]] = {}
    for row in airtime.communes:
        unit = chains.get(row.commune_id) if row.commune_id is not None else None
        if unit is None:
            continue
        key, label, group_id = _group_of(unit, chains, successors, level)
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

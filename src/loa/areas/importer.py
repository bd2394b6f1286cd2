"""Load the official units (and optionally former districts with their lineage) into the database.

Idempotent: units are matched by official code; a second run changes nothing and says so. Rows are
written in bulk (a whole country is ~3,400 units, ~4,400 more with history). Units that disappeared
from the source are counted, never deleted: users, stations and history may point at them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from loa.areas import sources
from loa.areas.logic import (
    DISTRICTS_VALID_TO,
    PROVINCE_KINDS,
    REFORM_EFFECTIVE_ON,
    VILLAGE_KINDS,
    fold,
)
from loa.units.models import AdminUnit, AreaLineage, LineageChange, UnitKind
from loa.units.paths import make_path
from loa.vocab.numbers import number_text

_NOTE_LIMIT = 500


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Tally) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass
class ImportReport:
    source: str = ""
    by_kind: Counter[UnitKind] = field(default_factory=Counter)
    units: Tally = field(default_factory=Tally)
    districts: Tally = field(default_factory=Tally)
    lineage: Tally = field(default_factory=Tally)
    former_district_set: int = 0  # communes whose former district was set or changed
    history_source: str = ""
    not_in_source: list[str] = field(default_factory=list)  # codes in the DB but no longer in the source
    unmatched: list[str] = field(default_factory=list)  # history entries that could not be matched

    @property
    def provinces(self) -> int:
        return sum(self.by_kind[k] for k in PROVINCE_KINDS)

    @property
    def communes(self) -> int:
        return (
            self.by_kind[UnitKind.COMMUNE] + self.by_kind[UnitKind.WARD] + self.by_kind[UnitKind.SPECIAL_ZONE]
        )

    def lines(self) -> list[str]:
        """A summary for people, in Vietnamese."""
        k = self.by_kind
        out = [
            f"{_n(self.provinces)} tỉnh/thành phố, {_n(self.communes)} xã/phường/đặc khu "
            f"({_n(k[UnitKind.COMMUNE])} xã, {_n(k[UnitKind.WARD])} phường, "
            f"{_n(k[UnitKind.SPECIAL_ZONE])} đặc khu); tạo mới {_n(self.units.created)}, "
            f"cập nhật {_n(self.units.updated)}, không đổi {_n(self.units.unchanged)}.",
            f"Nguồn: {self.source}.",
        ]
        if self.history_source:
            d, g = self.districts, self.lineage
            out.append(
                f"Quận/huyện cũ: {_n(d.created + d.updated + d.unchanged)} (tạo mới {_n(d.created)}, "
                f"cập nhật {_n(d.updated)}, không đổi {_n(d.unchanged)}); quan hệ kế thừa: "
                f"tạo mới {_n(g.created)}, cập nhật {_n(g.updated)}, không đổi {_n(g.unchanged)}; "
                f"gắn quận/huyện cũ cho {_n(self.former_district_set)} xã/phường. "
                f"Nguồn: {self.history_source}."
            )
        if self.not_in_source:
            out.append(
                f"Cảnh báo: {_n(len(self.not_in_source))} địa bàn không còn trong nguồn dữ liệu "
                f"(giữ nguyên, không xóa): {', '.join(self.not_in_source[:10])}."
            )
        if self.unmatched:
            out.append(f"Cảnh báo: {_n(len(self.unmatched))} mục lịch sử không đối chiếu được.")
        return out


def _n(value: int) -> str:
    """Vietnamese thousands separator: 3321 → "3.321"."""
    return number_text(value)


_FIELDS = (
    "kind",
    "name",
    "name_folded",
    "parent_id",
    "path",
    "valid_from",
    "valid_to",
    "former_province_name",
)


def _sync_units(
    session: Session, desired: list[dict[str, Any]], existing: dict[str, dict[str, Any]]
) -> Tally:
    """Insert new units and update changed ones, matched by code; paths of moved units' descendants
    (e.g. villages) follow."""
    tally = Tally()
    to_insert: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    moved: list[tuple[str, str]] = []
    for row in desired:
        old = existing.get(row["code"])
        if old is None:
            to_insert.append(row)
            continue
        changes = {f: row[f] for f in _FIELDS if f in row and row[f] != old[f]}
        if changes:
            to_update.append({"id": old["id"], **changes})
            if "path" in changes:
                moved.append((old["path"], row["path"]))
        else:
            tally.unchanged += 1
    if to_insert:
        session.execute(insert(AdminUnit), to_insert)
    if to_update:
        session.execute(update(AdminUnit), to_update)
    for old_path, new_path in moved:
        session.execute(
            update(AdminUnit)
            .where(AdminUnit.path.startswith(old_path, autoescape=True), AdminUnit.path != new_path)
            .values(path=new_path + func.substr(AdminUnit.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )
    tally.created, tally.updated = len(to_insert), len(to_update)
    return tally


def _existing(session: Session, kinds: frozenset[UnitKind]) -> dict[str, dict[str, Any]]:
    cols = [
        AdminUnit.id,
        AdminUnit.code,
        AdminUnit.former_district_id,
        *(getattr(AdminUnit, f) for f in _FIELDS),
    ]
    rows = session.execute(select(*cols).where(AdminUnit.kind.in_(kinds))).mappings()
    return {r["code"]: dict(r) for r in rows}


def _ids(session: Session, kinds: frozenset[UnitKind]) -> dict[str, tuple[int, str]]:
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.id, AdminUnit.path).where(AdminUnit.kind.in_(kinds))
    )
    return {code: (unit_id, path) for code, unit_id, path in rows}


_CURRENT_KINDS = frozenset(UnitKind) - VILLAGE_KINDS - {UnitKind.DISTRICT}
_COMMUNE_KINDS = frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE})


def import_units(session: Session, *, with_history: bool = False) -> ImportReport:
    """Create or update every province and commune-level unit (and, with ``with_history``, the
    former districts, each commune's former district and the district → commune lineage)."""
    units, source = sources.current_units()
    report = ImportReport(source=source)
    report.by_kind.update(u.kind for u in units)
    existing = _existing(session, _CURRENT_KINDS)

    def row(unit: sources.SourceUnit, parent: tuple[int, str] | None) -> dict[str, Any]:
        return {
            "code": unit.code,
            "kind": unit.kind,
            "name": unit.name,
            "name_folded": fold(unit.name),
            "parent_id": parent[0] if parent else None,
            "path": make_path(parent[1] if parent else None, unit.code),
            "valid_from": REFORM_EFFECTIVE_ON,
            "valid_to": None,
        }

    provinces = [u for u in units if u.parent_code is None]
    report.units.add(_sync_units(session, [row(u, None) for u in provinces], existing))
    province_ids = _ids(session, PROVINCE_KINDS)
    communes = [u for u in units if u.parent_code is not None]
    desired = [row(u, province_ids[u.parent_code or ""]) for u in communes]
    report.units.add(_sync_units(session, desired, existing))
    source_codes = {u.code for u in units}
    report.not_in_source = sorted(
        code for code, old in existing.items() if code not in source_codes and old["valid_to"] is None
    )
    if with_history:
        _import_history(session, units, province_ids, report)
    session.flush()
    return report


def _import_history(
    session: Session,
    units: list[sources.SourceUnit],
    province_ids: dict[str, tuple[int, str]],
    report: ImportReport,
) -> None:
    hist = sources.history(units)
    report.history_source = hist.source
    report.unmatched = hist.unmatched
    district_kinds = frozenset({UnitKind.DISTRICT})
    desired = [
        {
            "code": d.code,
            "kind": UnitKind.DISTRICT,
            "name": d.name,
            "name_folded": fold(d.name),
            "parent_id": province_ids[d.province_code][0],
            "path": make_path(province_ids[d.province_code][1], d.code),
            "valid_from": None,
            "valid_to": DISTRICTS_VALID_TO,
            "former_province_name": d.former_province_name,
        }
        for d in hist.districts
    ]
    report.districts = _sync_units(session, desired, _existing(session, district_kinds))
    district_ids = {code: ids[0] for code, ids in _ids(session, district_kinds).items()}
    communes = _existing(session, _COMMUNE_KINDS)

    former_updates = []
    for code, unit in communes.items():
        district_code = hist.former_district_of.get(code)
        wanted = district_ids.get(district_code) if district_code else None
        if wanted is not None and unit["former_district_id"] != wanted:
            former_updates.append({"id": unit["id"], "former_district_id": wanted})
    if former_updates:
        session.execute(update(AdminUnit), former_updates)
    report.former_district_set = len(former_updates)

    existing_links = {
        (p, s): (lid, note)
        for lid, p, s, note in session.execute(
            select(AreaLineage.id, AreaLineage.predecessor_id, AreaLineage.successor_id, AreaLineage.note)
        )
    }
    to_insert: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    tally = Tally()
    for link in hist.links:
        pred = district_ids[link.district_code]
        succ = communes[link.commune_code]["id"]
        note = _note(link.old_units)
        found = existing_links.get((pred, succ))
        if found is None:
            to_insert.append(
                {
                    "predecessor_id": pred,
                    "successor_id": succ,
                    "change": LineageChange.REGROUP,
                    "effective_on": REFORM_EFFECTIVE_ON,
                    "note": note,
                }
            )
        elif found[1] != note:
            to_update.append({"id": found[0], "note": note})
        else:
            tally.unchanged += 1
    if to_insert:
        session.execute(insert(AreaLineage), to_insert)
    if to_update:
        session.execute(update(AreaLineage), to_update)
    tally.created, tally.updated = len(to_insert), len(to_update)
    report.lineage = tally


def _note(old_units: tuple[str, ...]) -> str:
    text = ", ".join(old_units)
    return text if len(text) <= _NOTE_LIMIT else text[: _NOTE_LIMIT - 1] + "…"

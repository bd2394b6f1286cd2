"""Which area a record belongs to, across the 2025 reform: each record belongs to exactly one area
and every roll-up adds it once.

A record is filed under a unit. Its *group* at commune level is today's commune that unit became
(following ``AreaLineage``); a unit above communes (a former district, a province) is its own group;
an old commune split in several is a group of its own that names its successors. A report on:

- a province or a former district counts every record under it once (its own, its old communes',
  and, for a former district, the new communes that came out of it: ``former_district_id``);
- a commune counts its own records: those filed under it, and under the old communes (and their
  villages) that became it and nothing else. The records of a *former unit* it came out of with
  others — a former district's own, an old commune split in several — are shown apart, as that
  unit's (naming the communes it became), never added to the commune's figures. Records of the
  other successors of those units are not the commune's at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.areas.logic import COMMUNE_KINDS, VILLAGE_KINDS
from loa.reports.wording import join_vn
from loa.units.models import AdminUnit, AreaLineage, UnitKind

Level = str  # "commune" | "former_district" (``loa.reports.statistics.Level``)
Edges = dict[int, list[int]]


def lineage(session: Session) -> tuple[Edges, Edges]:
    """(successors, predecessors) of every unit."""
    successors: Edges = {}
    predecessors: Edges = {}
    for predecessor_id, successor_id in session.execute(
        select(AreaLineage.predecessor_id, AreaLineage.successor_id)
    ).all():
        successors.setdefault(predecessor_id, []).append(successor_id)
        predecessors.setdefault(successor_id, []).append(predecessor_id)
    return successors, predecessors


def closure(start: int, edges: Edges) -> set[int]:
    seen: set[int] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def current_units(unit_id: int, successors: Edges) -> set[int]:
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


def _is_commune_root(root: AdminUnit) -> bool:
    return root.kind in COMMUNE_KINDS


def _former_district(session: Session, root: AdminUnit) -> AdminUnit | None:
    if not _is_commune_root(root) or root.former_district_id is None:
        return None
    return session.get(AdminUnit, root.former_district_id)


def area_prefixes(session: Session, root: AdminUnit) -> list[str]:
    """Path prefixes under which the records a report on ``root`` shows are filed: its subtree, the
    subtrees of the units it succeeded (and of its former district), and, for a former district, the
    new communes that came out of it. A commune's report then keeps only what is its own or a former
    unit's (``Ownership``)."""
    _, predecessors = lineage(session)
    ids = closure(root.id, predecessors)
    units = list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))) if ids else []
    if root.kind is UnitKind.DISTRICT:
        units += list(session.scalars(select(AdminUnit).where(AdminUnit.former_district_id == root.id)))
    district = _former_district(session, root)
    if district is not None:
        units.append(district)
    prefixes = sorted({root.path, *(u.path for u in units)})
    # Drop prefixes already covered by a shorter one.
    return [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]


class Chains:
    """Units by code, loaded once, to walk a record's path upwards without a query per record."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_code: dict[str, AdminUnit] = {}
        self.by_id: dict[int, AdminUnit] = {}

    def warm(self, prefixes: Sequence[str]) -> None:
        """Load in one query the units above villages under ``prefixes`` and those the prefixes go
        through: the chains of a province's records, without a query per commune."""
        codes = {c for p in prefixes for c in p.strip("/").split("/") if c}
        inside = under(AdminUnit.path, prefixes)
        for u in self.session.scalars(
            select(AdminUnit).where(
                or_(AdminUnit.code.in_(codes), and_(inside, AdminUnit.kind.not_in(VILLAGE_KINDS)))
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


def group_of(unit: AdminUnit, chains: Chains, successors: Edges, level: Level) -> tuple[str, str, int | None]:
    """The group of ``unit`` in a split (key, label, group unit id)."""
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
    current = current_units(commune.id, successors)
    if len(current) == 1:
        target = chains.get(next(iter(current)))
        if target is not None:
            return f"unit:{target.id}", target.name, target.id
    names = sorted(u.name for u in (chains.get(i) for i in current) if u is not None)
    return f"split:{commune.id}", f"{commune.name} (đã chia tách: {', '.join(names)})", None


class Territories:
    """The units above communes whose territory holds a unit (its province, its district before the
    reform, the former district of its commune, a district it succeeded): keys ``in:<unit id>``."""

    def __init__(self, chains: Chains, predecessors: Edges) -> None:
        self.chains = chains
        self.predecessors = predecessors
        self._of_commune: dict[int, frozenset[str]] = {}

    def of(self, unit: AdminUnit) -> frozenset[str]:
        chain = self.chains.chain(unit)
        keys = {f"in:{u.id}" for u in chain if u.kind not in COMMUNE_KINDS and u.kind not in VILLAGE_KINDS}
        commune = next((u for u in chain if u.kind in COMMUNE_KINDS), None)
        if commune is not None:
            keys |= self._commune(commune)
        return frozenset(keys)

    def _commune(self, commune: AdminUnit) -> frozenset[str]:
        found = self._of_commune.get(commune.id)
        if found is None:
            keys = {f"in:{commune.former_district_id}"} if commune.former_district_id is not None else set()
            for unit_id in closure(commune.id, self.predecessors):
                unit = self.chains.get(unit_id)
                if unit is not None and unit.kind not in COMMUNE_KINDS and unit.kind not in VILLAGE_KINDS:
                    keys.add(f"in:{unit.id}")
            found = self._of_commune[commune.id] = frozenset(keys)
        return found


def manual_area(group_key: str) -> str:
    """The area a manual entry is compared in: its commune group, or, for an entry kept above communes
    (a former district, a province), that unit's whole territory."""
    return "in:" + group_key.removeprefix("above:") if group_key.startswith("above:") else group_key


@dataclass(frozen=True)
class FormerUnit:
    """A former unit the report's commune came out of together with others."""

    key: str  # its group key ("above:<id>" for a former district, "split:<id>" for a split commune)
    unit_id: int
    name: str
    became: tuple[str, ...]  # the names of the communes it became, the report's among them

    @property
    def label(self) -> str:
        return f"{self.name} (đơn vị cũ, nay là {join_vn(list(self.became))})"


OWN = "own"


class Ownership:
    """Whose a record is in a report on ``root``: ``OWN``, a former unit's key, or None (another
    area's). For a province or a former district every record under the area is its own."""

    def __init__(self, session: Session, root: AdminUnit, chains: Chains, successors: Edges) -> None:
        self.root = root
        self.chains = chains
        self.successors = successors
        self.former: dict[str, FormerUnit] = {}
        self._cache: dict[int, str | None] = {}
        if _is_commune_root(root):
            self._find_former(session)

    def _find_former(self, session: Session) -> None:
        _, predecessors = lineage(session)
        candidates = closure(self.root.id, predecessors)
        district = _former_district(session, self.root)
        if district is not None:
            candidates.add(district.id)
        for unit_id in sorted(candidates):
            unit = self.chains.get(unit_id)
            if unit is None or unit.kind in VILLAGE_KINDS:
                continue
            if unit.kind in COMMUNE_KINDS:
                became = current_units(unit.id, self.successors)
                if len(became) < 2:
                    continue  # it became the root alone: its records are the root's own
                key = f"split:{unit.id}"
            else:
                became = current_units(unit.id, self.successors) - {unit.id}
                became |= set(
                    session.scalars(select(AdminUnit.id).where(AdminUnit.former_district_id == unit.id))
                )
                key = f"above:{unit.id}"
            names = sorted(u.name for u in (self.chains.get(i) for i in became) if u is not None)
            self.former[key] = FormerUnit(key, unit.id, unit.name, tuple(names))

    def owner(self, unit: AdminUnit) -> str | None:
        found = self._cache.get(unit.id, "")
        if found != "":
            return found
        if not _is_commune_root(self.root) or unit.path.startswith(self.root.path):
            result: str | None = OWN
        else:
            key = group_of(unit, self.chains, self.successors, "commune")[0]
            result = OWN if key == f"unit:{self.root.id}" else key if key in self.former else None
        self._cache[unit.id] = result
        return result

    @property
    def splits(self) -> bool:
        """Whether some records under the report's prefixes may not be the root's own."""
        return _is_commune_root(self.root)


def owned_scope(session: Session, ownership: Ownership, prefixes: Sequence[str]) -> frozenset[int]:
    """Ids of the units under ``prefixes`` whose records (and clusters' broadcasts) are the root's own."""
    inside = under(AdminUnit.path, prefixes)
    if not ownership.splits:
        return frozenset(session.scalars(select(AdminUnit.id).where(inside)))
    return frozenset(
        u.id for u in session.scalars(select(AdminUnit).where(inside)) if ownership.owner(u) == OWN
    )

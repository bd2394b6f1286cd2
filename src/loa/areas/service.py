"""Use cases on administrative units: look up, browse, search within a principal's scope, and manage
villages and stations. Functions take the session first and never commit: the caller owns the
transaction. Importing the official lists lives in :mod:`loa.areas.importer`.

Visibility (the rule of :mod:`loa.accounts.scope`): a principal *accesses* the units inside its scope
paths; it may also *see* the ancestors of its scopes, but only as navigation (breadcrumbs, tree), not
their pages. A unit outside scope is not found, like a missing one. Administrators see everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import above_scope, in_scope, scope_units, sees_path, unit_not_found
from loa.areas.importer import ImportReport, import_units
from loa.areas.logic import (
    COMMUNE_KINDS,
    LOCAL_CODE,
    PROVINCE_KINDS,
    UNIT_KINDS,
    VILLAGE_KINDS,
    RowError,
    display_name,
    fold,
    normalise_village,
    parse_village_csv,
    rows_invalid,
)
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.units.models import AdminUnit, AreaLineage, UnitKind
from loa.units.paths import ancestor_paths, make_path

__all__ = [
    "ImportReport",
    "UnitNode",
    "breadcrumbs",
    "children",
    "ensure_access",
    "ensure_can_manage",
    "get_unit",
    "get_visible_unit",
    "import_units",
    "lineage",
    "search",
    "top_level",
]

MAX_SEARCH_LIMIT = 100


@dataclass(frozen=True)
class UnitNode:
    """A unit as shown in lists and the tree."""

    unit: AdminUnit
    has_children: bool

    @property
    def kind_label(self) -> str:
        return UNIT_KINDS[self.unit.kind].label

    @property
    def display_name(self) -> str:
        return display_name(self.unit.kind, self.unit.name)


# ---------------------------------------------------------------------------------------------
# Lookup and access


def get_unit(session: Session, code: str) -> AdminUnit:
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code.strip()))
    if unit is None:
        raise NotFound(f"Không tìm thấy địa bàn mã {code.strip()}.", code="area_not_found")
    return unit


def ensure_access(principal: Principal, unit: AdminUnit) -> None:
    """NotFound unless ``unit`` lies inside one of the principal's areas (the same answer as for a
    code that names no unit, so a code outside scope reveals nothing)."""
    if not principal.can_access_path(unit.path):
        raise unit_not_found(unit.code)


def get_visible_unit(session: Session, code: str, principal: Principal) -> AdminUnit:
    unit = get_unit(session, code)
    ensure_access(principal, unit)
    return unit


def ensure_can_manage(principal: Principal, unit: AdminUnit) -> None:
    """Managing villages and stations: MANAGE_AREAS within scope, or a station operator in their own
    commune."""
    ensure_access(principal, unit)
    if principal.has(Permission.MANAGE_AREAS):
        return
    if principal.has(Permission.OPERATE_STATION) and unit.kind in COMMUNE_KINDS:
        return
    raise PermissionDenied(
        "Bạn không có quyền quản lý thôn/tổ dân phố và đài truyền thanh của địa bàn này.",
        code="area_manage_denied",
    )


def _navigable(principal: Principal) -> ColumnElement[bool]:
    """SQL condition for "inside a scope or an ancestor of one"."""
    return or_(in_scope(principal, AdminUnit.path), above_scope(principal, AdminUnit.path))


# ---------------------------------------------------------------------------------------------
# Browsing


def _natural_key(unit: AdminUnit) -> tuple[object, ...]:
    """Order "Thôn 2" before "Thôn 10"; names compare without diacritics."""
    parts = re.split(r"(\d+)", unit.name_folded)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _nodes(session: Session, units: Sequence[AdminUnit], include_history: bool) -> list[UnitNode]:
    ids = [u.id for u in units]
    if not ids:
        return []
    stmt = select(AdminUnit.parent_id, func.count()).where(AdminUnit.parent_id.in_(ids))
    if not include_history:
        stmt = stmt.where(AdminUnit.valid_to.is_(None))
    counts = dict(session.execute(stmt.group_by(AdminUnit.parent_id)).all())
    return [UnitNode(u, counts.get(u.id, 0) > 0) for u in units]


def top_level(session: Session, principal: Principal) -> list[UnitNode]:
    """Provinces for an administrator; the units of the principal's scopes otherwise."""
    if principal.is_admin:
        stmt = select(AdminUnit).where(AdminUnit.parent_id.is_(None), AdminUnit.kind.in_(PROVINCE_KINDS))
        units = sorted(session.scalars(stmt), key=lambda u: u.code)
    else:
        units = scope_units(session, principal)
    return _nodes(session, units, include_history=False)


def children(
    session: Session, parent_code: str | None, principal: Principal, *, include_history: bool = False
) -> list[UnitNode]:
    """Children of ``parent_code`` that the principal may see (current units only unless
    ``include_history``); with no parent, the top level visible to the principal."""
    if parent_code is None:
        return top_level(session, principal)
    parent = get_unit(session, parent_code)
    if not sees_path(principal, parent.path):
        ensure_access(principal, parent)  # raises with the Vietnamese message
    stmt = select(AdminUnit).where(AdminUnit.parent_id == parent.id)
    if not include_history:
        stmt = stmt.where(AdminUnit.valid_to.is_(None))
    units = list(session.scalars(stmt.where(_navigable(principal))))
    units.sort(key=lambda u: (u.valid_to is not None, UNIT_KINDS[u.kind].level, _natural_key(u)))
    return _nodes(session, units, include_history)


def breadcrumbs(session: Session, unit: AdminUnit, principal: Principal) -> list[AdminUnit]:
    """The unit's ancestors, outermost first, that the principal may see."""
    paths = ancestor_paths(unit.path)
    if not paths:
        return []
    found = {u.path: u for u in session.scalars(select(AdminUnit).where(AdminUnit.path.in_(paths)))}
    return [found[p] for p in paths if p in found and sees_path(principal, found[p].path)]


# ---------------------------------------------------------------------------------------------
# Search


def search(session: Session, query: str, principal: Principal, limit: int = 20) -> list[AdminUnit]:
    """Units whose name contains the query, with or without diacritics ("ba to", "Ba Tơ"), or whose
    code starts with it. Whole-name matches first ("Xã Ba Tơ" for "ba tơ"), then word prefixes, then
    any substring; current units before former ones. Only units inside the principal's scopes."""
    folded = fold(query)
    if not folded:
        return []
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    name = AdminUnit.name_folded
    rank = case(
        (or_(name == folded, name.endswith(" " + folded, autoescape=True)), 0),
        (or_(name.startswith(folded, autoescape=True), name.contains(" " + folded, autoescape=True)), 1),
        else_=2,
    )
    matches = [name.contains(folded, autoescape=True)]
    compact = folded.replace(" ", "")
    if compact.isdigit():
        matches.append(AdminUnit.code.startswith(compact, autoescape=True))
    stmt = select(AdminUnit).where(or_(*matches), in_scope(principal, AdminUnit.path))
    stmt = stmt.order_by(
        case((AdminUnit.code == compact, 0), else_=1),
        rank,
        AdminUnit.valid_to.is_not(None),
        func.length(name),
        name,
    ).limit(limit)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# History


@dataclass
class Lineage:
    former_district: AdminUnit | None = None
    predecessors: list[tuple[AdminUnit, AreaLineage]] = field(default_factory=list)
    successors: list[tuple[AdminUnit, AreaLineage]] = field(default_factory=list)


def lineage(session: Session, unit: AdminUnit) -> Lineage:
    result = Lineage()
    if unit.former_district_id is not None:
        result.former_district = session.get(AdminUnit, unit.former_district_id)
    pred = select(AdminUnit, AreaLineage).join(AreaLineage, AreaLineage.predecessor_id == AdminUnit.id)
    result.predecessors = [
        (u, link) for u, link in session.execute(pred.where(AreaLineage.successor_id == unit.id))
    ]
    succ = select(AdminUnit, AreaLineage).join(AreaLineage, AreaLineage.successor_id == AdminUnit.id)
    result.successors = [
        (u, link) for u, link in session.execute(succ.where(AreaLineage.predecessor_id == unit.id))
    ]
    result.predecessors.sort(key=lambda pair: pair[0].name_folded)
    result.successors.sort(key=lambda pair: _natural_key(pair[0]))
    return result


def communes_of_former_district(session: Session, district_code: str) -> list[AdminUnit]:
    """Current communes that took over (part of) a former district: how a 2023 district report rolls up."""
    district = get_unit(session, district_code)
    if district.kind is not UnitKind.DISTRICT:
        raise InvalidInput(f"«{district.name}» không phải quận/huyện cũ.", code="not_a_district")
    stmt = (
        select(AdminUnit)
        .join(AreaLineage, AreaLineage.successor_id == AdminUnit.id)
        .where(AreaLineage.predecessor_id == district.id)
    )
    return sorted(session.scalars(stmt), key=_natural_key)


def successors_of_old_commune(session: Session, code: str) -> list[AdminUnit]:
    """Today's communes that took over (part of) the pre-2025 commune ``code``. An old commune is not a
    unit here: the importer writes it into the note of its former district's lineage link, as
    "Name (code)" or "Name (code, một phần)" (``importer._note``); this is where that is read back."""
    if not re.fullmatch(r"\d{5}", code):
        return []
    stmt = (
        select(AdminUnit)
        .join(AreaLineage, AreaLineage.successor_id == AdminUnit.id)
        .where(or_(AreaLineage.note.contains(f"({code})"), AreaLineage.note.contains(f"({code}, ")))
    )
    return sorted(set(session.scalars(stmt)), key=_natural_key)


# ---------------------------------------------------------------------------------------------
# Villages and residential groups


def villages(session: Session, commune: AdminUnit) -> list[AdminUnit]:
    stmt = select(AdminUnit).where(AdminUnit.parent_id == commune.id, AdminUnit.kind.in_(VILLAGE_KINDS))
    return sorted(session.scalars(stmt), key=_natural_key)


def _commune_for_villages(session: Session, commune_code: str, principal: Principal) -> AdminUnit:
    commune = get_unit(session, commune_code)
    if commune.kind not in COMMUNE_KINDS or commune.valid_to is not None:
        raise InvalidInput(
            f"Chỉ thêm được thôn/tổ dân phố vào xã, phường hoặc đặc khu; «{commune.name}» không phải.",
            code="not_a_commune",
        )
    ensure_can_manage(principal, commune)
    return commune


def _next_numbers(session: Session, commune: AdminUnit, count: int, reserved: set[str]) -> list[str]:
    """Free local numbers ("001", "002", …) after the highest one used in the commune or ``reserved``."""
    prefix = f"{commune.code}."
    codes = session.scalars(select(AdminUnit.code).where(AdminUnit.code.startswith(prefix, autoescape=True)))
    used = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    used += [int(c) for c in reserved if c.isdigit()]
    start = max(used, default=0) + 1
    return [f"{n:03d}" for n in range(start, start + count)]


def _village(commune: AdminUnit, name: str, kind: UnitKind, local_code: str) -> AdminUnit:
    code = f"{commune.code}.{local_code}"
    return AdminUnit(
        code=code,
        kind=kind,
        name=name,
        name_folded=fold(name),
        parent_id=commune.id,
        path=make_path(commune.path, code),
    )


def _conflicts(session: Session, commune: AdminUnit, planned: list[tuple[int, AdminUnit]]) -> list[RowError]:
    """Per-row errors for planned villages whose name or code already exists."""
    names = {u.name_folded for u in villages(session, commune)}
    wanted = [u.code.lower() for _, u in planned]
    taken_stmt = select(AdminUnit.code).where(func.lower(AdminUnit.code).in_(wanted))
    taken = {c.lower() for c in session.scalars(taken_stmt)}
    errors: list[RowError] = []
    for line, unit in planned:
        if unit.name_folded in names:
            errors.append(RowError(line, "ten", f"«{unit.name}» đã có trong {commune.name}."))
        if unit.code.lower() in taken:
            errors.append(RowError(line, "ma", f"Mã {unit.code} đã được dùng."))
    return errors


def add_village(
    session: Session,
    *,
    commune_code: str,
    name: str,
    principal: Principal,
    kind: str = "",
    local_code: str = "",
) -> AdminUnit:
    """Add one village or residential group (``kind`` as people write it: "thôn", "tổ dân phố", …;
    empty = recognised from the name)."""
    commune = _commune_for_villages(session, commune_code, principal)
    result = normalise_village(name, kind)
    if not isinstance(result, tuple):
        raise InvalidInput(result.message, code="invalid_village", details=[result.as_dict()])
    local = local_code.strip()
    if local and not LOCAL_CODE.match(local):
        raise InvalidInput(
            f"Mã «{local}» không hợp lệ (tối đa 20 ký tự: chữ không dấu, số, - _).", code="invalid_code"
        )
    unit = _village(commune, result[0], result[1], local or _next_numbers(session, commune, 1, set())[0])
    errors = _conflicts(session, commune, [(0, unit)])
    if errors:
        raise Conflict(errors[0].message, code="village_exists")
    session.add(unit)
    session.flush()
    record(
        session,
        action="area.village_add",
        actor=principal,
        target_type="area",
        target_id=unit.code,
        area_id=commune.id,
        details={"name": unit.name},
    )
    return unit


def import_villages_csv(
    session: Session, *, commune_code: str, data: bytes, principal: Principal
) -> list[AdminUnit]:
    """Add every village of a CSV file to a commune, or none: any bad row raises InvalidInput with
    per-row Vietnamese messages and nothing is written."""
    commune = _commune_for_villages(session, commune_code, principal)
    rows, errors = parse_village_csv(data)
    reserved = {r.local_code for r in rows if r.local_code}
    numbers = iter(_next_numbers(session, commune, len(rows) - len(reserved), reserved))
    planned = [(r.line, _village(commune, r.name, r.kind, r.local_code or next(numbers))) for r in rows]
    errors += _conflicts(session, commune, planned)
    if errors:
        raise rows_invalid(errors)
    added = [unit for _, unit in planned]
    session.add_all(added)
    session.flush()
    record(
        session,
        action="area.villages_import",
        actor=principal,
        target_type="area",
        target_id=commune.code,
        area_id=commune.id,
        details={"count": len(added), "titles": [unit.name for unit in added][:50]},
    )
    return added

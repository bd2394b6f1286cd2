"""A small area tree for register and report tests, shaped like Ba Tơ before and after 1 July 2025.

    Tỉnh Quảng Ngãi (51)
    ├── Huyện Ba Tơ (cũ, D1)                   valid until 30/06/2025
    │   ├── Xã Ba Động (cũ, OA) ── Thôn Gò Khế (OA01)
    │   ├── Xã Ba Cung (cũ, OB)
    │   └── Thị trấn Ba Tơ (cũ, OC)
    ├── Huyện Sơn Hà (cũ, D2) ── Xã Sơn Thượng (cũ, OE)
    ├── Xã Ba Tơ (21484)  former district D1; successor of OA and OB ── Thôn Làng Teng (2148401)
    └── Xã Ba Vì (21490)  former district D1; successor of OC

Three old communes merged into two new ones; records of 2023 are filed under the old units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from loa.units.models import AdminUnit, AreaLineage, LineageChange, UnitKind
from loa.vocab.text import fold

REFORM = date(2025, 7, 1)


@dataclass
class Tree:
    province: AdminUnit
    district: AdminUnit
    other_district: AdminUnit
    old_a: AdminUnit
    old_b: AdminUnit
    old_c: AdminUnit
    old_e: AdminUnit
    village_a: AdminUnit
    new_x: AdminUnit
    new_y: AdminUnit
    village_x: AdminUnit


def _unit(
    session: Session,
    code: str,
    kind: UnitKind,
    name: str,
    parent: AdminUnit | None = None,
    *,
    former_district: AdminUnit | None = None,
    old: bool = False,
    new: bool = False,
) -> AdminUnit:
    unit = AdminUnit(
        code=code,
        kind=kind,
        name=name,
        name_folded=fold(name),
        parent_id=parent.id if parent else None,
        path=f"{parent.path if parent else '/'}{code}/",
        former_district_id=former_district.id if former_district else None,
        valid_to=date(2025, 6, 30) if old else None,
        valid_from=REFORM if new else None,
    )
    session.add(unit)
    session.flush()
    return unit


def build_tree(session: Session) -> Tree:
    province = _unit(session, "51", UnitKind.PROVINCE, "Quảng Ngãi")
    district = _unit(session, "D1", UnitKind.DISTRICT, "Huyện Ba Tơ", province, old=True)
    other = _unit(session, "D2", UnitKind.DISTRICT, "Huyện Sơn Hà", province, old=True)
    old_a = _unit(session, "OA", UnitKind.COMMUNE, "Xã Ba Động", district, old=True)
    old_b = _unit(session, "OB", UnitKind.COMMUNE, "Xã Ba Cung", district, old=True)
    old_c = _unit(session, "OC", UnitKind.COMMUNE, "Thị trấn Ba Tơ", district, old=True)
    old_e = _unit(session, "OE", UnitKind.COMMUNE, "Xã Sơn Thượng", other, old=True)
    village_a = _unit(session, "OA01", UnitKind.VILLAGE, "Thôn Gò Khế", old_a, old=True)
    new_x = _unit(
        session, "21484", UnitKind.COMMUNE, "Xã Ba Tơ", province, former_district=district, new=True
    )
    new_y = _unit(
        session, "21490", UnitKind.COMMUNE, "Xã Ba Vì", province, former_district=district, new=True
    )
    village_x = _unit(session, "2148401", UnitKind.VILLAGE, "Thôn Làng Teng", new_x, new=True)
    for old, successor in ((old_a, new_x), (old_b, new_x), (old_c, new_y)):
        session.add(
            AreaLineage(
                predecessor_id=old.id,
                successor_id=successor.id,
                change=LineageChange.REGROUP,
                effective_on=REFORM,
            )
        )
    session.flush()
    return Tree(province, district, other, old_a, old_b, old_c, old_e, village_a, new_x, new_y, village_x)

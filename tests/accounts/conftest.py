"""Administrative units for accounts tests, inserted directly (the real importer lives in loa.areas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session

from loa.units.models import AdminUnit, UnitKind


@dataclass(frozen=True)
class Units:
    province: AdminUnit
    commune: AdminUnit
    ward: AdminUnit
    other_province: AdminUnit
    other_commune: AdminUnit
    old_district: AdminUnit


def _unit(
    session: Session,
    code: str,
    kind: UnitKind,
    name: str,
    parent: AdminUnit | None = None,
    valid_to: date | None = None,
) -> AdminUnit:
    unit = AdminUnit(
        code=code,
        kind=kind,
        name=name,
        name_folded=name.lower(),
        parent_id=parent.id if parent else None,
        path=f"{parent.path if parent else '/'}{code}/",
        valid_to=valid_to,
    )
    session.add(unit)
    session.flush()
    return unit


@pytest.fixture
def units(session: Session) -> Units:
    province = _unit(session, "51", UnitKind.PROVINCE, "Tỉnh Quảng Ngãi")
    commune = _unit(session, "21484", UnitKind.COMMUNE, "Xã Ba Tơ", province)
    ward = _unit(session, "21025", UnitKind.WARD, "Phường Cẩm Thành", province)
    old_district = _unit(session, "9457", UnitKind.DISTRICT, "Huyện Ba Tơ", province, date(2025, 7, 1))
    other = _unit(session, "01", UnitKind.CITY, "Thành phố Hà Nội")
    other_commune = _unit(session, "00004", UnitKind.WARD, "Phường Ba Đình", other)
    session.commit()
    return Units(province, commune, ward, other, other_commune, old_district)

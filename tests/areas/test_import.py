"""The importer on a real database (SQLite and PostgreSQL): counts, idempotency, updates, history."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loa.areas.importer import import_units
from loa.areas.service import communes_of_former_district, get_unit, lineage
from loa.units.models import AdminUnit, AreaLineage, UnitKind


def _kinds(session: Session) -> Counter[UnitKind]:
    rows = session.execute(select(AdminUnit.kind, func.count()).group_by(AdminUnit.kind))
    return Counter(dict(rows.all()))


def test_import_creates_the_whole_country_then_changes_nothing(session: Session) -> None:
    first = import_units(session)
    session.commit()
    assert (first.provinces, first.communes) == (34, 3321)
    assert (first.units.created, first.units.updated, first.units.unchanged) == (3355, 0, 0)
    kinds = _kinds(session)
    assert kinds[UnitKind.PROVINCE] + kinds[UnitKind.CITY] == 34
    assert kinds[UnitKind.CITY] == 6  # Hà Nội, Hải Phòng, Huế, Đà Nẵng, TP HCM, Cần Thơ
    assert (kinds[UnitKind.COMMUNE], kinds[UnitKind.WARD], kinds[UnitKind.SPECIAL_ZONE]) == (2621, 687, 13)
    assert first.lines()[0].startswith("34 tỉnh/thành phố, 3.321 xã/phường/đặc khu")

    second = import_units(session)
    session.commit()
    assert (second.units.created, second.units.updated, second.units.unchanged) == (0, 0, 3355)
    assert "không đổi 3.355" in second.lines()[0]
    assert sum(_kinds(session).values()) == 3355


def test_import_repairs_changed_names_and_kinds_and_keeps_villages_under_moved_units(
    session: Session,
) -> None:
    import_units(session)
    ba_to = get_unit(session, "21484")
    village = AdminUnit(
        code="21484.001",
        kind=UnitKind.VILLAGE,
        name="Thôn Gò Da",
        name_folded="thon go da",
        parent_id=ba_to.id,
        path="/51/21484/21484.001/",
    )
    session.add(village)
    session.flush()
    hanoi = get_unit(session, "01")
    # Simulate an older import: a misspelt name, another kind, and the commune filed under Hà Nội.
    session.execute(
        update(AdminUnit)
        .where(AdminUnit.id == ba_to.id)
        .values(name="Xa Ba To", kind=UnitKind.WARD, parent_id=hanoi.id, path="/01/21484/")
    )
    session.execute(update(AdminUnit).where(AdminUnit.id == village.id).values(path="/01/21484/21484.001/"))
    session.commit()
    report = import_units(session)
    session.commit()
    assert (report.units.created, report.units.updated) == (0, 1)
    session.expire_all()
    ba_to = get_unit(session, "21484")
    assert (ba_to.name, ba_to.kind, ba_to.path) == ("Xã Ba Tơ", UnitKind.COMMUNE, "/51/21484/")
    assert ba_to.name_folded == "xa ba to"
    assert get_unit(session, "21484.001").path == "/51/21484/21484.001/"


def test_units_removed_from_the_source_are_reported_not_deleted(session: Session) -> None:
    import_units(session)
    province = get_unit(session, "51")
    session.add(
        AdminUnit(code="99999", kind=UnitKind.COMMUNE, name="Xã Cũ", name_folded="xa cu",
                  parent_id=province.id, path="/51/99999/")
    )  # fmt: skip
    session.commit()
    report = import_units(session)
    assert report.not_in_source == ["99999"]
    assert any("99999" in line for line in report.lines())
    assert get_unit(session, "99999").name == "Xã Cũ"


def test_history_is_imported_for_the_whole_country(country: Session) -> None:
    kinds = _kinds(country)
    assert kinds[UnitKind.DISTRICT] == 696  # district-level units before 1 July 2025
    district = get_unit(country, "535")
    assert (district.name, district.kind, district.path) == ("Huyện Ba Tơ", UnitKind.DISTRICT, "/51/535/")
    assert district.valid_to is not None and district.valid_to.isoformat() == "2025-06-30"
    assert district.former_province_name == "Tỉnh Quảng Ngãi"

    ba_to = get_unit(country, "21484")
    history = lineage(country, ba_to)
    assert history.former_district is not None and history.former_district.code == "535"
    [(pred, link)] = history.predecessors
    assert pred.code == "535"
    assert "Thị trấn Ba Tơ (21484)" in link.note and "Xã Ba Cung (21511)" in link.note

    # A 2023 report of huyện Ba Tơ rolls up into these current communes.
    rolled = {u.code for u in communes_of_former_district(country, "535")}
    assert "21484" in rolled and len(rolled) == 8
    # Kon Tum's former districts now belong to Quảng Ngãi.
    kon_tum = get_unit(country, "608")
    assert kon_tum.path == "/51/608/" and kon_tum.former_province_name == "Tỉnh Kon Tum"

    without_former = country.scalar(
        select(func.count()).where(
            AdminUnit.kind.in_([UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE]),
            AdminUnit.former_district_id.is_(None),
        )
    )
    assert without_former == 0


def test_history_import_is_idempotent(country: Session) -> None:
    links_before = country.scalar(select(func.count()).select_from(AreaLineage))
    report = import_units(country, with_history=True)
    assert (report.districts.created, report.districts.updated, report.districts.unchanged) == (0, 0, 696)
    assert (report.lineage.created, report.lineage.updated) == (0, 0)
    assert report.lineage.unchanged == links_before
    assert report.former_district_set == 0
    assert report.unmatched == []

"""Browsing, search, scoping, villages and stations on the imported country (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.areas import service
from loa.areas.stations import create_station, list_stations
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.units.models import AdminUnit, UnitKind
from tests.areas.conftest import ADMIN, BA_TO_OPERATOR, PROVINCE_EDITOR, VIEWER_BA_TO


def _codes(nodes: list[service.UnitNode]) -> list[str]:
    return [n.unit.code for n in nodes]


def test_admin_sees_provinces_then_communes(country: Session) -> None:
    top = service.children(country, None, ADMIN)
    assert len(top) == 34 and _codes(top)[:2] == ["01", "04"]
    assert all(n.has_children for n in top)
    quang_ngai = service.children(country, "51", ADMIN)
    assert len(quang_ngai) == 96
    assert "21484" in _codes(quang_ngai)
    assert not any(n.unit.kind is UnitKind.DISTRICT for n in quang_ngai)
    with_history = service.children(country, "51", ADMIN, include_history=True)
    assert len(with_history) == 96 + 23  # 13 districts of Quảng Ngãi + 10 of Kon Tum
    assert with_history[-1].unit.kind is UnitKind.DISTRICT  # history after current units


def test_commune_operator_sees_only_their_commune(country: Session) -> None:
    assert _codes(service.children(country, None, BA_TO_OPERATOR)) == ["21484"]
    # The province is navigation only: listing it shows only the operator's own commune.
    assert _codes(service.children(country, "51", BA_TO_OPERATOR)) == ["21484"]
    assert service.get_visible_unit(country, "21484", BA_TO_OPERATOR).name == "Xã Ba Tơ"
    # Outside the scope is not found, like a code that names nothing (a code reveals nothing).
    with pytest.raises(NotFound) as caught:
        service.get_visible_unit(country, "21523", BA_TO_OPERATOR)  # xã Ba Tô, next door
    assert caught.value.message == "Không tìm thấy địa bàn mã “21523” trong phạm vi của bạn."
    with pytest.raises(NotFound):
        service.get_visible_unit(country, "51", BA_TO_OPERATOR)
    with pytest.raises(NotFound):
        service.children(country, "01", BA_TO_OPERATOR)
    crumbs = service.breadcrumbs(country, service.get_unit(country, "21484"), BA_TO_OPERATOR)
    assert [u.code for u in crumbs] == ["51"]


def test_principal_without_scope_sees_nothing(country: Session) -> None:
    nobody = Principal(user_id=9, username="x", display_name="X", role=Role.VIEWER)
    assert service.children(country, None, nobody) == []
    assert service.search(country, "ba to", nobody) == []


def test_unknown_code_is_a_vietnamese_not_found(country: Session) -> None:
    with pytest.raises(NotFound) as caught:
        service.get_unit(country, "99999")
    assert caught.value.message == "Không tìm thấy địa bàn mã 99999."


def test_search_with_or_without_diacritics(country: Session) -> None:
    for query in ("ba to", "Ba Tơ", "BA TƠ", "xã ba tơ", "  ba   to "):
        codes = [u.code for u in service.search(country, query, ADMIN, limit=10)]
        assert "21484" in codes, query
        assert codes.index("21484") <= 1, query  # "Xã Ba Tô" (21523) folds the same; both lead
        if not query.lower().startswith("xã"):  # huyện Ba Tơ matches too, after the current units
            assert codes.index("535") > codes.index("21484"), query


def test_search_ranks_prefix_before_substring_and_finds_by_code(country: Session) -> None:
    found = service.search(country, "quang ngai", ADMIN, limit=5)
    assert found[0].code == "51"
    assert service.search(country, "21484", ADMIN)[0].code == "21484"
    assert service.search(country, "", ADMIN) == []
    assert service.search(country, "%", ADMIN) == []  # folds to nothing; never a wildcard


def test_search_is_limited_to_scope(country: Session) -> None:
    assert [u.code for u in service.search(country, "ba", BA_TO_OPERATOR, limit=50)] == ["21484"]
    in_province = service.search(country, "phuong", PROVINCE_EDITOR, limit=100)
    assert in_province and all(u.path.startswith("/51/") for u in in_province)


def test_add_village_and_numbering(
    country: Session, people: None
) -> None:  # people: the audit names real users
    first = service.add_village(
        country, commune_code="21484", name="Gò Da", kind="thôn", principal=BA_TO_OPERATOR
    )
    second = service.add_village(country, commune_code="21484", name="Tổ dân phố 1", principal=ADMIN)
    assert (first.code, first.name, first.kind) == ("21484.001", "Thôn Gò Da", UnitKind.VILLAGE)
    assert (second.code, second.kind, second.path) == (
        "21484.002",
        UnitKind.RESIDENTIAL_GROUP,
        "/51/21484/21484.002/",
    )
    with pytest.raises(Conflict) as caught:
        service.add_village(country, commune_code="21484", name="thôn gò da", principal=ADMIN)
    assert "đã có trong Xã Ba Tơ" in caught.value.message
    with pytest.raises(NotFound):
        service.add_village(country, commune_code="21523", name="Thôn 1", principal=BA_TO_OPERATOR)
    with pytest.raises(PermissionDenied):  # a viewer may look but not change
        service.add_village(country, commune_code="21484", name="Thôn 9", principal=VIEWER_BA_TO)
    with pytest.raises(InvalidInput):
        service.add_village(country, commune_code="51", name="Thôn 1", principal=ADMIN)
    kids = service.children(country, "21484", BA_TO_OPERATOR)
    assert {n.unit.name for n in kids} == {"Thôn Gò Da", "Tổ dân phố 1"}


def _village_count(session: Session) -> int:
    stmt = select(func.count()).where(AdminUnit.kind.in_([UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP]))
    return session.scalar(stmt) or 0


def test_import_villages_csv_all_or_nothing(
    country: Session, people: None
) -> None:  # people: the audit names real users
    service.add_village(country, commune_code="21484", name="Thôn Gò Da", principal=ADMIN)
    country.commit()
    bad = "ten,loai\nThôn Làng Mạ,\nGò Da,thôn\n,thôn\nThôn 2,\n".encode()
    with pytest.raises(InvalidInput) as caught:
        service.import_villages_csv(country, commune_code="21484", data=bad, principal=BA_TO_OPERATOR)
    country.rollback()
    details = caught.value.details
    assert {(d["row"], d["field"]) for d in details} == {(3, "ten"), (4, "ten")}
    assert any("«Thôn Gò Da» đã có trong Xã Ba Tơ" in d["message"] for d in details)
    assert "chưa có dữ liệu nào được ghi" in caught.value.message
    assert _village_count(country) == 1

    good = "ten,loai,ma\nThôn Làng Mạ,,\nThôn 2,,\nTổ dân phố 10,,T10\n".encode()
    added = service.import_villages_csv(country, commune_code="21484", data=good, principal=BA_TO_OPERATOR)
    assert [u.code for u in added] == ["21484.002", "21484.003", "21484.T10"]
    assert _village_count(country) == 4
    names = [n.unit.name for n in service.children(country, "21484", ADMIN)]
    assert names == ["Thôn 2", "Thôn Gò Da", "Thôn Làng Mạ", "Tổ dân phố 10"]


def test_stations_per_commune(country: Session, people: None) -> None:  # people: the audit names real users
    fm = create_station(
        country, commune_code="21484", name="Đài FM Ba Tơ (cũ)", technology="fm", principal=BA_TO_OPERATOR
    )
    ip = create_station(
        country,
        commune_code="21484",
        name="Hệ thống IP xã Ba Tơ",
        technology="ip",
        latitude=14.77,
        longitude=108.73,
        principal=ADMIN,
    )
    assert [s.id for s in list_stations(country, commune_code="21484", principal=VIEWER_BA_TO)] == [
        fm.id,
        ip.id,
    ]
    with pytest.raises(Conflict):
        create_station(country, commune_code="21484", name="đài fm ba tơ (cũ)", principal=ADMIN)
    with pytest.raises(InvalidInput) as caught:
        create_station(
            country, commune_code="21484", name="X", technology="5g", latitude=48.8, principal=ADMIN
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"technology", "latitude"}
    with pytest.raises(NotFound):
        create_station(country, commune_code="21523", name="Đài", principal=BA_TO_OPERATOR)
    with pytest.raises(NotFound):
        list_stations(country, commune_code="21523", principal=BA_TO_OPERATOR)
    with pytest.raises(InvalidInput):
        create_station(country, commune_code="535", name="Đài huyện", principal=ADMIN)

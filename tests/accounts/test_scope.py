"""The scope rule (``loa.accounts.scope``): who is in scope where, said as one table, checked in Python
(``Principal``) and in SQL (``in_scope`` / ``above_scope``) on a real database, so the two halves agree.
Village codes may contain ``_`` (and a stored path could hold ``%``): a LIKE prefix that does not escape
them lets a village's user see its wildcard siblings; the call sites that built their own were caught."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal, Role
from loa.accounts.scope import above_scope, area_path, in_scope, require, sees_path, under, visible_unit
from loa.content import queries
from loa.content.catalog import BulletinKind, Priority, Status
from loa.content.models import Bulletin
from loa.errors import NotFound, PermissionDenied
from loa.units.models import AdminUnit, UnitKind

# code → (parent code, kind); paths are built from the chain.
UNITS: dict[str, tuple[str | None, UnitKind]] = {
    "51": (None, UnitKind.PROVINCE),
    "21484": ("51", UnitKind.COMMUNE),
    "21484.A_1": ("21484", UnitKind.VILLAGE),
    "21484.AB1": ("21484", UnitKind.VILLAGE),  # "_" as a wildcard would match it
    "21484.A%": ("21484", UnitKind.VILLAGE),  # not a valid local code, but a path may still hold "%"
    "21484.AXYZ": ("21484", UnitKind.VILLAGE),  # "%" as a wildcard would match it
    "21490": ("51", UnitKind.COMMUNE),
    "01": (None, UnitKind.CITY),
    "00004": ("01", UnitKind.WARD),
}


def _principal(role: Role, *codes: str) -> Principal:
    paths = tuple(_path(c) for c in codes)
    return Principal(user_id=1, username="u", display_name="U", role=role, scope_paths=paths)


def _path(code: str) -> str:
    parent, _ = UNITS[code]
    return (_path(parent) if parent else "/") + code + "/"


@dataclass(frozen=True)
class Case:
    name: str
    principal: Principal
    in_scope: frozenset[str]
    above: frozenset[str]  # ancestors of a scope unit, and the scope units themselves


ALL = frozenset(UNITS)
VILLAGES_A = frozenset({"21484.A_1", "21484.AB1", "21484.A%", "21484.AXYZ"})
CASES = (
    Case("administrator", _principal(Role.ADMIN), ALL, ALL),
    Case("no scope", _principal(Role.VIEWER), frozenset(), frozenset()),
    Case(
        "village A_1",
        _principal(Role.VIEWER, "21484.A_1"),
        frozenset({"21484.A_1"}),
        frozenset({"51", "21484", "21484.A_1"}),
    ),
    Case(
        "village A%",
        _principal(Role.VIEWER, "21484.A%"),
        frozenset({"21484.A%"}),
        frozenset({"51", "21484", "21484.A%"}),
    ),
    Case(
        "commune A",
        _principal(Role.COMMUNE_OPERATOR, "21484"),
        frozenset({"21484"}) | VILLAGES_A,
        frozenset({"51", "21484"}),
    ),
    Case(
        "province 51",
        _principal(Role.APPROVER, "51"),
        frozenset({"51", "21484", "21490"}) | VILLAGES_A,
        frozenset({"51"}),
    ),
    Case(
        "two scopes",
        _principal(Role.VIEWER, "21490", "00004"),
        frozenset({"21490", "00004"}),
        frozenset({"51", "21490", "01", "00004"}),
    ),
)


@pytest.fixture
def units(session: Session) -> dict[str, AdminUnit]:
    made: dict[str, AdminUnit] = {}
    for code, (parent, kind) in UNITS.items():
        unit = AdminUnit(
            code=code,
            kind=kind,
            name=f"Đơn vị {code}",
            name_folded=f"don vi {code}",
            parent_id=made[parent].id if parent else None,
            path=_path(code),
        )
        session.add(unit)
        session.flush()
        made[code] = unit
    return made


def _codes(session: Session, condition: object) -> frozenset[str]:
    return frozenset(session.scalars(select(AdminUnit.code).where(condition)))  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_python_and_sql_say_the_same_scope(session: Session, units: dict[str, AdminUnit], case: Case) -> None:
    p = case.principal
    assert {c for c in UNITS if p.can_access_path(_path(c))} == case.in_scope
    assert _codes(session, in_scope(p, AdminUnit.path)) == case.in_scope
    assert _codes(session, in_scope(p, AdminUnit.id)) == case.in_scope  # by a unit-id column
    above = {c for c in UNITS if p.can_see_ancestor_path(_path(c))}
    assert above == case.above
    assert {c for c in UNITS if sees_path(p, _path(c))} == case.in_scope | case.above
    expected_sql_above = case.above - case.in_scope if not p.is_admin else frozenset()
    assert _codes(session, above_scope(p, AdminUnit.path)) - case.in_scope == expected_sql_above


def test_no_unit_is_in_scope_for_administrators_only() -> None:
    for case in CASES:
        assert case.principal.can_access_path("") is case.principal.is_admin
        assert case.principal.can_see_ancestor_path("/") is case.principal.is_admin


def test_under_is_false_without_prefixes_and_escapes_wildcards(
    session: Session, units: dict[str, AdminUnit]
) -> None:
    assert _codes(session, under(AdminUnit.path, [])) == frozenset()
    assert _codes(session, under(AdminUnit.path, [_path("21484.A_1"), _path("21490")])) == {
        "21484.A_1",
        "21490",
    }


def test_require_names_the_role() -> None:
    viewer = _principal(Role.VIEWER, "21484")
    require(viewer, Permission.VIEW)
    with pytest.raises(PermissionDenied, match="Vai trò «Người xem» không có quyền"):
        require(viewer, Permission.EDIT_CONTENT)


def test_a_unit_outside_scope_is_not_found_like_a_missing_one(
    session: Session, units: dict[str, AdminUnit]
) -> None:
    operator = _principal(Role.COMMUNE_OPERATOR, "21484")
    assert visible_unit(session, operator, code="21484.AB1").code == "21484.AB1"
    assert visible_unit(session, operator, area_id=units["21484"].id).code == "21484"
    with pytest.raises(NotFound) as outside:
        visible_unit(session, operator, code="21490")
    with pytest.raises(NotFound) as missing:
        visible_unit(session, operator, code="99999")
    assert outside.value.code == missing.value.code == "area_not_found"
    with pytest.raises(NotFound):
        visible_unit(session, operator, area_id=units["21490"].id)
    assert area_path(session, units["21484"].id) == "/51/21484/"
    assert area_path(session, None) == ""


# --- call sites that built their own LIKE prefix -----------------------------------------------------


def _bulletin(session: Session, unit: AdminUnit, title: str) -> Bulletin:
    bulletin = Bulletin(
        kind=BulletinKind.NEWS,
        title=title,
        priority=Priority.NORMAL,
        area_id=unit.id,
        status=Status.SUBMITTED,
        version=1,
    )
    session.add(bulletin)
    session.flush()
    return bulletin


def test_a_village_user_does_not_see_its_wildcard_siblings_bulletins(
    session: Session, units: dict[str, AdminUnit]
) -> None:
    _bulletin(session, units["21484.A_1"], "Tin thôn A_1")
    _bulletin(session, units["21484.AB1"], "Tin thôn AB1")
    village = _principal(Role.VIEWER, "21484.A_1")
    listed = queries.list_bulletins(session, principal=village, filters=queries.Filters())
    assert [b.title for b in listed.items] == ["Tin thôn A_1"]
    approver = Principal(1, "d", "D", Role.APPROVER, (_path("21484.A_1"),))
    assert [b.title for b in queries.review_queue(session, principal=approver)] == ["Tin thôn A_1"]
    # The area filter of the list is a prefix too: A_1 must not bring AB1 along for the commune.
    commune = _principal(Role.COMMUNE_OPERATOR, "21484")
    filtered = queries.list_bulletins(
        session, principal=commune, filters=queries.Filters(area_code="21484.A_1")
    )
    assert [b.title for b in filtered.items] == ["Tin thôn A_1"]


def test_a_village_user_does_not_see_its_wildcard_siblings_audit_events(
    session: Session, units: dict[str, AdminUnit]
) -> None:
    for code in ("21484.A_1", "21484.AB1"):
        audit.record(
            session, action="area.village_add", target_type="area", target_id=code, area_id=units[code].id
        )
    village = Principal(99, "x", "X", Role.APPROVER, (_path("21484.A_1"),))
    page = audit.query(session, principal=village)
    assert [e.target_id for e in page.events] == ["21484.A_1"]

"""A small world for bulletin tests: one province, two communes, and the people who write and approve."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.units.models import AdminUnit, UnitKind
from tests.conftest import Backend
from tests.support.auth import make_user

PROVINCE, COMMUNE_A, COMMUNE_B = "51", "21484", "21490"


@dataclass
class World:
    province: AdminUnit
    commune_a: AdminUnit
    commune_b: AdminUnit
    editor_a: Principal
    operator_a: Principal
    approver_a: Principal
    approver_b: Principal
    approver_province: Principal
    admin: Principal


PEOPLE: tuple[tuple[str, Role, str | None, str], ...] = (
    ("bientap.a", Role.PROVINCE_EDITOR, COMMUNE_A, "Nguyễn Văn Biên"),
    ("vanhanh.a", Role.COMMUNE_OPERATOR, COMMUNE_A, "Trần Thị Vận"),
    ("duyet.a", Role.APPROVER, COMMUNE_A, "Lê Văn Duyệt"),
    ("duyet.b", Role.APPROVER, COMMUNE_B, "Phạm Thị Bình"),
    ("duyet.tinh", Role.APPROVER, PROVINCE, "Hồ Văn Tỉnh"),
    ("quantri", Role.ADMIN, None, "Quản Trị"),
)


def seed_world(session: Session) -> None:
    province = AdminUnit(
        code=PROVINCE, kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    for code, name in ((COMMUNE_A, "Xã Ba Tơ"), (COMMUNE_B, "Xã Ba Vì")):
        unit = AdminUnit(
            code=code,
            kind=UnitKind.COMMUNE,
            name=name,
            name_folded=name.lower(),
            parent_id=province.id,
            path=f"/51/{code}/",
        )
        session.add(unit)
    session.flush()

    for username, role, area, name in PEOPLE:
        make_user(session, username, role, area, display_name=name)


def load_world(session: Session) -> World:
    units = {u.code: u for u in session.scalars(select(AdminUnit))}
    people = {
        u.username: principal_for(session, u)
        for u in session.scalars(select(User).where(User.username.in_([p[0] for p in PEOPLE])))
    }
    return World(
        province=units[PROVINCE],
        commune_a=units[COMMUNE_A],
        commune_b=units[COMMUNE_B],
        editor_a=people["bientap.a"],
        operator_a=people["vanhanh.a"],
        approver_a=people["duyet.a"],
        approver_b=people["duyet.b"],
        approver_province=people["duyet.tinh"],
        admin=people["quantri"],
    )


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    """A database cloned from a template that already holds the world (password hashing is slow)."""
    with backend.database("content-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def world(session: Session) -> World:
    world = load_world(session)
    session.commit()
    return world

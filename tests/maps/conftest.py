"""The map is tested in the scheduling world (two communes of Quảng Ngãi, villages, loudspeakers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.fleet.models import Device
from loa.units.models import AdminUnit
from tests.conftest import Backend
from tests.schedule.world import HRE_VILLAGE, KINH_VILLAGE, World, load_world, seed_world

# Near Ba Tơ: the market loudspeaker, Gò Khoại 150 m from it, Làng Teng 2 km away.
MARKET = (14.7700, 108.7200)
GO_KHOAI = (14.7713, 108.7205)
LANG_TENG = (14.7880, 108.7200)


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def world(session: Session) -> World:
    world = load_world(session)
    session.commit()
    return world


def place_world(session: Session) -> None:
    """Coordinates and populations a commune would enter."""
    market = session.scalars(select(Device).where(Device.uid == "loa-bt-01")).one()
    market.latitude, market.longitude, market.online = *MARKET, True
    for code, point, people in ((KINH_VILLAGE, GO_KHOAI, 850), (HRE_VILLAGE, LANG_TENG, 420)):
        village = session.scalars(select(AdminUnit).where(AdminUnit.code == code)).one()
        village.latitude, village.longitude = point
        village.population = people
    session.commit()

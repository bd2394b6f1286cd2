"""Demo data for ``loa demo`` / ``make run``: one province (Quảng Ngãi, code 51) ready to explore.

Every step is idempotent, so ``make run`` can be repeated on the same data directory. Steps are plain
functions ``(session, settings) -> lines to print``, run in order inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.demo import seed_demo_users
from loa.accounts.principal import Principal, Role
from loa.areas import service as areas
from loa.areas.logic import VILLAGE_KINDS
from loa.areas.stations import create_station
from loa.fleet.models import Device
from loa.settings import Settings
from loa.sim.demo import seed_demo_devices
from loa.units.models import AdminUnit, Station

DemoStep = Callable[[Session, Settings], list[str]]

SYSTEM = Principal(user_id=0, username="system", display_name="Hệ thống", role=Role.ADMIN)

# Communes of the former Ba Tơ district (Quảng Ngãi) used by the demo, with generic village names:
# real village lists come from the commune (CSV import on the area page).
DEMO_COMMUNES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("21484", ("Tổ dân phố 1", "Tổ dân phố 2", "Thôn 1", "Thôn 2")),
)
DEMO_STATIONS: tuple[tuple[str, str, str], ...] = (
    ("21484", "Đài truyền thanh xã Ba Tơ", "ip"),
    ("21484", "Hệ thống truyền thanh FM cũ (thị trấn Ba Tơ)", "fm"),
)


def seed_areas(session: Session, settings: Settings) -> list[str]:
    return areas.import_units(session, with_history=True).lines()


def seed_villages_and_stations(session: Session, settings: Settings) -> list[str]:
    added = 0
    for commune_code, names in DEMO_COMMUNES:
        commune = areas.get_unit(session, commune_code)
        existing = {unit.name for unit in areas.villages(session, commune)}
        for name in names:
            if name not in existing:
                areas.add_village(session, commune_code=commune_code, name=name, principal=SYSTEM)
                added += 1
    for commune_code, name, technology in DEMO_STATIONS:
        commune = areas.get_unit(session, commune_code)
        exists = session.scalar(
            select(Station.id).where(Station.commune_id == commune.id, Station.name == name)
        )
        if exists is None:
            create_station(
                session, commune_code=commune_code, name=name, principal=SYSTEM, technology=technology
            )
            added += 1
    return [f"Thôn/tổ dân phố và đài mẫu: thêm {added}."] if added else []


# Where the demo's villages are and how many live there (made up, around Ba Tơ): the map has something
# to show, and its "people covered" a figure. The demo loudspeakers stand beside these villages.
DEMO_PLACES: tuple[tuple[float, float, int], ...] = (
    (14.7700, 108.7260, 1240),
    (14.7745, 108.7300, 980),
    (14.7820, 108.7170, 650),
    (14.7610, 108.7120, 720),
)


def seed_demo_places(session: Session, settings: Settings) -> list[str]:
    """Points and populations for the demo villages, points for the demo loudspeakers (only those
    still without one: a person's own entries are never overwritten)."""
    commune = session.scalar(select(AdminUnit).where(AdminUnit.code == DEMO_COMMUNES[0][0]))
    if commune is None:
        return []
    villages = session.scalars(
        select(AdminUnit)
        .where(AdminUnit.parent_id == commune.id, AdminUnit.kind.in_(list(VILLAGE_KINDS)))
        .order_by(AdminUnit.code)
    ).all()
    placed = 0
    for village, (lat, lon, people) in zip(villages, DEMO_PLACES, strict=False):
        if village.latitude is None and village.population is None:
            village.latitude, village.longitude, village.population = lat, lon, people
            placed += 1
    devices = session.scalars(
        select(Device).where(Device.commune_id == commune.id).order_by(Device.uid)
    ).all()
    for index, device in enumerate(devices):
        if device.latitude is None:
            lat, lon, _ = DEMO_PLACES[index % len(DEMO_PLACES)]
            # beside a village, 80 m further east each time round (one degree of longitude ≈ 107 km here)
            device.latitude, device.longitude = lat + 0.0004, lon + 0.00075 * (index // len(DEMO_PLACES) + 1)
            placed += 1
    return [f"Vị trí mẫu cho bản đồ: {placed} thôn và cụm loa."] if placed else []


DEMO_STEPS: tuple[DemoStep, ...] = (
    seed_areas,
    seed_villages_and_stations,
    lambda session, settings: seed_demo_users(session),
    seed_demo_devices,
    seed_demo_places,
)


def seed_demo(session: Session, settings: Settings) -> list[str]:
    """Create the demo data once (idempotent) and return lines to print for the person starting it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for step in DEMO_STEPS:
        lines.extend(step(session, settings))
        session.flush()
    province = session.scalar(select(AdminUnit).where(AdminUnit.code == "51"))
    if province is not None:
        lines.append(f"Tỉnh mẫu: {province.name} (mã {province.code}).")
    return lines

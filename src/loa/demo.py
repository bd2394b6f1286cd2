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
from loa.areas.models import AdminUnit, Station
from loa.areas.stations import create_station
from loa.settings import Settings
from loa.sim.demo import seed_demo_devices

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


DEMO_STEPS: tuple[DemoStep, ...] = (
    seed_areas,
    seed_villages_and_stations,
    lambda session, settings: seed_demo_users(session),
    seed_demo_devices,
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

"""Where a village is and how many people live there: the map's village points and its "people covered"
(``loa.maps.coverage``). Entered by whoever manages the commune's villages; every change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.areas.logic import VILLAGE_KINDS
from loa.areas.service import ensure_can_manage, get_unit
from loa.errors import InvalidInput
from loa.units.models import AdminUnit

MAX_POPULATION = 1_000_000  # a village or residential group; a typo with three more zeros is refused
# Vietnam with its islands, with a margin: a point outside is a swapped or mistyped coordinate.
LATITUDE_RANGE = (8.0, 23.6)
LONGITUDE_RANGE = (102.0, 117.5)


@dataclass(frozen=True)
class Place:
    latitude: float | None
    longitude: float | None
    population: int | None


def number(raw: str, label: str) -> float | None:
    """ "14,77" or "14.77" (people write both); empty is None."""
    text = raw.strip().replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as err:
        raise InvalidInput(f"{label} phải là số, ví dụ 14,77.", code="invalid_number") from err


def check_place(latitude: float | None, longitude: float | None, population: float | None) -> Place:
    """Both coordinates or neither, inside Vietnam; a whole, plausible population."""
    if (latitude is None) != (longitude is None):
        raise InvalidInput("Hãy nhập cả vĩ độ và kinh độ (hoặc để trống cả hai).", code="invalid_coordinate")
    if latitude is not None and longitude is not None:
        if not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
            raise InvalidInput(
                "Vĩ độ phải nằm trong lãnh thổ Việt Nam (khoảng 8 đến 23,6). "
                "Có thể đã nhập nhầm với kinh độ.",
                code="invalid_coordinate",
            )
        if not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
            raise InvalidInput(
                "Kinh độ phải nằm trong lãnh thổ Việt Nam (khoảng 102 đến 117,5).", code="invalid_coordinate"
            )
    people: int | None = None
    if population is not None:
        if population != int(population) or not 0 <= population <= MAX_POPULATION:
            raise InvalidInput(
                f"Số dân phải là số nguyên từ 0 đến {MAX_POPULATION:,}.".replace(",", "."),
                code="invalid_population",
            )
        people = int(population)
    return Place(latitude, longitude, people)


def set_place(session: Session, *, code: str, principal: Principal, place: Place) -> AdminUnit:
    """Set a village's point and population (audited with the values before and after)."""
    unit = get_unit(session, code)
    if unit.kind not in VILLAGE_KINDS:
        raise InvalidInput("Chỉ thôn, tổ dân phố mới nhập vị trí và số dân ở đây.", code="not_a_village")
    commune = session.get(AdminUnit, unit.parent_id) if unit.parent_id is not None else None
    ensure_can_manage(principal, commune or unit)
    before = {"latitude": unit.latitude, "longitude": unit.longitude, "population": unit.population}
    unit.latitude, unit.longitude, unit.population = place.latitude, place.longitude, place.population
    session.flush()
    record(
        session,
        action="area.village_place",
        actor=principal,
        target_type="area",
        target_id=unit.code,
        area_id=unit.id,
        details={
            "name": unit.name,
            "before": before,
            "after": {
                "latitude": place.latitude,
                "longitude": place.longitude,
                "population": place.population,
            },
        },
    )
    return unit

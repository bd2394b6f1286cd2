"""Commune radio stations (đài truyền thanh cấp xã). After the 2025 mergers one commune often runs
several legacy systems side by side (e.g. the old FM station of one former commune and the IP system
of another), so a commune has any number of stations, each named uniquely within it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.areas.logic import COMMUNE_KINDS, fold
from loa.areas.service import ensure_access, ensure_can_manage, get_unit
from loa.errors import Conflict, InvalidInput
from loa.units.models import AdminUnit, Station


@dataclass(frozen=True)
class TechnologyInfo:
    label: str
    label_en: str


# Circular 39/2020/TT-BTTTT distinguishes wired, FM (wireless) and IT-based (IP) commune radio.
TECHNOLOGIES: dict[str, TechnologyInfo] = {
    "ip": TechnologyInfo("Ứng dụng CNTT-VT (IP)", "IP-based"),
    "fm": TechnologyInfo("Vô tuyến (FM)", "Wireless FM"),
    "wired": TechnologyInfo("Hữu tuyến (có dây)", "Wired"),
}

# Mainland, Hoàng Sa and Trường Sa all lie within these bounds.
LATITUDE_RANGE = (6.0, 24.0)
LONGITUDE_RANGE = (102.0, 118.0)
MAX_NAME_LENGTH = 200


def technology_label(technology: str) -> str:
    info = TECHNOLOGIES.get(technology)
    return info.label if info else technology


def _commune(session: Session, code: str) -> AdminUnit:
    unit = get_unit(session, code)
    if unit.kind not in COMMUNE_KINDS or unit.valid_to is not None:
        raise InvalidInput(
            f"Đài truyền thanh chỉ gắn với xã, phường hoặc đặc khu; «{unit.name}» không phải.",
            code="not_a_commune",
        )
    return unit


def validate_station(
    name: str, technology: str, latitude: float | None, longitude: float | None
) -> list[dict[str, str]]:
    """Per-field Vietnamese messages; empty when valid."""
    errors = []
    if not name.strip():
        errors.append({"field": "name", "message": "Thiếu tên đài."})
    elif len(name.strip()) > MAX_NAME_LENGTH:
        errors.append({"field": "name", "message": f"Tên đài dài quá {MAX_NAME_LENGTH} ký tự."})
    if technology not in TECHNOLOGIES:
        allowed = ", ".join(f"{k} ({v.label})" for k, v in TECHNOLOGIES.items())
        errors.append(
            {"field": "technology", "message": f"Công nghệ không hợp lệ; chọn một trong: {allowed}."}
        )
    if (latitude is None) != (longitude is None):
        errors.append(
            {"field": "latitude", "message": "Cần nhập đủ cả vĩ độ và kinh độ (hoặc bỏ trống cả hai)."}
        )
    if latitude is not None and not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
        errors.append({"field": "latitude", "message": "Vĩ độ nằm ngoài lãnh thổ Việt Nam."})
    if longitude is not None and not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
        errors.append({"field": "longitude", "message": "Kinh độ nằm ngoài lãnh thổ Việt Nam."})
    return errors


def create_station(
    session: Session,
    *,
    commune_code: str,
    name: str,
    principal: Principal,
    technology: str = "ip",
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> Station:
    commune = _commune(session, commune_code)
    ensure_can_manage(principal, commune)
    errors = validate_station(name, technology, latitude, longitude)
    if errors:
        raise InvalidInput(errors[0]["message"], code="invalid_station", details=errors)
    clean = " ".join(name.split())
    same = select(Station.name).where(Station.commune_id == commune.id)
    if any(fold(existing) == fold(clean) for existing in session.scalars(same)):
        raise Conflict(f"{commune.name} đã có đài tên «{clean}».", code="station_exists")
    station = Station(
        commune_id=commune.id,
        name=clean,
        technology=technology,
        address=" ".join(address.split())[:300],
        latitude=latitude,
        longitude=longitude,
    )
    session.add(station)
    session.flush()
    record(
        session,
        action="area.station_add",
        actor=principal,
        target_type="station",
        target_id=station.id,
        area_id=commune.id,
        details={"name": station.name},
    )
    return station


def list_stations(session: Session, *, commune_code: str, principal: Principal) -> list[Station]:
    commune = get_unit(session, commune_code)
    ensure_access(principal, commune)
    stmt = select(Station).where(Station.commune_id == commune.id)
    return sorted(session.scalars(stmt), key=lambda station: fold(station.name))

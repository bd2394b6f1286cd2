"""JSON routes of areas: browse, search and read units; add villages and stations."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from loa.accounts.deps import ApiPrincipal
from loa.accounts.principal import Principal
from loa.areas import service, villageplace
from loa.areas.logic import COMMUNE_KINDS, UNIT_KINDS, display_name
from loa.areas.stations import create_station, list_stations, technology_label
from loa.errors import InvalidInput, PayloadTooLarge
from loa.units.models import AdminUnit, AreaLineage, Station
from loa.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/areas", tags=["areas"])

MAX_CSV_BYTES = 1024 * 1024


class AreaOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    display_name: str
    has_children: bool | None = None
    valid_to: date | None = None


class AreaRef(BaseModel):
    code: str
    name: str
    kind: str


class LineageOut(BaseModel):
    code: str
    name: str
    kind: str
    change: str
    effective_on: date
    note: str


class StationOut(BaseModel):
    id: int
    name: str
    technology: str
    technology_label: str
    address: str
    latitude: float | None
    longitude: float | None
    active: bool


class AreaDetailOut(AreaOut):
    path: str
    parent: AreaRef | None
    breadcrumbs: list[AreaRef]
    valid_from: date | None
    former_province_name: str
    former_district: AreaRef | None
    predecessors: list[LineageOut]
    successors: list[LineageOut]
    villages: list[AreaOut]
    stations: list[StationOut]


class VillageIn(BaseModel):
    name: str = Field(max_length=200, description="Tên, ví dụ «Gò Da» hoặc «Thôn Gò Da».")
    kind: str = Field(
        default="", max_length=40, description="thôn, tổ dân phố, ấp, bản, … (trống: theo tên)."
    )
    code: str = Field(default="", max_length=20, description="Mã riêng trong xã (trống: tự đánh số).")


class StationIn(BaseModel):
    name: str = Field(max_length=200)
    technology: str = Field(default="ip", max_length=40)
    address: str = Field(default="", max_length=300)
    latitude: float | None = None
    longitude: float | None = None


def area_out(unit: AdminUnit, has_children: bool | None = None) -> AreaOut:
    return AreaOut(
        code=unit.code,
        name=unit.name,
        kind=unit.kind.value,
        kind_label=UNIT_KINDS[unit.kind].label,
        display_name=display_name(unit.kind, unit.name),
        has_children=has_children,
        valid_to=unit.valid_to,
    )


def _ref(unit: AdminUnit) -> AreaRef:
    return AreaRef(code=unit.code, name=unit.name, kind=unit.kind.value)


def station_out(station: Station) -> StationOut:
    return StationOut(
        id=station.id,
        name=station.name,
        technology=station.technology,
        technology_label=technology_label(station.technology),
        address=station.address,
        latitude=station.latitude,
        longitude=station.longitude,
        active=station.active,
    )


@router.get("", response_model=list[AreaOut])
def list_areas(
    db: SessionDep,
    principal: ApiPrincipal,
    parent: str | None = Query(default=None, max_length=32, description="Mã đơn vị cấp trên."),
    history: bool = Query(default=False, description="Gồm cả quận/huyện cũ."),
) -> list[AreaOut]:
    """Đơn vị trực thuộc ``parent`` mà người gọi được xem (không có ``parent``: cấp cao nhất)."""
    nodes = service.children(db, parent, principal, include_history=history)
    return [area_out(n.unit, n.has_children) for n in nodes]


@router.get("/search", response_model=list[AreaOut])
def search_areas(
    db: SessionDep,
    principal: ApiPrincipal,
    q: str = Query(max_length=100, description="Tên (có hoặc không dấu) hoặc mã."),
    limit: int = Query(default=20, ge=1, le=service.MAX_SEARCH_LIMIT),
) -> list[AreaOut]:
    """Tìm địa bàn theo tên, có dấu hoặc không dấu («ba to», «Ba Tơ»), hoặc theo mã."""
    return [area_out(u) for u in service.search(db, q, principal, limit)]


@router.get("/{code}", response_model=AreaDetailOut)
def get_area(code: str, db: SessionDep, principal: ApiPrincipal) -> AreaDetailOut:
    unit = service.get_visible_unit(db, code, principal)
    return detail_out(db, unit, principal)


def detail_out(db: Session, unit: AdminUnit, principal: Principal) -> AreaDetailOut:
    history = service.lineage(db, unit)
    crumbs = service.breadcrumbs(db, unit, principal)
    base = area_out(unit, has_children=None)
    stations = (
        list_stations(db, commune_code=unit.code, principal=principal) if unit.kind in COMMUNE_KINDS else []
    )
    return AreaDetailOut(
        **base.model_dump(),
        path=unit.path,
        parent=_ref(crumbs[-1]) if crumbs else None,
        breadcrumbs=[_ref(u) for u in crumbs],
        valid_from=unit.valid_from,
        former_province_name=unit.former_province_name,
        former_district=_ref(history.former_district) if history.former_district else None,
        predecessors=[_lineage_out(u, link) for u, link in history.predecessors],
        successors=[_lineage_out(u, link) for u, link in history.successors],
        villages=[area_out(v) for v in service.villages(db, unit)],
        stations=[station_out(s) for s in stations],
    )


def _lineage_out(unit: AdminUnit, link: AreaLineage) -> LineageOut:
    return LineageOut(
        code=unit.code,
        name=unit.name,
        kind=unit.kind.value,
        change=link.change.value,
        effective_on=link.effective_on,
        note=link.note,
    )


@router.post("/{code}/villages", response_model=AreaOut, status_code=201)
def add_village(code: str, body: VillageIn, db: SessionDep, principal: ApiPrincipal) -> AreaOut:
    """Thêm một thôn/tổ dân phố vào xã/phường/đặc khu."""
    unit = service.add_village(
        db, commune_code=code, name=body.name, kind=body.kind, local_code=body.code, principal=principal
    )
    db.commit()
    return area_out(unit, has_children=False)


class PlaceIn(BaseModel):
    latitude: float | None = None
    longitude: float | None = None
    population: int | None = None


class PlaceOut(PlaceIn):
    code: str
    name: str


@router.put("/{code}/place", response_model=PlaceOut)
def set_village_place(code: str, body: PlaceIn, db: SessionDep, principal: ApiPrincipal) -> PlaceOut:
    """Vị trí (vĩ độ, kinh độ) và số dân của một thôn/tổ dân phố, cho bản đồ và số người nghe được."""
    place = villageplace.check_place(body.latitude, body.longitude, body.population)
    unit = villageplace.set_place(db, code=code, principal=principal, place=place)
    db.commit()
    return PlaceOut(
        code=unit.code,
        name=unit.name,
        latitude=unit.latitude,
        longitude=unit.longitude,
        population=unit.population,
    )


@router.post("/{code}/villages/csv", response_model=list[AreaOut], status_code=201)
def import_villages(
    code: str,
    db: SessionDep,
    principal: ApiPrincipal,
    data: bytes = Body(default=b"", media_type="text/csv"),
) -> list[AreaOut]:
    """Nạp danh sách thôn/tổ dân phố từ CSV (thân yêu cầu là nội dung tệp; cột ten, loai, ma).
    Có dòng lỗi thì không ghi gì và trả về lỗi từng dòng."""
    if len(data) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"Tệp CSV quá lớn (tối đa {MAX_CSV_BYTES // 1024} KB).")
    if not data:
        raise InvalidInput("Chưa gửi nội dung tệp CSV.", code="csv_empty")
    added = service.import_villages_csv(db, commune_code=code, data=data, principal=principal)
    db.commit()
    return [area_out(u, has_children=False) for u in added]


@router.get("/{code}/stations", response_model=list[StationOut])
def get_stations(code: str, db: SessionDep, principal: ApiPrincipal) -> list[StationOut]:
    return [station_out(s) for s in list_stations(db, commune_code=code, principal=principal)]


@router.post("/{code}/stations", response_model=StationOut, status_code=201)
def add_station(code: str, body: StationIn, db: SessionDep, principal: ApiPrincipal) -> StationOut:
    """Thêm một đài truyền thanh vào xã/phường/đặc khu (một xã có thể có nhiều đài)."""
    station = create_station(
        db,
        commune_code=code,
        name=body.name,
        technology=body.technology,
        address=body.address,
        latitude=body.latitude,
        longitude=body.longitude,
        principal=principal,
    )
    db.commit()
    return station_out(station)

"""HTML pages of areas: the tree browser (HTMX lazy expansion, diacritic-insensitive search) and the
unit page (kind, code, validity, former district, lineage, villages, stations) with its forms."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Principal
from loa.areas import service, villageplace
from loa.areas.logic import COMMUNE_KINDS, UNIT_KINDS, VILLAGE_KINDS, VILLAGE_TYPE_HINT, display_name
from loa.areas.stations import TECHNOLOGIES, create_station, list_stations, technology_label
from loa.errors import InvalidInput, LoaError, PayloadTooLarge
from loa.units.models import AdminUnit
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "areas_flash"
MAX_CSV_BYTES = 1024 * 1024
FormStr = Annotated[str, Form()]


_flash, _pop_flash = flash_pair(FLASH)


def _date(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else ""


def _helpers() -> dict[str, Any]:
    return {
        "kind_label": lambda unit: UNIT_KINDS[unit.kind].label,
        "full_name": lambda unit: display_name(unit.kind, unit.name),
        "fmt_date": _date,
        "technology_label": technology_label,
    }


@router.get("/areas")
def areas_page(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    q: str = Query(default="", max_length=100),
) -> Response:
    nodes = service.top_level(db, principal)
    results = service.search(db, q, principal, limit=50) if q.strip() else None
    return render(
        request,
        "areas/browser.html",
        {"active_nav": "areas", "nodes": nodes, "q": q, "results": results, **_helpers()},
    )


@router.get("/areas/tree")
def tree_fragment(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    parent: str = Query(max_length=32),
) -> Response:
    """The children of one node, for HTMX to place under it."""
    nodes = service.children(db, parent, principal)
    return render(request, "areas/_nodes.html", {"nodes": nodes, **_helpers()})


@router.get("/areas/search")
def search_fragment(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    q: str = Query(default="", max_length=100),
) -> Response:
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(f"/areas?{urlencode({'q': q})}" if q else "/areas", status_code=303)
    results = service.search(db, q, principal, limit=50) if q.strip() else None
    return render(request, "areas/_results.html", {"q": q, "results": results, **_helpers()})


def _can_manage(principal: Principal, unit: AdminUnit) -> bool:
    try:
        service.ensure_can_manage(principal, unit)
    except LoaError:
        return False
    return unit.kind in COMMUNE_KINDS and unit.valid_to is None


def _can_place(db: Session, principal: Principal, unit: AdminUnit) -> bool:
    """A village's point and population: whoever manages its commune's villages."""
    if unit.kind not in VILLAGE_KINDS or unit.parent_id is None or unit.valid_to is not None:
        return False
    commune = db.get(AdminUnit, unit.parent_id)
    return commune is not None and _can_manage(principal, commune)


def _unit_page(
    request: Request,
    db: Session,
    principal: Principal,
    unit: AdminUnit,
    *,
    error: str | None = None,
    row_errors: list[dict[str, Any]] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    is_commune = unit.kind in COMMUNE_KINDS
    crumbs = service.breadcrumbs(db, unit, principal)
    context = {
        "active_nav": "areas",
        "unit": unit,
        "info": UNIT_KINDS[unit.kind],
        "crumbs": [(u, principal.can_access_path(u.path)) for u in crumbs],
        "history": service.lineage(db, unit),
        "children": service.children(db, unit.code, principal) if not is_commune else [],
        "villages": service.villages(db, unit) if is_commune else [],
        "stations": list_stations(db, commune_code=unit.code, principal=principal) if is_commune else [],
        "is_commune": is_commune,
        "can_manage": _can_manage(principal, unit),
        "can_place": _can_place(db, principal, unit),
        "can_open": lambda u: principal.can_access_path(u.path),
        "technologies": TECHNOLOGIES,
        "village_hint": VILLAGE_TYPE_HINT,
        "flash": _pop_flash(request),
        "error": error,
        "row_errors": row_errors or [],
        "form": form or {},
        **_helpers(),
    }
    return render(request, "areas/unit.html", context, status_code=status)


@router.get("/areas/{code}")
def unit_page(code: str, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    unit = service.get_visible_unit(db, code, principal)
    return _unit_page(request, db, principal, unit)


def _failed(
    request: Request, db: Session, principal: Principal, code: str, err: LoaError, form: dict[str, str]
) -> Response:
    db.rollback()
    unit = service.get_visible_unit(db, code, principal)
    details = err.details if isinstance(err.details, list) and err.code == "csv_rows_invalid" else None
    return _unit_page(
        request, db, principal, unit, error=err.message, row_errors=details, form=form, status=err.status
    )


@router.post("/areas/{code}/villages")
def add_village(
    code: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    name: FormStr = "",
    kind: FormStr = "",
) -> Response:
    form = {"village_name": name, "village_kind": kind}
    try:
        village = service.add_village(db, commune_code=code, name=name, kind=kind, principal=principal)
    except LoaError as err:
        return _failed(request, db, principal, code, err, form)
    db.commit()
    _flash(request, f"Đã thêm {village.name}.")
    return RedirectResponse(f"/areas/{code}#villages", status_code=303)


@router.post("/areas/{code}/villages/csv")
def import_villages(
    code: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        if file is None or not file.filename:
            raise InvalidInput("Chưa chọn tệp CSV.", code="csv_missing")
        data = file.file.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise PayloadTooLarge(f"Tệp CSV quá lớn (tối đa {MAX_CSV_BYTES // 1024} KB).")
        added = service.import_villages_csv(db, commune_code=code, data=data, principal=principal)
    except LoaError as err:
        return _failed(request, db, principal, code, err, {})
    db.commit()
    _flash(request, f"Đã thêm {number_text(len(added))} thôn/tổ dân phố từ tệp.")
    return RedirectResponse(f"/areas/{code}#villages", status_code=303)


@router.post("/areas/{code}/stations")
def add_station(
    code: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    name: FormStr = "",
    technology: FormStr = "ip",
    address: FormStr = "",
    latitude: FormStr = "",
    longitude: FormStr = "",
) -> Response:
    form = {
        "station_name": name,
        "technology": technology,
        "address": address,
        "lat": latitude,
        "lon": longitude,
    }
    try:
        station = create_station(
            db,
            commune_code=code,
            name=name,
            technology=technology,
            address=address,
            latitude=_coordinate(latitude, "Vĩ độ"),
            longitude=_coordinate(longitude, "Kinh độ"),
            principal=principal,
        )
    except LoaError as err:
        return _failed(request, db, principal, code, err, form)
    db.commit()
    _flash(request, f"Đã thêm đài «{station.name}».")
    return RedirectResponse(f"/areas/{code}#stations", status_code=303)


@router.post("/areas/{code}/place")
def village_place(
    code: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    latitude: FormStr = "",
    longitude: FormStr = "",
    population: FormStr = "",
) -> Response:
    """Vị trí và số dân của một thôn (cho bản đồ và số người nghe được)."""
    form = {"lat": latitude, "lon": longitude, "population": population}
    try:
        place = villageplace.check_place(
            villageplace.number(latitude, "Vĩ độ"),
            villageplace.number(longitude, "Kinh độ"),
            villageplace.number(population, "Số dân"),
        )
        unit = villageplace.set_place(db, code=code, principal=principal, place=place)
    except LoaError as err:
        return _failed(request, db, principal, code, err, form)
    db.commit()
    _flash(request, f"Đã lưu vị trí và số dân của {unit.name}.")
    return RedirectResponse(f"/areas/{code}", status_code=303)


def _coordinate(raw: str, label: str) -> float | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as err:
        raise InvalidInput(f"{label} phải là số thập phân, ví dụ 14.77.", code="invalid_coordinate") from err

"""HTML pages of the registers: ``/activities`` with one tab per register (filters, table, create form,
CSV/Excel import and export), the look at an upload's duplicate rows before they are imported, and a
page per record (edit, delete). Scoped like the service: a person sees and files records only within
their areas."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, visible_unit
from loa.activities import browse, forms, imports, service
from loa.activities.csvio import write_csv
from loa.activities.present import entry_text, export_cells
from loa.activities.registers import REGISTERS, AnyRecord, RegisterSpec, get_register
from loa.areas import picker
from loa.errors import InvalidInput, LoaError, PayloadTooLarge
from loa.topics.service import list_topics
from loa.vocab.numbers import number_text
from loa.vocab.periodform import choice_groups, year_choices
from loa.web.deps import Posted, SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "activities_flash"
MAX_CSV_BYTES = 5 * 1024 * 1024
PER_PAGE = 50
DEFAULT_REGISTER = forms.TABS[0].key
FilterStr = Annotated[str, Query(max_length=40)]
TypedStr = Annotated[str, Query(max_length=200)]


flash, _pop_flash = flash_pair(FLASH)


def _blank_form(session: Session, principal: Principal, spec: RegisterSpec) -> dict[str, Any]:
    unit = browse.default_area(session, principal)
    values: dict[str, Any] = {f.name: "" for f in spec.fields}
    values.update(area=unit.code if unit else "", topics=[])
    for f in spec.fields:
        if f.default is not None:
            values[f.name] = str(f.default)
    return values


def vocabulary(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "active_nav": "activities",
        "tabs": forms.TABS,
        "widget": forms.widget,
        "hint": forms.hint,
        "column_label": forms.column_label,
        "display": forms.display_cell,
        "entry_text": entry_text,
        "topics": list_topics(session),
        "area_choices": browse.area_choices(session, principal),
        "area_label": lambda code: picker.chosen_labels(session, [code]).get(code, "") if code else "",
        "can_edit": principal.has(Permission.EDIT_CONTENT),
    }


def _register_page(
    request: Request,
    session: Session,
    principal: Principal,
    spec: RegisterSpec,
    filters: browse.Filters,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    field_errors: dict[str, list[str]] | None = None,
    errors: list[str] | None = None,
    import_errors: list[dict[str, Any]] | None = None,
    open_panel: str = "",
    status: int = 200,
) -> Response:
    wanted = filters.wanted
    result = browse.find_records(
        session, spec=spec, principal=principal, wanted=wanted, page=page, per_page=PER_PAGE
    )
    counts = {
        key: browse.count_records(session, spec=s, principal=principal, wanted=wanted)
        for key, s in REGISTERS.items()
    }
    areas = browse.areas_of(session, [r.area_id for r in result.items])
    context = {
        **vocabulary(session, principal),
        "spec": spec,
        "tab": forms.TAB_BY_KEY[spec.key],
        "counts": counts,
        "filters": filters,
        "period_groups": choice_groups(with_all_time=True),
        "years": year_choices(date.today()),
        "result": result,
        "area_names": {i: u.name for i, u in areas.items()},
        "form": form if form is not None else _blank_form(session, principal, spec),
        "field_errors": field_errors or {},
        "errors": errors or [],
        "import_errors": import_errors or [],
        "open_panel": open_panel,
        "flash": _pop_flash(request),
    }
    return render(request, "activities/register.html", context, status_code=status)


@router.get("/activities")
def overview(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    period: FilterStr = "",
    year: FilterStr = "",
    start: FilterStr = "",
    end: FilterStr = "",
    area: FilterStr = "",
    topic: FilterStr = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    area_text: TypedStr = "",
) -> Response:
    return register_page(
        DEFAULT_REGISTER, request, principal, db, period, year, start, end, area, topic, page, area_text
    )


@router.get("/activities/{register}")
def register_page(
    register: str,
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    period: FilterStr = "",
    year: FilterStr = "",
    start: FilterStr = "",
    end: FilterStr = "",
    area: FilterStr = "",
    topic: FilterStr = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    area_text: TypedStr = "",
) -> Response:
    spec = get_register(register)
    require(principal, Permission.VIEW)
    if not area.strip() and area_text.strip():  # typed without choosing (no JavaScript)
        area = _typed_area(db, principal, area_text) or area_text
    filters = browse.parse_filters(db, principal, period, year, start, end, area, topic)
    return _register_page(request, db, principal, spec, filters, page=page)


@router.post("/activities/{register}")
def create(
    register: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    posted: Posted,
) -> Response:
    spec = get_register(register)
    raw = _with_typed_area(db, principal, spec, forms.form_input(spec, posted.get, posted.getlist), posted)
    try:
        record = service.create_record(db, spec=spec, principal=principal, data=raw, ip=client_ip(request))
    except LoaError as err:
        db.rollback()
        field_errors, general = _split_errors(spec, err)
        filters = browse.Filters.empty()
        return _register_page(
            request,
            db,
            principal,
            spec,
            filters,
            form=raw,
            field_errors=field_errors,
            errors=general,
            open_panel="create",
            status=err.status,
        )
    db.commit()
    flash(request, f"Đã thêm {spec.noun} số {record.id}.")
    return RedirectResponse(f"/activities/{spec.key}", status_code=303)


def _typed_area(session: Session, principal: Principal, text: str) -> str | None:
    """The code of the one area named ``text`` (None when there is none or more than one)."""
    try:
        return picker.resolve(session, principal, code="", text=text, kinds=picker.kinds_of(())).code
    except LoaError:
        return None


def _with_typed_area(
    session: Session, principal: Principal, spec: RegisterSpec, raw: dict[str, Any], posted: FormData
) -> dict[str, Any]:
    """Without JavaScript the area is typed, not chosen: read the name; a name that names nothing (or
    several) is left as typed, and the register's own check says so."""
    for f in spec.fields:
        typed = str(posted.get(f"{f.name}_text") or "").strip()
        if f.type == "area" and not raw.get(f.name) and typed:
            raw = {**raw, f.name: _typed_area(session, principal, typed) or typed}
    return raw


def _split_errors(spec: RegisterSpec, err: LoaError) -> tuple[dict[str, list[str]], list[str]]:
    """Field errors go next to their fields; the page also says, once, why nothing was saved."""
    if isinstance(err.details, list):
        field_errors, general = forms.errors_by_field(spec, err.details)
        if field_errors or general:
            count = sum(len(v) for v in field_errors.values()) + len(general)
            lead = f"Chưa lưu {spec.noun}: có {count} lỗi, xem các ô được đánh dấu đỏ."
            return field_errors, [lead, *general]
    return {}, [err.message]


@router.get("/activities/{register}/export.csv")
def export_csv(
    register: str,
    principal: WebPrincipal,
    db: SessionDep,
    period: FilterStr = "",
    year: FilterStr = "",
    start: FilterStr = "",
    end: FilterStr = "",
    area: FilterStr = "",
    topic: FilterStr = "",
) -> Response:
    """The records the page shows (same filters), oldest first, in the format the importer reads."""
    spec = get_register(register)
    filters = browse.parse_filters(db, principal, period, year, start, end, area, topic)
    if filters.error:
        raise InvalidInput(filters.error)
    result = browse.find_records(db, spec=spec, principal=principal, wanted=filters.wanted, per_page=None)
    areas = service.areas_by_id(db, (r.area_id for r in result.items))
    content = write_csv(spec, [export_cells(spec, r, areas.get(r.area_id)) for r in reversed(result.items)])
    return _csv(content, f"{spec.key}.csv")


@router.get("/activities/{register}/template.csv")
def template_csv(register: str, principal: WebPrincipal) -> Response:
    """An empty sheet with the register's headers, to fill in a spreadsheet and import."""
    spec = get_register(register)
    return _csv(write_csv(spec, []), f"mau-{spec.key}.csv")


def _csv(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/activities/{register}/import")
async def import_csv(
    register: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    posted: Posted,
) -> Response:
    """Check the file; import it at once when no row repeats a record, else show the rows first."""
    spec = get_register(register)
    upload = posted.get("file")
    default_code = str(posted.get("default_area") or "").strip()
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Chưa chọn tệp CSV hoặc Excel để tải lên.", code="csv_missing")
        content = await upload.read(MAX_CSV_BYTES + 1)
        if len(content) > MAX_CSV_BYTES:
            raise PayloadTooLarge(f"Tệp quá lớn (tối đa {MAX_CSV_BYTES // (1024 * 1024)} MB).")
        default_id = visible_unit(db, principal, code=default_code).id if default_code else None
        outcome = imports.import_file(
            db,
            spec=spec,
            principal=principal,
            content=content,
            filename=upload.filename,
            default_area_id=default_id,
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        rows = err.details.get("errors") if isinstance(err.details, dict) else None
        filters = browse.Filters.empty()
        return _register_page(
            request,
            db,
            principal,
            spec,
            filters,
            errors=[err.message],
            import_errors=rows if isinstance(rows, list) else [],
            open_panel="import",
            status=err.status,
        )
    db.commit()
    if outcome.preview is not None:
        return RedirectResponse(
            f"/activities/{spec.key}/imports/{outcome.preview.import_id}", status_code=303
        )
    assert outcome.result is not None
    flash(request, imported_text(spec, outcome.result))
    return RedirectResponse(f"/activities/{spec.key}", status_code=303)


def imported_text(spec: RegisterSpec, result: imports.ImportResult) -> str:
    skipped = f"; bỏ qua {result.skipped} dòng trùng" if result.skipped else ""
    created = number_text(result.created)
    return f"Đã nhập {created} {spec.noun} từ tệp «{result.filename}» (mã hóa {result.encoding}){skipped}."


def _record_page(
    request: Request,
    session: Session,
    principal: Principal,
    spec: RegisterSpec,
    record: AnyRecord,
    *,
    form: dict[str, Any] | None = None,
    field_errors: dict[str, list[str]] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    area = service.areas_by_id(session, [record.area_id]).get(record.area_id)
    context = {
        **vocabulary(session, principal),
        "spec": spec,
        "tab": forms.TAB_BY_KEY[spec.key],
        "record": record,
        "area": area,
        "form": form if form is not None else forms.form_values(spec, record, area.code if area else ""),
        "field_errors": field_errors or {},
        "errors": errors or [],
        "flash": _pop_flash(request),
    }
    return render(request, "activities/record.html", context, status_code=status)


@router.get("/activities/{register}/{record_id:int}")
def record_page(
    register: str, record_id: int, request: Request, principal: WebPrincipal, db: SessionDep
) -> Response:
    spec = get_register(register)
    record = service.get_record(db, spec=spec, principal=principal, record_id=record_id)
    return _record_page(request, db, principal, spec, record)


@router.post("/activities/{register}/{record_id:int}")
def update(
    register: str,
    record_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    posted: Posted,
) -> Response:
    spec = get_register(register)
    raw = _with_typed_area(db, principal, spec, forms.form_input(spec, posted.get, posted.getlist), posted)
    try:
        service.update_record(
            db, spec=spec, principal=principal, record_id=record_id, data=raw, ip=client_ip(request)
        )
    except LoaError as err:
        db.rollback()
        record = service.get_record(db, spec=spec, principal=principal, record_id=record_id)
        field_errors, general = _split_errors(spec, err)
        return _record_page(
            request,
            db,
            principal,
            spec,
            record,
            form=raw,
            field_errors=field_errors,
            errors=general,
            status=err.status,
        )
    db.commit()
    flash(request, "Đã lưu thay đổi.")
    return RedirectResponse(f"/activities/{spec.key}/{record_id}", status_code=303)


@router.post("/activities/{register}/{record_id:int}/delete")
def delete(
    register: str,
    record_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
) -> Response:
    spec = get_register(register)
    service.delete_record(db, spec=spec, principal=principal, record_id=record_id, ip=client_ip(request))
    db.commit()
    flash(request, f"Đã xóa {spec.noun} số {record_id}.")
    return RedirectResponse(f"/activities/{spec.key}", status_code=303)

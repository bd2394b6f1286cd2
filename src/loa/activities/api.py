"""JSON routes of the registers: ``/api/v1/activities/<register>`` CRUD, ``/import`` (CSV or Excel
upload, all or nothing; rows that duplicate records wait for ``/imports/<id>`` to confirm them) and
``/export.csv``. Thin: parse → service → respond; the handler commits."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.activities import imports, service
from loa.activities.imports import DuplicatePolicy, ImportResult
from loa.activities.present import record_json
from loa.activities.registers import REGISTERS, RegisterSpec, get_register
from loa.errors import PayloadTooLarge
from loa.topics.service import list_topics
from loa.web.deps import SessionDep
from loa.web.errors import problem

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])

MAX_CSV_BYTES = 5 * 1024 * 1024


@router.get("")
def registers(principal: ApiPrincipal) -> list[dict[str, Any]]:
    """The registers, their fields (CSV headers) and kinds, for clients that build forms."""
    return [
        {
            "key": spec.key,
            "title": spec.title,
            "channel": spec.channel,
            "date_field": spec.date_field,
            "ends_field": spec.ends_field,
            "quantity_field": spec.quantity_field,
            "fields": [
                {"name": f.name, "label": f.label, "type": f.type, "required": f.required}
                for f in spec.fields
            ],
            "kinds": [{"code": str(k), "label": v.label} for k, v in (spec.kinds or {}).items()],
        }
        for spec in REGISTERS.values()
    ]


@router.get("/topics")
def topics(principal: ApiPrincipal, db: SessionDep) -> list[dict[str, str]]:
    return [{"code": t.code, "name": t.name, "abbreviation": t.abbreviation} for t in list_topics(db)]


@router.get("/{register}")
def list_records(
    register: str,
    principal: ApiPrincipal,
    db: SessionDep,
    start: date | None = None,
    end: date | None = None,
    area_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    spec = get_register(register)
    area_path = service.get_area(db, principal, area_id).path if area_id is not None else None
    records, total = service.list_records(
        db,
        spec=spec,
        principal=principal,
        start=start,
        end=end,
        area_path=area_path,
        limit=limit,
        offset=offset,
    )
    areas = service.areas_by_id(db, (r.area_id for r in records))
    return {"total": total, "items": [record_json(spec, r, areas.get(r.area_id)) for r in records]}


@router.get("/{register}/export.csv")
def export_csv(
    register: str, principal: ApiPrincipal, db: SessionDep, start: date | None = None, end: date | None = None
) -> Response:
    spec = get_register(register)
    content = service.export_csv(db, spec=spec, principal=principal, start=start, end=end)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{spec.key}.csv"'},
    )


def _result_json(result: ImportResult) -> dict[str, Any]:
    return {
        "created": result.created,
        "skipped": result.skipped,
        "encoding": result.encoding,
        "ids": list(result.ids),
        "import_id": result.import_id,
    }


@router.post("/{register}/import", status_code=201, response_model=None)
async def import_csv(
    register: str,
    request: Request,
    principal: ApiPrincipal,
    db: SessionDep,
    file: Annotated[
        UploadFile, File(description="Tệp CSV (UTF-8, Windows-1258 hoặc TCVN3) hoặc Excel .xlsx")
    ],
    default_area_id: Annotated[int | None, Form()] = None,
    duplicates: Annotated[
        DuplicatePolicy,
        Form(description="Dòng trùng: ask (hỏi lại, chưa nhập gì), skip (bỏ qua) hoặc include (nhập cả)"),
    ] = "ask",
) -> dict[str, Any] | JSONResponse:
    """201 with the counts when imported; 409 ``import_duplicates`` with the duplicate rows and the
    ``import_id`` to confirm (``POST …/imports/<id>``) when rows repeat records and nothing was imported."""
    spec = get_register(register)
    content = await file.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"Tệp quá lớn (tối đa {MAX_CSV_BYTES // (1024 * 1024)} MB).")
    outcome = imports.import_file(
        db,
        spec=spec,
        principal=principal,
        content=content,
        filename=file.filename or "",
        default_area_id=default_area_id,
        duplicates=duplicates,
        ip=client_ip(request),
    )
    db.commit()
    if outcome.preview is not None:
        preview = outcome.preview
        message = (
            f"Tệp có {len(preview.duplicates)} dòng trùng với bản ghi đã có hoặc với dòng khác trong tệp; "
            "chưa nhập dòng nào. Xác nhận để nhập."
        )
        details = {
            **preview.as_dict(),
            "confirm_url": f"/api/v1/activities/{spec.key}/imports/{preview.import_id}",
        }
        return problem(409, "import_duplicates", message, details)
    assert outcome.result is not None
    return _result_json(outcome.result)


class ConfirmIn(BaseModel):
    include_rows: list[int] = Field(default_factory=list, max_length=20_000)
    include_all: bool = False


@router.get("/{register}/imports/{import_id}")
def get_import(register: str, import_id: int, principal: ApiPrincipal, db: SessionDep) -> dict[str, Any]:
    """A waiting upload, with its duplicate rows checked against the register as it is now."""
    spec = get_register(register)
    return imports.preview_import(db, spec=spec, principal=principal, import_id=import_id).as_dict()


@router.post("/{register}/imports/{import_id}", status_code=201)
def confirm_import(
    register: str,
    import_id: int,
    request: Request,
    principal: ApiPrincipal,
    db: SessionDep,
    body: Annotated[ConfirmIn, Body()],
) -> dict[str, Any]:
    """Import a waiting upload: its fresh rows and the duplicate rows named in ``include_rows`` (all of
    them with ``include_all``). A second confirmation is refused (409)."""
    spec = get_register(register)
    result = imports.confirm_import(
        db,
        spec=spec,
        principal=principal,
        import_id=import_id,
        include_rows=body.include_rows,
        include_all=body.include_all,
        ip=client_ip(request),
    )
    db.commit()
    return _result_json(result)


@router.delete("/{register}/imports/{import_id}", status_code=204)
def cancel_import(
    register: str, import_id: int, request: Request, principal: ApiPrincipal, db: SessionDep
) -> Response:
    spec = get_register(register)
    imports.cancel_import(db, spec=spec, principal=principal, import_id=import_id, ip=client_ip(request))
    db.commit()
    return Response(status_code=204)


def _record_out(db: SessionDep, spec: RegisterSpec, record: Any) -> dict[str, Any]:
    """One record as JSON, with its area's name."""
    return record_json(spec, record, service.areas_by_id(db, [record.area_id]).get(record.area_id))


@router.post("/{register}", status_code=201)
def create_record(
    register: str,
    request: Request,
    principal: ApiPrincipal,
    db: SessionDep,
    data: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    spec = get_register(register)
    record = service.create_record(db, spec=spec, principal=principal, data=data, ip=client_ip(request))
    db.commit()
    return _record_out(db, spec, record)


@router.get("/{register}/{record_id}")
def get_record(register: str, record_id: int, principal: ApiPrincipal, db: SessionDep) -> dict[str, Any]:
    spec = get_register(register)
    record = service.get_record(db, spec=spec, principal=principal, record_id=record_id)
    return _record_out(db, spec, record)


@router.patch("/{register}/{record_id}")
def update_record(
    register: str,
    record_id: int,
    request: Request,
    principal: ApiPrincipal,
    db: SessionDep,
    data: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    spec = get_register(register)
    record = service.update_record(
        db, spec=spec, principal=principal, record_id=record_id, data=data, ip=client_ip(request)
    )
    db.commit()
    return _record_out(db, spec, record)


@router.delete("/{register}/{record_id}", status_code=204)
def delete_record(
    register: str, record_id: int, request: Request, principal: ApiPrincipal, db: SessionDep
) -> Response:
    spec = get_register(register)
    service.delete_record(db, spec=spec, principal=principal, record_id=record_id, ip=client_ip(request))
    db.commit()
    return Response(status_code=204)

"""JSON routes of the registers: ``/api/v1/activities/<register>`` CRUD, ``/import`` (CSV upload, all or
nothing) and ``/export.csv``. Thin: parse → service → respond; the handler commits."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, UploadFile
from fastapi.responses import Response

from loa.accounts.deps import ApiPrincipal
from loa.activities import service
from loa.activities.present import record_json
from loa.activities.registers import REGISTERS, get_register
from loa.errors import PayloadTooLarge
from loa.topics.service import list_topics
from loa.web.deps import SessionDep

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


@router.post("/{register}/import", status_code=201)
async def import_csv(
    register: str,
    principal: ApiPrincipal,
    db: SessionDep,
    file: Annotated[UploadFile, File(description="Tệp CSV (UTF-8, Windows-1258 hoặc TCVN3)")],
    default_area_id: Annotated[int | None, Form()] = None,
) -> dict[str, Any]:
    spec = get_register(register)
    content = await file.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"Tệp CSV quá lớn (tối đa {MAX_CSV_BYTES // (1024 * 1024)} MB).")
    result = service.import_csv(
        db, spec=spec, principal=principal, content=content, default_area_id=default_area_id
    )
    db.commit()
    return {"created": result.created, "encoding": result.encoding, "ids": list(result.ids)}


@router.post("/{register}", status_code=201)
def create_record(
    register: str, principal: ApiPrincipal, db: SessionDep, data: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    spec = get_register(register)
    record = service.create_record(db, spec=spec, principal=principal, data=data)
    db.commit()
    return record_json(spec, record, service.areas_by_id(db, [record.area_id]).get(record.area_id))


@router.get("/{register}/{record_id}")
def get_record(register: str, record_id: int, principal: ApiPrincipal, db: SessionDep) -> dict[str, Any]:
    spec = get_register(register)
    record = service.get_record(db, spec=spec, principal=principal, record_id=record_id)
    return record_json(spec, record, service.areas_by_id(db, [record.area_id]).get(record.area_id))


@router.patch("/{register}/{record_id}")
def update_record(
    register: str,
    record_id: int,
    principal: ApiPrincipal,
    db: SessionDep,
    data: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    spec = get_register(register)
    record = service.update_record(db, spec=spec, principal=principal, record_id=record_id, data=data)
    db.commit()
    return record_json(spec, record, service.areas_by_id(db, [record.area_id]).get(record.area_id))


@router.delete("/{register}/{record_id}", status_code=204)
def delete_record(register: str, record_id: int, principal: ApiPrincipal, db: SessionDep) -> Response:
    spec = get_register(register)
    service.delete_record(db, spec=spec, principal=principal, record_id=record_id)
    db.commit()
    return Response(status_code=204)

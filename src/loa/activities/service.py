"""Use cases of the registers: list, read, create, update, delete and CSV export, every one scoped to
the principal's areas and every write audited (imports: ``loa.activities.imports``). Keyword-only,
session first; never commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require, under, visible_unit
from loa.activities.csvio import write_csv
from loa.activities.models import MobileTripStop
from loa.activities.present import entry_text, export_cells
from loa.activities.recordparse import parse_record, record_errors
from loa.activities.registers import AnyRecord, AreaRef, FieldError, ParseContext, RegisterSpec
from loa.content.models import Bulletin
from loa.errors import InvalidInput, NotFound
from loa.topics.models import Topic
from loa.topics.service import topic_lookup
from loa.units.models import AdminUnit

# --- areas (the scope rule is loa.accounts.scope) ------------------------------------------------------


def area_ref(unit: AdminUnit) -> AreaRef:
    return AreaRef(unit.id, unit.code, unit.name, unit.path)


def areas_by_id(session: Session, ids: Iterable[int]) -> dict[int, AreaRef]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: area_ref(u) for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(wanted)))}


def get_area(session: Session, principal: Principal, area_id: int) -> AreaRef:
    return area_ref(visible_unit(session, principal, area_id=area_id))


def parse_context(
    session: Session,
    principal: Principal,
    codes: Iterable[str],
    default_area_id: int | None,
    today: date | None,
) -> ParseContext:
    wanted = {c for c in codes if c}
    units: list[AdminUnit] = (
        list(session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted)))) if wanted else []
    )
    default = get_area(session, principal, default_area_id) if default_area_id is not None else None

    def bulletin_visible(bulletin_id: int) -> bool:
        path = session.scalar(
            select(AdminUnit.path)
            .join(Bulletin, Bulletin.area_id == AdminUnit.id)
            .where(Bulletin.id == bulletin_id)
        )
        return path is not None and principal.can_access_path(path)

    return ParseContext(
        today=today or date.today(),
        areas_by_code={u.code: area_ref(u) for u in units},
        topics=topic_lookup(session),
        can_access=principal.can_access_path,
        default_area=default,
        bulletin_visible=bulletin_visible,
    )


# --- records ----------------------------------------------------------------------------------------


def period_clauses(spec: RegisterSpec, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """Records of ``start``–``end``: a dated item on a day inside it, a count entry whose whole period
    lies inside it. A count entry that only overlaps the range cannot be split (how many of the
    year's 20 trips fell in March is unknown), so it is left out rather than counted in full."""
    model = spec.model
    day = getattr(model, spec.date_field)
    last = func.coalesce(getattr(model, spec.ends_field), day) if spec.ends_field else day
    clauses: list[ColumnElement[bool]] = []
    if start is not None:
        clauses.append(day >= start)
    if end is not None:
        clauses.append(last <= end)
    return clauses


def _query(spec: RegisterSpec, principal: Principal) -> Any:
    model = spec.model
    return (
        select(model)
        .join(AdminUnit, AdminUnit.id == model.area_id)
        .where(in_scope(principal, AdminUnit.path))
    )


def list_records(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    start: date | None = None,
    end: date | None = None,
    area_path: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> tuple[list[AnyRecord], int]:
    require(principal, Permission.VIEW)
    model = spec.model
    day = getattr(model, spec.date_field)
    query = _query(spec, principal).where(*period_clauses(spec, start, end))
    if area_path:
        query = query.where(under(AdminUnit.path, [area_path]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(day.desc(), model.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), int(total)


def get_record(session: Session, *, spec: RegisterSpec, principal: Principal, record_id: int) -> AnyRecord:
    require(principal, Permission.VIEW)
    record: AnyRecord | None = session.scalar(_query(spec, principal).where(spec.model.id == record_id))
    if record is None:
        raise NotFound(f"Không tìm thấy {spec.noun} số {record_id}.")
    return record


def _raise_field_errors(errors: Sequence[FieldError]) -> None:
    raise InvalidInput(
        "Dữ liệu không hợp lệ: " + "; ".join(f"{e.column}: {e.message}" for e in errors[:3]),
        details=[{"field": e.column, "message": e.message, "value": e.value} for e in errors],
    )


def _normalise_api_input(session: Session, data: Mapping[str, object]) -> dict[str, object]:
    """The API may name the area by ``area_id``; parsing works on codes."""
    raw = dict(data)
    area_id = raw.pop("area_id", None)
    if "area_code" in raw:
        raw["area"] = raw.pop("area_code")
    if area_id is not None and "area" not in raw:
        unit = session.get(AdminUnit, area_id) if isinstance(area_id, int) else None
        raw["area"] = unit.code if unit else f"#{area_id}"
    return raw


def apply_values(session: Session, record: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name == "area":
            record.area_id = value.id
        elif name == "topics":
            record.topics = list(session.scalars(select(Topic).where(Topic.id.in_(value))))
        elif name == "stops":
            record.stops = [MobileTripStop(position=i, area_id=a, name=n) for i, (a, n) in enumerate(value)]
        else:
            setattr(record, name, value)


def create_record(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    data: Mapping[str, object],
    today: date | None = None,
    ip: str = "",
) -> AnyRecord:
    require(principal, Permission.EDIT_CONTENT)
    raw = _normalise_api_input(session, data)
    ctx = parse_context(session, principal, [str(raw.get("area") or ""), *stop_tokens(raw)], None, today)
    values, errors = parse_record(spec, raw, ctx)
    if errors:
        _raise_field_errors(errors)
    record = spec.model(created_by_id=principal.user_id or None)
    apply_values(session, record, values)
    session.add(record)
    session.flush()
    _audit(session, principal, spec, record, "activity.create", ip)
    created: AnyRecord = record
    return created


def _audit(
    session: Session,
    principal: Principal,
    spec: RegisterSpec,
    record: Any,
    action: str,
    ip: str,
    fields: list[str] | None = None,
) -> None:
    """Audit ``action`` on one record, described as it reads (with the fields an update set)."""
    details = _described(spec, record)
    if fields is not None:
        details = {**details, "fields": fields}
    audit.record(
        session,
        action=action,
        actor=principal,
        target_type=spec.key,
        target_id=record.id,
        area_id=record.area_id,
        details=details,
        ip=ip,
    )


def _described(spec: RegisterSpec, record: Any) -> dict[str, object]:
    """What the audit log keeps of a record: its register and how it reads."""
    details: dict[str, object] = {"register": spec.title}
    summary = entry_text(spec, record)
    if summary:
        details["count_entry"] = summary
    title = getattr(record, spec.title_field, "")
    if title:
        details["title"] = str(title)[:200]
    return details


def update_record(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    record_id: int,
    data: Mapping[str, object],
    today: date | None = None,
    ip: str = "",
) -> AnyRecord:
    require(principal, Permission.EDIT_CONTENT)
    record = get_record(session, spec=spec, principal=principal, record_id=record_id)
    raw = _normalise_api_input(session, data)
    ctx = parse_context(session, principal, [str(raw.get("area") or ""), *stop_tokens(raw)], None, today)
    values, errors = parse_record(spec, raw, ctx, partial=True)
    if not errors:
        # Cross-field checks run on the merged record, as a whole-record parse would.
        merged = {f.name: getattr(record, f.name, None) for f in spec.fields} | values
        errors = record_errors(spec, merged)
    if errors:
        _raise_field_errors(errors)
    apply_values(session, record, values)
    session.flush()
    _audit(session, principal, spec, record, "activity.update", ip, fields=sorted(values))
    return record


def delete_record(
    session: Session, *, spec: RegisterSpec, principal: Principal, record_id: int, ip: str = ""
) -> None:
    require(principal, Permission.EDIT_CONTENT)
    record = get_record(session, spec=spec, principal=principal, record_id=record_id)
    _audit(session, principal, spec, record, "activity.delete", ip)
    session.delete(record)
    session.flush()


def stop_tokens(raw: Mapping[str, object]) -> list[str]:
    stops = raw.get("stops")
    if isinstance(stops, list):
        return [str(s) for s in stops]
    if isinstance(stops, str):
        return [s.strip() for s in stops.replace("\n", ";").split(";")]
    return []


# --- CSV --------------------------------------------------------------------------------------------


def export_csv(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    start: date | None = None,
    end: date | None = None,
) -> bytes:
    records, _ = list_records(session, spec=spec, principal=principal, start=start, end=end, limit=None)
    areas = areas_by_id(session, (r.area_id for r in records))
    rows = [export_cells(spec, r, areas.get(r.area_id)) for r in reversed(records)]
    return write_csv(spec, rows)

"""Importing a register from a file (CSV or Excel), with a look at duplicates first.

Every row is checked before any is written: one bad row and nothing is imported, every error listed.
Rows that repeat a record already in the register, or an earlier row of the same file
(``loa.activities.duplicates``), are imported only when the person says so: the file then waits in
``activity_imports`` (status *pending*) while they look at the rows, and their confirmation imports it
once; a second confirmation (a double click, the back button) is refused. Every import is audited
with its counts. Keyword-only, session first; never commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.activities.csvio import RowError, import_failed, read_csv
from loa.activities.duplicates import Duplicate, Identity, find_duplicates, identity
from loa.activities.models import ActivityImport, ImportStatus
from loa.activities.present import kind_label, span_text
from loa.activities.recordparse import parse_record
from loa.activities.registers import RegisterSpec
from loa.activities.service import apply_values, parse_context, stop_tokens
from loa.db.base import utcnow
from loa.errors import Conflict, NotFound
from loa.vocab.dates import vn_date

DuplicatePolicy = Literal["ask", "skip", "include"]
PENDING_KEPT = timedelta(days=2)  # an upload nobody confirmed is dropped after this


@dataclass(frozen=True)
class ImportResult:
    created: int
    encoding: str
    ids: tuple[int, ...]
    skipped: int = 0  # duplicate rows left out
    import_id: int | None = None
    filename: str = ""


@dataclass(frozen=True)
class DuplicateRow:
    row: int
    summary: str  # the row as a person reads it: "Pa nô · 15/03/2023 · Ngã tư … · Xã Ba Động"
    reason: str
    record_id: int | None
    same_as_row: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "summary": self.summary,
            "reason": self.reason,
            "record_id": self.record_id,
            "same_as_row": self.same_as_row,
        }


@dataclass(frozen=True)
class ImportPreview:
    """An upload waiting for the person: how many rows, which repeat what."""

    import_id: int
    register: str
    filename: str
    encoding: str
    rows: int
    duplicates: tuple[DuplicateRow, ...]

    @property
    def fresh(self) -> int:
        return self.rows - len(self.duplicates)

    def as_dict(self) -> dict[str, object]:
        return {
            "import_id": self.import_id,
            "register": self.register,
            "filename": self.filename,
            "encoding": self.encoding,
            "rows": self.rows,
            "duplicates": [d.as_dict() for d in self.duplicates],
        }


@dataclass(frozen=True)
class ImportOutcome:
    """Either the rows were imported (``result``) or they wait for confirmation (``preview``)."""

    result: ImportResult | None = None
    preview: ImportPreview | None = None


@dataclass(frozen=True)
class _Row:
    number: int
    values: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class _Checked:
    encoding: str
    rows: list[_Row]
    duplicates: dict[int, Duplicate]


def _summary(spec: RegisterSpec, values: dict[str, Any]) -> str:
    start, ends = values.get(spec.date_field), values.get(spec.ends_field) if spec.ends_field else None
    parts = [kind_label(spec, values.get("kind"))]
    if isinstance(start, date):
        parts.append(span_text(start, ends) if isinstance(ends, date) else vn_date(start))
    parts.append(str(values.get(spec.title_field) or ""))
    quantity = values.get(spec.quantity_field) if spec.quantity_field else None
    if isinstance(quantity, int) and (quantity > 1 or ends is not None):
        parts.append(f"số lượng {quantity}")
    area = values.get("area")
    parts.append(area.name if area is not None else "")
    return " · ".join(p for p in parts if p)


def _existing(session: Session, spec: RegisterSpec, rows: Sequence[_Row]) -> dict[Identity, int]:
    """Identities of the register's records in the file's areas and dates (the lowest id of each)."""
    if not rows:
        return {}
    model = spec.model
    day = getattr(model, spec.date_field)
    days = [r.values[spec.date_field] for r in rows]
    names = [spec.date_field, spec.title_field]
    columns = [model.id, model.area_id, day, getattr(model, spec.title_field)]
    for extra in ("kind", spec.ends_field):
        if extra and hasattr(model, extra):
            names.append(extra)
            columns.append(getattr(model, extra))
    query = (
        select(*columns)
        .where(model.area_id.in_({r.values["area"].id for r in rows}), day.between(min(days), max(days)))
        .order_by(model.id)
    )
    found: dict[Identity, int] = {}
    for record_id, area_id, *rest in session.execute(query):
        found.setdefault(identity(spec, area_id, dict(zip(names, rest, strict=True))), record_id)
    return found


def _check(
    session: Session,
    spec: RegisterSpec,
    principal: Principal,
    content: bytes,
    default_area_id: int | None,
    today: date | None,
) -> _Checked:
    """Parse every row (raising every error at once) and find the duplicates."""
    table = read_csv(spec, content)
    codes = [cells.get("area", "") for _, cells in table.rows]
    codes += [token for _, cells in table.rows for token in stop_tokens({"stops": cells.get("stops", "")})]
    ctx = parse_context(session, principal, codes, default_area_id, today)
    rows: list[_Row] = []
    errors: list[RowError] = []
    for number, cells in table.rows:
        values, field_errors = parse_record(spec, cells, ctx)
        errors.extend(RowError(number, e.column, e.message, e.value) for e in field_errors)
        if not field_errors:
            rows.append(_Row(number, values, _summary(spec, values)))
    if errors:
        raise import_failed(errors, table.encoding)
    keys = [(r.number, identity(spec, r.values["area"].id, r.values)) for r in rows]
    return _Checked(table.encoding, rows, find_duplicates(keys, _existing(session, spec, rows)))


def _preview(staged: ActivityImport, checked: _Checked) -> ImportPreview:
    summaries = {r.number: r.summary for r in checked.rows}
    duplicates = tuple(
        DuplicateRow(d.row, summaries[d.row], d.reason, d.record_id, d.same_as_row)
        for d in sorted(checked.duplicates.values(), key=lambda d: d.row)
    )
    return ImportPreview(
        staged.id, staged.register, staged.filename, checked.encoding, len(checked.rows), duplicates
    )


def _write(
    session: Session,
    spec: RegisterSpec,
    principal: Principal,
    checked: _Checked,
    staged: ActivityImport,
    include: Collection[int],
    ip: str,
) -> ImportResult:
    """Insert the fresh rows and the duplicates in ``include``; close the staged import; audit."""
    records = []
    for row in checked.rows:
        if row.number in checked.duplicates and row.number not in include:
            continue
        record = spec.model(created_by_id=principal.user_id or None)
        apply_values(session, record, row.values)
        session.add(record)
        records.append(record)
    session.flush()
    skipped = len(checked.rows) - len(records)
    staged.status = ImportStatus.IMPORTED
    staged.content = b""
    staged.created, staged.skipped = len(records), skipped
    staged.duplicates = len(checked.duplicates)
    staged.finished_at = utcnow()
    areas = {r.area_id for r in records}
    audit.record(
        session,
        action="activity.import",
        actor=principal,
        target_type="activity_import",
        target_id=staged.id,
        area_id=next(iter(areas)) if len(areas) == 1 else staged.default_area_id,
        details={
            "register": spec.title,
            "file": staged.filename,
            "rows": len(checked.rows),
            "created": len(records),
            "duplicates": len(checked.duplicates),
            "duplicates_imported": len(checked.duplicates) - skipped,
            "skipped": skipped,
        },
        ip=ip,
    )
    session.flush()
    ids = tuple(r.id for r in records)
    return ImportResult(len(records), checked.encoding, ids, skipped, staged.id, staged.filename)


def _drop_stale(session: Session) -> None:
    """Uploads left unconfirmed for days: their files go (the rows were never imported). Housekeeping
    of a staging table, not a change of records, so not audited."""
    for stale in session.scalars(
        select(ActivityImport).where(
            ActivityImport.status == ImportStatus.PENDING, ActivityImport.created_at < utcnow() - PENDING_KEPT
        )
    ):
        stale.status, stale.content, stale.finished_at = ImportStatus.CANCELLED, b"", utcnow()


def import_file(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    content: bytes,
    filename: str = "",
    default_area_id: int | None = None,
    today: date | None = None,
    duplicates: DuplicatePolicy = "ask",
    ip: str = "",
) -> ImportOutcome:
    """Check a file and import it: at once when no row is a duplicate (or ``duplicates`` says to skip
    or include them), else keep it waiting and return what the person must look at."""
    require(principal, Permission.EDIT_CONTENT)
    checked = _check(session, spec, principal, content, default_area_id, today)
    _drop_stale(session)
    waiting = bool(checked.duplicates) and duplicates == "ask"
    staged = ActivityImport(
        register=spec.key,
        filename=filename[:255],
        default_area_id=default_area_id,
        content=content if waiting else b"",
        sha256=hashlib.sha256(content).hexdigest(),
        status=ImportStatus.PENDING,
        rows=len(checked.rows),
        duplicates=len(checked.duplicates),
        created_by_id=principal.user_id or None,
    )
    session.add(staged)
    session.flush()
    if waiting:
        audit.record(
            session,
            action="activity.import_hold",
            actor=principal,
            target_type="activity_import",
            target_id=staged.id,
            area_id=default_area_id,
            details={
                "register": spec.title,
                "file": staged.filename,
                "rows": len(checked.rows),
                "duplicates": len(checked.duplicates),
            },
            ip=ip,
        )
        return ImportOutcome(preview=_preview(staged, checked))
    include = checked.duplicates.keys() if duplicates == "include" else ()
    return ImportOutcome(result=_write(session, spec, principal, checked, staged, include, ip))


def _pending(session: Session, spec: RegisterSpec, principal: Principal, import_id: int) -> ActivityImport:
    """The person's own upload of this register, still waiting (locked against a second confirm)."""
    staged = session.scalar(
        select(ActivityImport)
        .where(ActivityImport.id == import_id, ActivityImport.register == spec.key)
        .with_for_update()
    )
    if staged is None or (staged.created_by_id or 0) != principal.user_id:
        raise NotFound(f"Không tìm thấy lượt nhập tệp số {import_id}.")
    if staged.status is ImportStatus.IMPORTED:
        raise Conflict(
            f"Tệp «{staged.filename}» đã được nhập ({staged.created} {spec.noun}); không nhập lại lần nữa.",
            code="import_done",
        )
    if staged.status is ImportStatus.CANCELLED:
        raise Conflict(
            f"Lượt nhập tệp «{staged.filename}» đã hủy; hãy tải tệp lên lại.", code="import_cancelled"
        )
    return staged


def preview_import(
    session: Session, *, spec: RegisterSpec, principal: Principal, import_id: int, today: date | None = None
) -> ImportPreview:
    """A waiting upload, checked again against the register as it is now."""
    require(principal, Permission.EDIT_CONTENT)
    staged = _pending(session, spec, principal, import_id)
    checked = _check(session, spec, principal, staged.content, staged.default_area_id, today)
    return _preview(staged, checked)


def confirm_import(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    import_id: int,
    include_rows: Collection[int] = (),
    include_all: bool = False,
    today: date | None = None,
    ip: str = "",
) -> ImportResult:
    """Import a waiting upload: its fresh rows, and the duplicates the person chose. The file is
    checked again, so a row that became a duplicate meanwhile is left out unless chosen."""
    require(principal, Permission.EDIT_CONTENT)
    staged = _pending(session, spec, principal, import_id)
    checked = _check(session, spec, principal, staged.content, staged.default_area_id, today)
    include = checked.duplicates.keys() if include_all else set(include_rows)
    return _write(session, spec, principal, checked, staged, include, ip)


def cancel_import(
    session: Session, *, spec: RegisterSpec, principal: Principal, import_id: int, ip: str = ""
) -> None:
    require(principal, Permission.EDIT_CONTENT)
    staged = _pending(session, spec, principal, import_id)
    staged.status, staged.content, staged.finished_at = ImportStatus.CANCELLED, b"", utcnow()
    audit.record(
        session,
        action="activity.import_cancel",
        actor=principal,
        target_type="activity_import",
        target_id=staged.id,
        area_id=staged.default_area_id,
        details={"register": spec.title, "file": staged.filename, "rows": staged.rows},
        ip=ip,
    )
    session.flush()

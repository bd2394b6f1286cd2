"""How a register record is shown: JSON for the API, cells for CSV export, detail cells for reports
(the rows behind every figure). Pure: takes the record and its area, reads attributes only."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from loa.activities.registers import AnyRecord, AreaRef, FieldSpec, RegisterSpec
from loa.vocab.cells import CellValue, Column, ColumnKind
from loa.vocab.dates import vn_date
from loa.vocab.numbers import count_text, number_text
from loa.vocab.period import Period, PeriodKind


def _raw(record: AnyRecord, f: FieldSpec) -> Any:
    if f.type == "topics":
        return record.topics
    if f.type == "stops":
        return getattr(record, "stops", [])
    return getattr(record, f.name, None)


def kind_label(spec: RegisterSpec, kind: StrEnum | str | None) -> str:
    if spec.kinds is None or kind is None:
        return ""
    info = dict(spec.kinds).get(kind)  # type: ignore[call-overload]
    return info.label if info else str(kind)


def kind_unit(spec: RegisterSpec, kind: StrEnum | str | None) -> str:
    if spec.kinds is None or kind is None:
        return ""
    info = dict(spec.kinds).get(kind)  # type: ignore[call-overload]
    return info.unit if info else str(kind)


def span_text(start: date, end: date) -> str:
    """How a count entry's period reads: 'cả năm 2023', '6 tháng đầu năm 2023', 'quý I năm 2023',
    'tháng 3 năm 2023', 'ngày 05/01/2023' or 'từ 05/01/2023 đến 20/03/2023'."""
    year = start.year
    if end.year == year:
        named = [Period.year(year)]
        named += [Period.half(year, i) for i in (1, 2)]
        named += [Period.quarter(year, i) for i in range(1, 5)]
        named += [Period.month(year, i) for i in range(1, 13)]
        for period in named:
            if (period.start, period.end) == (start, end):
                return f"cả {period.label}" if period.kind is PeriodKind.YEAR else period.label
    if start == end:
        return f"ngày {vn_date(start)}"
    return f"từ {vn_date(start)} đến {vn_date(end)}"


def quantity_of(spec: RegisterSpec, record: AnyRecord) -> int:
    """How many items a record stands for (its quantity, else one)."""
    if spec.quantity_field is None:
        return 1
    return int(getattr(record, spec.quantity_field, None) or 1)


def entry_text(spec: RegisterSpec, record: AnyRecord) -> str:
    """A count entry as a person reads it: '20 lượt xe, cả năm 2023'; empty for a single item."""
    if not spec.is_count(record):
        return ""
    assert spec.ends_field is not None
    unit = kind_unit(spec, getattr(record, "kind", None)) or spec.unit or spec.noun
    start, end = getattr(record, spec.date_field), getattr(record, spec.ends_field)
    return f"{count_text(quantity_of(spec, record))} {unit}, {span_text(start, end)}"


def record_json(spec: RegisterSpec, record: AnyRecord, area: AreaRef | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record.id}
    for f in spec.fields:
        value = _raw(record, f)
        if f.type == "area":
            out["area"] = None if area is None else {"id": area.id, "code": area.code, "name": area.name}
        elif f.type == "topics":
            out["topics"] = [t.code for t in value]
        elif f.type == "stops":
            out["stops"] = [{"area_id": s.area_id, "name": s.name} for s in value]
        elif f.type == "kind":
            out["kind"] = str(value)
            out["kind_label"] = kind_label(spec, value)
        elif isinstance(value, date):
            out[f.name] = value.isoformat()
        else:
            out[f.name] = value
    out["count_entry"] = spec.is_count(record)
    out["summary"] = entry_text(spec, record)
    out["created_at"] = record.created_at.isoformat() if record.created_at else None
    out["updated_at"] = record.updated_at.isoformat() if record.updated_at else None
    return out


def export_cells(spec: RegisterSpec, record: AnyRecord, area: AreaRef | None) -> list[str]:
    """One CSV row, in the format the importer reads back."""
    cells: list[str] = []
    for f in spec.fields:
        value = _raw(record, f)
        if f.type == "area":
            cells.append(area.code if area else "")
        elif f.type == "topics":
            cells.append("; ".join(t.code for t in value))
        elif f.type == "stops":
            cells.append("; ".join(s.name for s in value))
        elif f.type == "list":
            cells.append("; ".join(value or []))
        elif f.type == "kind":
            cells.append(kind_label(spec, value))
        elif value is None:
            cells.append("")
        elif isinstance(value, date):
            cells.append(vn_date(value))
        elif isinstance(value, float):
            # Six places: a coordinate read back must be the one written (sizes show as "1,8").
            cells.append(number_text(value, 6, trim=True) if f.type == "decimal" else str(value))
        elif isinstance(value, int) and f.type in ("int", "money"):
            cells.append(number_text(value))  # "1.500.000": the importer reads the dots back
        else:
            cells.append(str(value))
    return cells


SUMMARY, SUMMARY_LABEL = "summary", "Số liệu tổng hợp"  # the detail cell naming a count entry
_COLUMN_KINDS: dict[str, ColumnKind] = {"int": "int", "decimal": "decimal", "date": "date", "money": "money"}


def report_columns(spec: RegisterSpec) -> tuple[Column, ...]:
    columns = [Column("area_name", "Địa bàn", "text", 20)]
    for f in spec.fields:
        if f.type == "area":
            continue
        kind: ColumnKind = "link" if f.name == "link" else _COLUMN_KINDS.get(f.type, "text")
        columns.append(Column(f.name, f.label, kind, f.width))
    if spec.ends_field is not None:
        columns.append(Column(SUMMARY, SUMMARY_LABEL, "text", 26))
    return tuple(columns)


def detail_cells(spec: RegisterSpec, record: AnyRecord, area: AreaRef | None) -> dict[str, CellValue]:
    """JSON-safe cells of a report detail row; ``kind`` is the unit word the prose uses ("pa nô")."""
    cells: dict[str, CellValue] = {
        "area_name": area.name if area else "",
        "area_code": area.code if area else "",
    }
    if spec.ends_field is not None:
        cells[SUMMARY] = entry_text(spec, record)
    for f in spec.fields:
        value = _raw(record, f)
        if f.type == "area":
            continue
        if f.type == "topics":
            cells[f.name] = "; ".join(t.name for t in value)
        elif f.type == "stops":
            cells[f.name] = "; ".join(s.name for s in value)
        elif f.type == "list":
            cells[f.name] = "; ".join(value or [])
        elif f.type == "kind":
            cells["kind"] = kind_unit(spec, value)
            cells["kind_code"] = str(value)
        elif isinstance(value, date):
            cells[f.name] = value.isoformat()
        elif value is None or isinstance(value, str | int | float):
            cells[f.name] = value
        else:
            cells[f.name] = str(value)
    return cells

"""CSV of a register: read (any of the encodings offices use, ',' ';' or tab separated; or the first
sheet of an Excel workbook) and write (UTF-8 with BOM so Excel opens it, Vietnamese headers,
dd/mm/yyyy dates, decimal commas; text a spreadsheet would run as a formula gets an apostrophe
first, which reading takes off again). Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loa.activities.registers import FieldSpec, RegisterSpec
from loa.activities.textcodec import decode_text
from loa.activities.xlsxio import XLSX_LABEL, is_xlsx, read_xlsx_rows
from loa.errors import InvalidInput
from loa.vocab.cells import defuse_formula, restore_formula
from loa.vocab.text import fold

MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str
    value: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message, "value": self.value}


@dataclass(frozen=True)
class CsvTable:
    encoding: str
    columns: tuple[FieldSpec, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  # (row number, field name → text)


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(spec: RegisterSpec, content: bytes) -> CsvTable:
    """Decode and split a CSV (or read a workbook's first sheet); header problems (unknown, duplicate
    or missing columns) are row 1 errors."""
    if is_xlsx(content):
        sheet = read_xlsx_rows(content, max_rows=MAX_ROWS)
        if not sheet:
            raise InvalidInput("Tệp Excel trống.", code="empty_csv")
        return _table(spec, XLSX_LABEL, sheet)
    decoded = decode_text(content)
    text = decoded.text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("Tệp CSV trống.", code="empty_csv")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[0]))
    try:
        table = [row for row in reader]
    except csv.Error as err:
        raise InvalidInput(f"Tệp CSV không đúng định dạng: {err}", code="bad_csv") from err
    return _table(spec, decoded.encoding, table)


def _table(spec: RegisterSpec, encoding: str, table: list[list[str]]) -> CsvTable:
    header, body = list(table[0]), table[1:]
    while header and not header[-1].strip():
        header.pop()  # a sheet's formatted but empty columns, or a trailing separator
    lookup = spec.header_lookup()
    errors: list[RowError] = []
    columns: list[FieldSpec] = []
    seen: set[str] = set()
    for name in header:
        f = lookup.get(fold(name))
        if not name.strip():
            errors.append(RowError(1, "(trống)", "Cột không có tên tiêu đề"))
        elif f is None:
            errors.append(RowError(1, name, f"Cột “{name}” không thuộc sổ {spec.title.lower()}", name))
        elif f.name in seen:
            errors.append(RowError(1, name, f"Cột “{f.label}” bị lặp lại", name))
        else:
            seen.add(f.name)
        columns.append(f or FieldSpec("", name))
    # Without an "Đến ngày" column every row is a single item, which needs its item-only columns too.
    counts_possible = spec.ends_field is not None and spec.ends_field in seen
    needed = spec.required_columns() if counts_possible else [f for f in spec.fields if f.required]
    missing = [f.label for f in needed if f.name not in seen]
    if missing:
        errors.append(RowError(1, ", ".join(missing), f"Thiếu cột bắt buộc: {', '.join(missing)}"))
    if errors:
        raise import_failed(errors, encoding)
    rows: list[tuple[int, dict[str, str]]] = []
    for index, cells in enumerate(body, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            used = max(i for i, c in enumerate(cells, start=1) if c.strip())
            errors.append(RowError(index, "", f"Dòng có {used} ô nhưng tiêu đề chỉ có {len(columns)} cột"))
            continue
        rows.append(
            (
                index,
                {col.name: restore_formula(cell.strip()) for col, cell in zip(columns, cells, strict=False)},
            )
        )
    if errors:
        raise import_failed(errors, encoding)
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"Tệp có {len(rows)} dòng; mỗi lần nhập tối đa {MAX_ROWS} dòng.", code="too_many_rows"
        )
    if not rows:
        raise InvalidInput("Tệp CSV không có dòng dữ liệu nào.", code="empty_csv")
    return CsvTable(encoding, tuple(columns), tuple(rows))


def import_failed(errors: Sequence[RowError], encoding: str) -> InvalidInput:
    rows = len({e.row for e in errors})
    return InvalidInput(
        f"Tệp có {len(errors)} lỗi ở {rows} dòng; chưa nhập dòng nào. Sửa các lỗi dưới đây rồi tải lên lại.",
        code="import_failed",
        details={"encoding": encoding, "errors": [e.as_dict() for e in errors]},
    )


def write_csv(spec: RegisterSpec, rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.label for f in spec.fields])
    writer.writerows([defuse_formula(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")

"""Read the first sheet of an Excel workbook (.xlsx) as rows of text, the way the CSV reader sees a
file: dates as dd/mm/yyyy, whole numbers without ".0", decimals with a dot (the parser takes both
separators), text in Unicode NFC. Pure: bytes in, rows out."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime, time

from loa.errors import InvalidInput

XLSX_MAGIC = b"PK\x03\x04"
XLSX_LABEL = "tệp Excel (.xlsx)"


def is_xlsx(content: bytes) -> bool:
    return content[:4] == XLSX_MAGIC


def cell_text(value: object) -> str:
    """One cell as the person typed it (as far as Excel kept it)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Excel stores a date as a datetime at midnight; a time of day is not part of a register.
        return f"{value.day:02d}/{value.month:02d}/{value.year}"
    if isinstance(value, date):
        return f"{value.day:02d}/{value.month:02d}/{value.year}"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def read_xlsx_rows(content: bytes, *, max_rows: int) -> list[list[str]]:
    """The first sheet's rows (header first), at most ``max_rows`` + 1 of them: more is refused later
    with the row limit's message, without reading a huge sheet to the end."""
    from openpyxl import load_workbook  # imported on use: only uploads of workbooks need it

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise InvalidInput(
            "Không đọc được tệp Excel (tệp hỏng hoặc không phải .xlsx). Hãy mở lại trong Excel và lưu "
            "thành .xlsx hoặc CSV UTF-8.",
            code="bad_xlsx",
        ) from err
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise InvalidInput("Tệp Excel không có trang tính nào.", code="empty_csv")
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([cell_text(v) for v in values])
            if len(rows) > max_rows + 1:
                break
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    return rows

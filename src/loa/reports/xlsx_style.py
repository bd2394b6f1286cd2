"""Shared look of the report workbook: header rows, widths, valid sheet names."""

from __future__ import annotations

import re

from loa.reports.xlsx_stream import HEADER, Sheet
from loa.vocab.cells import Column

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(title: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = _SHEET_FORBIDDEN.sub("-", title)[:31].strip() or "Trang"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def header_row(sheet: Sheet, row: int, columns: tuple[Column, ...]) -> None:
    """Bold, filled, wrapped header labels; sets each column's width."""
    sheet.row(row, [column.label for column in columns], style=HEADER)
    sheet.mark_header(row)
    for i, column in enumerate(columns, start=1):
        sheet.width(i, column.width)

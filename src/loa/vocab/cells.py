"""What a column of a table a person reads holds: the kinds of value (text, whole numbers, decimals,
dates, links, money) and the column itself. Shared by the registers (pages, CSV), the report sheets
(XLSX) and the report pages, so each formats a kind of value the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

CellValue = str | int | float | None
ColumnKind = Literal["text", "int", "decimal", "date", "link", "money"]


@dataclass(frozen=True)
class Column:
    """One column of a channel's detail sheet (Vietnamese header, width in Excel character units)."""

    key: str
    label: str
    kind: ColumnKind = "text"
    width: int = 16


# Issue 20.3: a spreadsheet takes text starting with one of these for a formula (tab and CR too: some
# programs strip them first). A leading apostrophe makes it text in Excel, LibreOffice and Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that is only a number ("-3", "+84 912 345 678", "-1,5", "12,5 %") is harmless as a formula.
_NUMBER_TEXT = re.compile(r"[+-]?[0-9][0-9 .,]*%?")


def defuse_formula(text: str) -> str:
    """``text`` as an export writes it into a cell: with an apostrophe first when a spreadsheet would
    read it as a formula."""
    if text.startswith(_FORMULA_STARTS) and _NUMBER_TEXT.fullmatch(text) is None:
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """The text an exported cell came from: an import undoes ``defuse_formula``."""
    if text.startswith("'") and defuse_formula(text[1:]) == text:
        return text[1:]
    return text

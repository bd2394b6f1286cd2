"""What a column of a table a person reads holds: the kinds of value (text, whole numbers, decimals,
dates, links, money) and the column itself. Shared by the registers (pages, CSV), the report sheets
(XLSX) and the report pages, so each formats a kind of value the same way."""

from __future__ import annotations

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

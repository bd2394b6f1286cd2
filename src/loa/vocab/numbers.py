"""Numbers as a Vietnamese reader expects them: a dot groups thousands and a comma marks decimals
(``1.234,5``), a percentage keeps a space before its sign (``12,5 %``). Every number a person reads
(pages, workbook text, documents, CSV meant for people, messages) goes through ``number_text``; the
Jinja filters ``number`` and ``percent`` (``loa.web.templating``) call the functions below.
Numeric workbook cells stay numbers: the spreadsheet formats those itself.
"""

from __future__ import annotations

_SWAP = str.maketrans(",.", ".,")


def number_text(value: float, decimals: int = 0, *, trim: bool = False) -> str:
    """``value`` with ``decimals`` places: 1234.5 → '1.234,5' (1), 1234 → '1.234'. ``trim`` drops
    trailing zeros of the decimals (2.50 → '2,5', 4.00 → '4')."""
    text = f"{value:,.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0.04 rounds to zero: no minus sign on it
    return text.translate(_SWAP)


def percent_text(value: float, decimals: int = 1) -> str:
    """12.5 → '12,5 %'; 100.0 → '100 %' (trailing zeros dropped)."""
    return f"{number_text(value, decimals, trim=True)} %"


def count_text(n: int) -> str:
    """Counts as administrative reports write them: '08', '12', '1.250' (zero-padded below ten)."""
    if 0 < n < 10:
        return f"{n:02d}"
    return number_text(n)


def decimal_text(x: float) -> str:
    """1.8 → '1,8'; 4.0 → '4'; 0.75 → '0,75' (Vietnamese decimal comma, no trailing zeros)."""
    return number_text(x, 2, trim=True)


def size_text(width_m: float | None, height_m: float | None, sides: int | None) -> str:
    """'kích thước 4m x 6m' or '02 mặt, kích thước 1,8m x 1,2m'."""
    if not width_m or not height_m:
        return ""
    size = f"kích thước {decimal_text(width_m)}m x {decimal_text(height_m)}m"
    if sides and sides > 1:
        return f"{count_text(sides)} mặt, {size}"
    return size

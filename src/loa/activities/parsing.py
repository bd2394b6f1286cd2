"""Parse values typed by people (CSV cells, form fields) into typed values, with Vietnamese errors.

Dates: dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy) or ISO yyyy-mm-dd. Decimals accept the
Vietnamese decimal comma ("1,8") as well as a dot, and a trailing unit ("1,8m"). Whole numbers accept
thousands separators ("1.000.000", "1 000 000") but refuse a fraction ("1,5" people).
"""

from __future__ import annotations

import re
from datetime import date

from loa.vocab.dates import vn_date
from loa.vocab.numbers import number_text


class ValueProblem(ValueError):
    """A value that cannot be used; ``message`` is Vietnamese and names the value."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DMY = re.compile(r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,\s])\d{3})(?:\1\d{3})*$")
EARLIEST_YEAR = 1975


def parse_date(text: str, *, today: date | None = None) -> date:
    raw = text.strip()
    match = _DMY.match(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _YMD.match(raw)
        if not match:
            raise ValueProblem(f"Ngày không đúng định dạng ngày/tháng/năm (ví dụ 15/01/2024): “{raw}”")
        year, month, day = (int(g) for g in match.groups())
    try:
        value = date(year, month, day)
    except ValueError as err:
        raise ValueProblem(f"Ngày không tồn tại: “{raw}”") from err
    if year < EARLIEST_YEAR:
        raise ValueProblem(f"Năm {year} không hợp lý (trước {EARLIEST_YEAR}): “{raw}”")
    if today is not None and value > today:
        raise ValueProblem(f"Ngày {vn_date(value)} ở tương lai (hôm nay là {vn_date(today)})")
    return value


def parse_decimal(text: str, *, unit: str = "") -> float:
    raw = text.strip()
    cleaned = raw.replace(" ", "")
    if unit and cleaned.lower().endswith(unit):
        cleaned = cleaned[: -len(unit)]
    if "," in cleaned and "." in cleaned:
        # "1.234,5" or "1,234.5": the last separator is the decimal one.
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands_sep = "." if decimal_sep == "," else ","
        cleaned = cleaned.replace(thousands_sep, "").replace(decimal_sep, ".")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    elif cleaned.count(",") > 1 or cleaned.count(".") > 1:
        raise ValueProblem(f"Không phải số hợp lệ: “{raw}” (dùng dấu phẩy cho phần thập phân, ví dụ 1,8)")
    try:
        value = float(cleaned)
    except ValueError as err:
        raise ValueProblem(f"Không phải số: “{raw}” (ví dụ đúng: 1,8 hoặc 1.8)") from err
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueProblem(f"Không phải số: “{raw}”")
    return value


def parse_int(text: str) -> int:
    raw = text.strip()
    cleaned = raw.replace("\u00a0", " ")
    if _THOUSANDS.match(cleaned):
        cleaned = re.sub(r"[.,\s]", "", cleaned)
    if re.fullmatch(r"[+-]?\d+", cleaned):
        return int(cleaned)
    if re.fullmatch(r"[+-]?\d+[.,]\d+", cleaned):
        raise ValueProblem(f"Phải là số nguyên, không có phần thập phân: “{raw}”")
    raise ValueProblem(f"Không phải số nguyên: “{raw}”")


def check_range(
    value: float, *, minimum: float | None, exclusive: bool, maximum: float | None, what: str
) -> None:
    shown = number_text(value, 6, trim=True)
    if minimum is not None:
        if exclusive and value <= minimum:
            raise ValueProblem(f"{what} phải lớn hơn {number_text(minimum, 6, trim=True)}: {shown}")
        if not exclusive and value < minimum:
            raise ValueProblem(f"{what} không được nhỏ hơn {number_text(minimum, 6, trim=True)}: {shown}")
    if maximum is not None and value > maximum:
        raise ValueProblem(f"{what} không được lớn hơn {number_text(maximum, 6, trim=True)}: {shown}")


def split_list(text: str) -> list[str]:
    """'a; b; c' (or one per line) → ['a', 'b', 'c']."""
    return [part.strip() for part in re.split(r"[;\n]", text) if part.strip()]

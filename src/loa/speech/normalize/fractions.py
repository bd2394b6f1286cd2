"""Fractions: "2/5" as "hai phần năm", mixed numbers, a fraction with a unit ("1/4kg").

A bare "d/m" is also the shape of a date. The decision (documented in docs/speech.md) is made from the
words around it, in this order:

| context | reading |
|---|---|
| a date word before ("ngày", "sáng", "từ", "đến", "hạn", …) | date |
| a unit right after ("1/4kg", "1/2 ha") | fraction |
| a whole number before ("3 1/4") | mixed number ("ba và một phần tư") |
| "số", "tổng", "viên", … after, numerator < denominator ("2/3 số hộ") | fraction |
| "giảm", "tăng", "còn", "chiếm", … before, numerator < denominator | fraction |
| a rank or count word before ("hạng", "thứ", "đạt", "có", …) | ratio ("ba trên năm") |
| nothing decides, at a clause end or before "năm", "đến", … | date, **flagged** if it may be a fraction |
| nothing decides, before other words | ratio, **flagged** |
| not a valid day and month ("3/45") | ratio |
"""

from __future__ import annotations

import re

from loa.speech.normalize.context import Context
from loa.speech.normalize.numbers import cardinal
from loa.speech.normalize.units import BOUNDARY, SPACED_UNIT_PATTERN, UNIT_PATTERN, UNITS

FRACTION_UNIT_PATTERN = rf"\d{{1,3}}/\d{{1,3}}(?:{UNIT_PATTERN}|\s{SPACED_UNIT_PATTERN}){BOUNDARY}"
MIXED_FRACTION_PATTERN = r"\d{1,3} \d/\d{1,2}(?![\d/]|[.,]\d)"

FRACTION_BEFORE = frozenset(
    {"giảm", "tăng", "còn", "bằng", "chiếm", "gần", "hơn", "mất", "thêm", "khoảng", "tới", "quá", "nửa"}
)
_PARTS = re.compile(r"(\d+)/(\d+)\s?(.*)")


def fraction(numerator: int, denominator: int, ctx: Context) -> str:
    """ "hai phần năm"; a quarter is "phần tư" as people say it ("ba phần tư")."""
    below = "tư" if denominator == 4 else cardinal(denominator, ctx.style)
    return f"{cardinal(numerator, ctx.style)} phần {below}"


def read_fraction_unit(ctx: Context, token: str, start: int, end: int) -> str | None:
    match = _PARTS.fullmatch(token)
    assert match is not None
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if not 0 < numerator < denominator:
        return None  # "140/90 mmHg" is a pair of readings, not a fraction
    spoken = fraction(numerator, denominator, ctx)
    return f"{spoken} {UNITS[match.group(3)]}"


def read_mixed_fraction(ctx: Context, token: str, start: int, end: int) -> str | None:
    whole, part = token.split(" ")
    numerator, denominator = (int(x) for x in part.split("/"))
    if not 0 < numerator < denominator:
        return None
    return f"{cardinal(int(whole), ctx.style)} và {fraction(numerator, denominator, ctx)}"

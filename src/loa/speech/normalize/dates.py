"""Dates, partial dates, date ranges and clock times.

Readings (documented choices):
- 29/4/2020 → "ngày hai mươi chín tháng tư năm hai nghìn không trăm hai mươi"; "ngày" is not repeated
  after "ngày", "mùng", "mồng"; month 4 is "tư", other months the cardinal ("tháng một").
- 15-16/3 → "ngày mười lăm đến ngày mười sáu tháng ba"; 15/3-20/3 → "... đến ngày hai mươi tháng ba".
- 01/2024 → "tháng một năm hai nghìn không trăm hai mươi tư"; after "quý": "quý một năm ...".
- a day/month pair that is no valid date ("3/45") is a ratio ("ba trên bốn mươi lăm"); a valid pair
  followed by "số"/"tổng" ("2/3 số hộ") is a fraction ("hai phần ba").
- 7h30, 7h30', 7g30, 07:30 → "bảy giờ ba mươi phút"; 17h, 17h00 → "mười bảy giờ"; 7h-11h → "bảy giờ
  đến mười một giờ".
"""

from __future__ import annotations

import re

from loa.speech.normalize.context import Context
from loa.speech.normalize.fractions import FRACTION_BEFORE, fraction
from loa.speech.normalize.numbers import cardinal, integer, month

DATE_PATTERN = (
    r"\d{1,2}(?:\s?[-–]\s?\d{1,2})?/\d{1,2}(?:/\d{4})?(?![\d/])"
    r"(?:\s?[-–]\s?\d{1,2}/\d{1,2}(?:/\d{4})?(?![\d/]))?"
    r"|\d{1,2}-\d{1,2}-\d{4}(?!\d)|\d{1,2}\.\d{1,2}\.\d{4}(?!\d|\.\d)"
)
MONTH_YEAR_PATTERN = r"\d{1,2}/\d{4}(?![\d/])"
_TIME_ONE = (
    r"\d{1,2}(?:[hg]\d{2}(?:\s?(?:['′’]|phút|ph|p)(?!\w))?(?!\w)|h(?![\w/])|:\d{2}(?::\d{2})?(?![\d:]))"
)
TIME_PATTERN = _TIME_ONE + r"(?:\s?[-–]\s?" + _TIME_ONE + ")?"

_NO_DAY_WORD = frozenset({"ngày", "mùng", "mồng", "hôm"})
_FRACTION_NEXT = frozenset(
    {
        "số",
        "tổng",
        "diện",
        "dân",
        "viên",
        "cốc",
        "chén",
        "thìa",
        "gói",
        "quả",
        "lượng",
        "thời",
        "quãng",
        "chặng",
    }
)
# Fixed expressions: "24/7", "24/24" (all day, every day) are never dates.
_ALWAYS = frozenset({"24/7", "24/24"})
_DATE_BEFORE = frozenset(
    {
        "ngày", "mùng", "mồng", "hôm", "từ", "đến", "tới", "sáng", "chiều", "tối", "đêm", "trưa", "lúc",
        "vào", "trước", "sau", "lễ", "dịp", "hạn", "nay", "qua", "đầu", "cuối", "giữa", "khánh", "niệm",
        "tết", "chót",
    }
)  # fmt: skip
_DATE_AFTER = frozenset(
    {
        "đến", "tới", "và", "hoặc", "năm", "tại", "vừa", "này", "hằng", "hàng", "dương", "âm", "là",
        "sẽ", "đã", "của", "với", "theo", "thì", "sau", "trước",
    }
)  # fmt: skip
_RATIO_BEFORE = frozenset({"hạng", "thứ", "lệ", "đạt", "có", "được", "trong", "gồm", "tỷ", "số"})
_DATE_PART = re.compile(r"(\d{1,2})(?:/(\d{1,2}))?(?:/(\d{4}))?")
_DASHED = re.compile(r"(\d{1,2})[-.](\d{1,2})[-.](\d{4})")
_RANGE_DASH = re.compile(r"\s?[-–]\s?")


def _valid(day: int, month_number: int) -> bool:
    return 1 <= day <= 31 and 1 <= month_number <= 12


def _day_month_year(ctx: Context, day: int, month_number: int | None, year: str | None) -> str:
    words = [f"ngày {cardinal(day, ctx.style)}"]
    if month_number is not None:
        words.append(f"tháng {month(month_number, ctx.style)}")
    if year is not None:
        words.append(f"năm {cardinal(int(year), ctx.style)}")
    return " ".join(words)


def read_date(ctx: Context, token: str, start: int, end: int) -> str:
    """A slash/dash/dot date, a partial date, or a date range."""
    dashed = _DASHED.fullmatch(token)
    if dashed:
        parts: list[tuple[int, int | None, str | None]] = [
            (int(dashed.group(1)), int(dashed.group(2)), dashed.group(3))
        ]
    else:
        parts = []
        for piece in _RANGE_DASH.split(token):
            match = _DATE_PART.fullmatch(piece)
            if match is None:  # pragma: no cover - the master pattern only lets date shapes through
                return integer(piece, ctx.style)
            parts.append(
                (int(match.group(1)), int(match.group(2)) if match.group(2) else None, match.group(3))
            )
    months = [m for _, m, _ in parts if m is not None]
    if not months or not all(_valid(d, m if m is not None else months[-1]) for d, m, _ in parts):
        return _not_a_date(ctx, token, start, end, parts)
    if len(parts) == 1 and parts[0][2] is None:
        ratio = _ratio(ctx, parts[0][0], parts[0][1] or 1, start, end)
        if ratio is not None:
            return ratio
    spoken = [_day_month_year(ctx, d, m, y) for d, m, y in parts]
    text = " đến ".join(spoken)
    if ctx.prev_word(start) in _NO_DAY_WORD:
        text = text.removeprefix("ngày ")
    return text


def _ratio(ctx: Context, numerator: int, denominator: int, start: int, end: int) -> str | None:
    """A bare "3/5": ``None`` for a date, else the fraction or ratio (decision table in ``fractions``)."""
    previous, following = ctx.prev_word(start), ctx.next_word(end)
    if ctx.source[start:end] in _ALWAYS:
        return f"{cardinal(numerator, ctx.style)} trên {cardinal(denominator, ctx.style)}"
    if previous in _DATE_BEFORE:
        return None
    proper = numerator < denominator
    ratio = f"{cardinal(numerator, ctx.style)} trên {cardinal(denominator, ctx.style)}"
    if proper and (following in _FRACTION_NEXT or previous in FRACTION_BEFORE):
        return fraction(numerator, denominator, ctx)
    if previous in _RATIO_BEFORE or previous in FRACTION_BEFORE:
        return ratio
    token = ctx.source[start:end]
    if not following or following in _DATE_AFTER:
        if proper:
            day = _day_month_year(ctx, numerator, denominator, None)
            ctx.report(
                token,
                start,
                end,
                f"Không rõ là ngày tháng hay phân số; đã đọc là “{day}”",
                left_in_text=False,
            )
        return None
    ctx.report(
        token, start, end, f"Không rõ là ngày tháng hay tỷ số; đã đọc là “{ratio}”", left_in_text=False
    )
    return ratio


def _not_a_date(
    ctx: Context, token: str, start: int, end: int, parts: list[tuple[int, int | None, str | None]]
) -> str:
    if any(y is not None for _, _, y in parts):
        ctx.report(token, start, end, "Ngày tháng không hợp lệ, đã đọc từng số", left_in_text=False)
    readings = []
    for d, m, y in parts:
        numbers = [cardinal(d, ctx.style)]
        if m is not None:
            numbers.append(cardinal(m, ctx.style))
        if y is not None:
            numbers.append(cardinal(int(y), ctx.style))
        readings.append(" trên ".join(numbers))
    return " đến ".join(readings)


def read_month_year(ctx: Context, token: str, start: int, end: int) -> str:
    month_text, year = token.split("/")
    number = int(month_text)
    previous = ctx.prev_word(start)
    year_words = f"năm {cardinal(int(year), ctx.style)}"
    if previous in ("quý", "đợt", "kỳ", "giai"):
        return f"{cardinal(number, ctx.style)} {year_words}"
    if not 1 <= number <= 12:
        return f"{cardinal(number, ctx.style)} trên {cardinal(int(year), ctx.style)}"
    if previous == "tháng":
        return f"{month(number, ctx.style)} {year_words}"
    return f"tháng {month(number, ctx.style)} {year_words}"


_TIME_PARTS = re.compile(r"(\d{1,2})(?:[hg](\d{2})?|:(\d{2})(?::(\d{2}))?)")


def _one_time(ctx: Context, token: str) -> str | None:
    match = _TIME_PARTS.match(token)
    if match is None:  # pragma: no cover - guarded by the master pattern
        return None
    hour = int(match.group(1))
    minute_text = match.group(2) or match.group(3)
    minute = int(minute_text) if minute_text else 0
    second = int(match.group(4)) if match.group(4) else 0
    if hour > 24 or minute > 59 or second > 59:
        return None
    words = f"{cardinal(hour, ctx.style)} giờ"
    if minute:
        words += f" {cardinal(minute, ctx.style)} phút"
    if second:
        words += f" {cardinal(second, ctx.style)} giây"
    return words


def read_time(ctx: Context, token: str, start: int, end: int) -> str | None:
    """Clock times and time ranges; ``None`` when the numbers are no clock time (e.g. "1:500")."""
    readings = []
    for piece in _RANGE_DASH.split(token):
        spoken = _one_time(ctx, piece)
        if spoken is None:
            return None
        readings.append(spoken)
    return " đến ".join(readings)

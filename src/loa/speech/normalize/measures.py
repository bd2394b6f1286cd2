"""Numbers in running text: plain amounts, measurements, ranges, products ("4mx6m") and context readings.

- 1.250 → "một nghìn hai trăm năm mươi"; 98,5% → "chín mươi tám phẩy năm phần trăm";
- 3-5 tin → "ba đến năm tin"; "thứ 2-6" → "thứ hai đến thứ sáu"; "ngày 25-3" → "ngày hai mươi lăm tháng ba";
- 4mx6m → "bốn mét nhân sáu mét"; 200mm → "hai trăm mi li mét"; 35°C → "ba mươi lăm độ xê";
- after "thứ": ordinal ("thứ nhất", "thứ tư"); after "tháng": month ("tháng tư");
- after a phone word ("gọi", "đường dây nóng", ...) or in a list of emergency numbers (113, 114, 115):
  digit by digit; ten or more digits without separators (tax codes, ID numbers): digit by digit.
"""

from __future__ import annotations

import re

from loa.speech.normalize.codes import EMERGENCY, is_phone_context
from loa.speech.normalize.context import Context
from loa.speech.normalize.letters import CONSONANT_NAMES, LETTER_CLASS
from loa.speech.normalize.numbers import cardinal, digits, month, number, ordinal
from loa.speech.normalize.units import BOUNDARY, SPACED_UNIT_PATTERN, UNIT_PATTERN, UNITS

NUM = r"(?:\d{1,3}(?:\.\d{3})+(?!\d)(?:,\d+)?|\d+(?:[.,]\d+)?)"
_UNIT_AFTER = rf"(?:{UNIT_PATTERN}|\s{SPACED_UNIT_PATTERN})"
_FACTOR = rf"{NUM}(?:\s?{UNIT_PATTERN})?"
PRODUCT_PATTERN = rf"{_FACTOR}\s*[x×]\s*{_FACTOR}(?:\s*[x×]\s*{_FACTOR})?{BOUNDARY}"
RANGE_PATTERN = rf"{NUM}\s?[-–]\s?{NUM}(?:{_UNIT_AFTER})?{BOUNDARY}"
_SCALE = r"(?:\s(?:triệu|nghìn|ngàn|tỷ))"
MEASURE_PATTERN = rf"{NUM}{_SCALE}?{_UNIT_AFTER}{BOUNDARY}"
NEGATIVE_PATTERN = rf"(?<![\w.,])[-−]{NUM}\s?(?:°C|ºC|oC|°|độ(?!\w))"
MIXED_PATTERN = rf"\d+[{LETTER_CLASS}]\w*"
NUMBER_PATTERN = NUM
CURRENCY_FIRST_PATTERN = rf"[$€]\s?{NUM}"
_CURRENCY_SIGNS = {"$": "đô la", "€": "ơ rô"}

_NUM_AND_UNIT = re.compile(rf"({NUM})({_SCALE}?)\s?(.*)")
_NUMBERS = re.compile(NUM)
_FACTORS = re.compile(r"\s*[x×]\s*")
_DAY_WORDS = frozenset({"ngày", "sáng", "chiều", "tối", "đêm", "trưa", "hôm", "mùng", "mồng"})
_TIME_WORDS = frozenset({"lúc", "từ", "đến", "vào", "khoảng", "trước", "sau"})
_MIXED = re.compile(rf"(\d+)([{LETTER_CLASS}])(\d*)")


def _amount_with_unit(ctx: Context, text: str, start: int) -> str:
    match = _NUM_AND_UNIT.fullmatch(text)
    if match is None:  # pragma: no cover - guarded by the master pattern
        return text
    amount, scale, unit = match.group(1), match.group(2), match.group(3).strip()
    spoken = number(amount, ctx.style) + scale
    if not unit:
        return spoken
    if unit == "g" and ctx.prev_word(start) in _TIME_WORDS:
        return f"{spoken} giờ"
    return f"{spoken} {UNITS[unit]}"


def read_measure(ctx: Context, token: str, start: int, end: int) -> str:
    return _amount_with_unit(ctx, token, start)


def read_currency_first(ctx: Context, token: str, start: int, end: int) -> str:
    """ "$100" → "một trăm đô la", "€5" → "năm ơ rô"."""
    return f"{number(token[1:].strip(), ctx.style)} {_CURRENCY_SIGNS[token[0]]}"


def read_negative(ctx: Context, token: str, start: int, end: int) -> str:
    amount = _NUMBERS.search(token)
    assert amount is not None
    degrees = "độ xê" if token.rstrip().endswith("C") else "độ"
    return f"âm {number(amount.group(), ctx.style)} {degrees}"


def read_product(ctx: Context, token: str, start: int, end: int) -> str:
    return " nhân ".join(_amount_with_unit(ctx, factor, start) for factor in _FACTORS.split(token))


def read_range(ctx: Context, token: str, start: int, end: int) -> str:
    first_match = _NUMBERS.match(token)
    second_match = _NUMBERS.search(token, first_match.end() if first_match else 0)
    assert first_match is not None and second_match is not None
    first, second = first_match.group(), second_match.group()
    unit = token[second_match.end() :].strip()
    previous = ctx.prev_word(start)
    if not unit and first.isdigit() and second.isdigit():
        a, b = int(first), int(second)
        if previous == "thứ":
            return f"{ordinal(a, ctx.style)} đến thứ {ordinal(b, ctx.style)}"
        if previous == "tháng" and 1 <= a <= 12 and 1 <= b <= 12:
            return f"{month(a, ctx.style)} đến tháng {month(b, ctx.style)}"
        if previous in _DAY_WORDS and 1 <= a <= 31 and 1 <= b <= 12:
            day = f"{cardinal(a, ctx.style)} tháng {month(b, ctx.style)}"
            return day if previous in ("ngày", "mùng", "mồng") else f"ngày {day}"
        if a > b:  # a score ("tỷ số 2-1"), not a range
            return f"{cardinal(a, ctx.style)} {cardinal(b, ctx.style)}"
    spoken = f"{number(first, ctx.style)} đến {number(second, ctx.style)}"
    return f"{spoken} {UNITS[unit]}" if unit else spoken


_NUMBER_LIST = re.compile(r"\d+(?:\s*(?:,|và|hoặc|/)\s*\d+)+")
_LIST_ITEM = re.compile(r"\d+")


def _emergency(ctx: Context, token: str, start: int, end: int) -> bool:
    """113 in "gọi 113, 114, 115": a list made only of emergency numbers is read digit by digit."""
    if token not in EMERGENCY:
        return False
    offset = max(0, start - 60)
    window = ctx.source[offset : end + 60]
    for found in _NUMBER_LIST.finditer(window):
        if found.start() + offset <= start and end <= found.end() + offset:
            return all(item in EMERGENCY for item in _LIST_ITEM.findall(found.group()))
    return False


def read_number(ctx: Context, token: str, start: int, end: int) -> str:
    if token.isdigit():
        previous = ctx.prev_word(start)
        if previous == "thứ":
            return ordinal(int(token), ctx.style)
        if previous == "tháng" and 1 <= int(token) <= 12:
            return month(int(token), ctx.style)
        if len(token) >= 10:
            return digits(token)
        if 3 <= len(token) <= 6 and (is_phone_context(ctx, start) or _emergency(ctx, token, start, end)):
            return digits(token)
    return number(token, ctx.style)


def read_mixed(ctx: Context, token: str, start: int, end: int) -> str:
    """Digits with letters: "12B" → "mười hai bê", "12A1" → "mười hai a một".

    Known forms ("4G") come from the dictionary; anything else stays visible and is reported.
    """
    override = ctx.overrides.get(token) or ctx.overrides.get(token.upper())
    if override:
        return override
    reading = ctx.abbreviations.lookup(token)
    if reading is not None:
        return reading.expansion
    match = _MIXED.fullmatch(token)
    if match:
        letter = match.group(2).lower()
        name = CONSONANT_NAMES.get(letter, letter)
        words = [number(match.group(1), ctx.style), name]
        if match.group(3):
            words.append(cardinal(int(match.group(3)), ctx.style))
        return " ".join(words)
    ctx.report(token, start, end, "Chữ và số lẫn lộn, không đọc được")
    return token

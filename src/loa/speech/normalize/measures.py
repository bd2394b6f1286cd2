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
# A sign glued to a number, after a space or an opening mark: "-1,5%", "−2°C", "+0,5m". Only the sign is
# the token; the number after it is read by the usual rules (a measure, a range, an amount).
SIGN_PATTERN = r"(?<![\w.,/+\-−–])[-−+](?=\d)"
# Amount words that may close each end of a range ("1.000.000 đồng - 2.000.000 đồng").
_WORD_UNIT = r"(?:\s(?:đồng|USD|VNĐ|VND)(?!\w))"
_RANGE_END = rf"(?:{UNIT_PATTERN}|\s{SPACED_UNIT_PATTERN}|{_WORD_UNIT})"
_RANGE_SIDE = rf"{NUM}(?:{_SCALE}{_RANGE_END}?|{_RANGE_END})"
UNIT_RANGE_PATTERN = rf"{_RANGE_SIDE}{BOUNDARY}\s?[-–]\s?{NUM}{_SCALE}?{_RANGE_END}?{BOUNDARY}"
# Chainage on a road: "Km12+500" → "ki lô mét mười hai cộng năm trăm".
CHAINAGE_PATTERN = r"(?<!\w)K[Mm]\s?\d{1,4}\s?\+\s?\d{1,3}(?![\d.,])"
# Minutes and seconds written "2p30s", "2p30", "1p05s".
DURATION_PATTERN = r"\d{1,3}p\d{1,2}s?(?!\w)"
MIXED_PATTERN = rf"\d+[{LETTER_CLASS}]\w*"
NUMBER_PATTERN = NUM
CURRENCY_FIRST_PATTERN = rf"[$€]\s?{NUM}"
_CURRENCY_SIGNS = {"$": "đô la", "€": "ơ rô"}

_NUM_AND_UNIT = re.compile(rf"({NUM})({_SCALE}?)\s?(.*)")
_NUMBERS = re.compile(NUM)
_FACTORS = re.compile(r"\s*[x×]\s*")
_DAY_WORDS = frozenset({"ngày", "sáng", "chiều", "tối", "đêm", "trưa", "hôm", "mùng", "mồng"})
# Words that make "8-10" a range of amounts even after "ngày"/"đêm" ("ngày và đêm 8-10 độ").
_COUNTED = frozenset(
    {"độ", "giờ", "phút", "ngày", "tuổi", "người", "hộ", "lần", "tin", "bài", "buổi", "lượt"}
)
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


_SIGN_WORDS = {"-": "âm", "−": "âm", "+": "cộng"}


def read_sign(ctx: Context, token: str, start: int, end: int) -> str:
    """ "-1,5%" → "âm", "+0,5m" → "cộng". A list bullet has a space after its dash, so a dash glued
    to a number is a sign even at the start of a line, but that spot is flagged for the editor."""
    line_begin = ctx.source.rfind("\n", 0, start) + 1
    before = ctx.source[line_begin:start].rstrip(" ")
    if token != "+" and before[-1:].isdigit():
        return "đến"  # "từ 10 -15 hộ": a range typed with one space, not a negative number
    if token != "+" and not before.strip():
        ctx.report(
            token,
            start,
            end,
            "Dấu trừ đầu dòng đã đọc là “âm”; nếu là gạch đầu dòng, hãy thêm dấu cách sau dấu gạch",
            left_in_text=False,
        )
    return _SIGN_WORDS[token]


def _side(ctx: Context, text: str, start: int) -> str:
    text = text.strip()
    for word in ("đồng", "USD", "VNĐ", "VND"):
        if text.endswith(" " + word):
            amount = _amount_with_unit(ctx, text[: -len(word) - 1], start)
            return f"{amount} {UNITS.get(word, word)}"
    return _amount_with_unit(ctx, text, start)


def read_unit_range(ctx: Context, token: str, start: int, end: int) -> str:
    """Both ends carry a unit: "200.000đ-500.000đ" → "hai trăm nghìn đồng đến năm trăm nghìn đồng"."""
    dash = _DASH.search(token)
    assert dash is not None
    first, second = token[: dash.start()].strip(), token[dash.end() :].strip()
    # Two different units ("15,8°N - 109,5°E") are a pair, not a range.
    first_unit, second_unit = _unit_of(first), _unit_of(second)
    joiner = ", " if first_unit and second_unit and first_unit != second_unit else " đến "
    return f"{_side(ctx, first, start)}{joiner}{_side(ctx, second, start)}"


def _unit_of(side: str) -> str:
    match = _NUM_AND_UNIT.fullmatch(side)
    return match.group(3).strip() if match else ""


_DASH = re.compile(r"[-–]")
_CHAINAGE = re.compile(r"\d+")


def read_chainage(ctx: Context, token: str, start: int, end: int) -> str:
    kilometre, metre = _CHAINAGE.findall(token)
    return f"ki lô mét {cardinal(int(kilometre), ctx.style)} cộng {cardinal(int(metre), ctx.style)}"


_DURATION = re.compile(r"(\d+)p(\d+)")


def read_duration(ctx: Context, token: str, start: int, end: int) -> str:
    match = _DURATION.match(token)
    assert match is not None
    minutes, seconds = int(match.group(1)), int(match.group(2))
    spoken = f"{cardinal(minutes, ctx.style)} phút"
    return f"{spoken} {cardinal(seconds, ctx.style)} giây" if seconds else spoken


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
        if previous in _DAY_WORDS and 1 <= a <= 31 and 1 <= b <= 12 and ctx.next_word(end) not in _COUNTED:
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
        if token == "00" and previous == "giờ":
            return ""  # "8 giờ 00" is said "tám giờ"
        if previous == "thứ":
            return ordinal(int(token), ctx.style)
        if previous == "tháng" and 1 <= int(token) <= 12:
            return month(int(token), ctx.style)
        if len(token) >= 10:
            return _long_number(ctx, token, start, end)
        if 3 <= len(token) <= 6 and (is_phone_context(ctx, start) or _emergency(ctx, token, start, end)):
            return digits(token)
    return number(token, ctx.style)


# Words after which a long digit string is an identifier (read digit by digit without a doubt).
_ID_WORDS = frozenset(
    {"mã", "số", "khoản", "cccd", "cmnd", "mst", "thuế", "danh", "cước", "chiếu", "hiệu", "seri", "serial",
     "đơn", "hàng", "bhxh", "bhyt", "thẻ", "stk", "vận"}
)  # fmt: skip
_AMOUNT_AFTER = frozenset({"đồng", "vnđ", "vnd", "usd", "đ"})


def _long_number(ctx: Context, token: str, start: int, end: int) -> str:
    """Ten or more digits without separators: an amount before a currency word, a phone number when
    it starts with 0 (handled by the phone rule), an identifier after "mã", "số", "CCCD"…; otherwise
    read digit by digit and flagged, since it might be an amount written without dots."""
    if ctx.next_word(end) in _AMOUNT_AFTER and len(token) <= 15:
        return number(token, ctx.style)
    if not any(word in _ID_WORDS for word in ctx.prev_words(start, 3)):
        ctx.report(
            token,
            start,
            end,
            "Dãy số dài không rõ là số tiền hay mã số; đã đọc từng chữ số "
            "(nếu là số tiền, hãy viết dấu chấm ngăn hàng nghìn: 1.500.000.000)",
            left_in_text=False,
        )
    return digits(token)


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

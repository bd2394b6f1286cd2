"""Spoken Vietnamese numbers: cardinals, digit strings, decimals, ordinals and Roman numerals.

Rules (standard broadcast usage):
- units after a tens word of 20 or more: 1 → "mốt", 4 → "tư", 5 → "lăm" ("hai mươi mốt", "hai mươi
  tư", "hai mươi lăm"); after "mười": 5 → "lăm", 1 and 4 stay "một", "bốn" ("mười một", "mười bốn");
- a zero tens digit inside a group reads "linh" (regional option "lẻ"): 105 → "một trăm linh năm";
- a non-leading group below 100 keeps "không trăm": 1.005 → "một nghìn không trăm linh năm";
- groups: nghìn (option "ngàn"), triệu, tỷ; above a thousand billion the tỷ part repeats
  ("một nghìn tỷ").
"""

from __future__ import annotations

import re

from loa.speech.normalize.model import DEFAULT_STYLE, ReadingStyle

DIGITS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_ORDINAL_SPECIAL = {1: "nhất", 4: "tư"}
_MONTH_SPECIAL = {4: "tư"}

_BILLION = 1_000_000_000


def _tens_units(n: int, style: ReadingStyle, *, inner: bool) -> list[str]:
    """Words for 0 < n < 100; ``inner`` means a hundreds word (or "không trăm") precedes it."""
    tens, units = divmod(n, 10)
    if tens == 0:
        return [style.zero_tens, DIGITS[units]] if inner else [DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 0:
        return words
    if units == 5:
        words.append("lăm")
    elif units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 4 and tens >= 2:
        words.append("tư")
    else:
        words.append(DIGITS[units])
    return words


def _group(n: int, style: ReadingStyle, *, leading: bool) -> list[str]:
    """Words for 0 < n < 1000; a non-leading group always says its hundreds ("không trăm")."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or not leading:
        words += [DIGITS[hundreds], "trăm"]
    if rest:
        words += _tens_units(rest, style, inner=bool(words))
    return words


def _below_billion(n: int, style: ReadingStyle, *, leading: bool) -> list[str]:
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    for value, scale in ((millions, "triệu"), (thousands, style.thousand), (units, "")):
        if value:
            words += _group(value, style, leading=leading and not words)
            if scale:
                words.append(scale)
    return words


def _cardinal_words(n: int, style: ReadingStyle, *, leading: bool = True) -> list[str]:
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        words = [*_cardinal_words(high, style, leading=leading), "tỷ"]
        if low:
            words += _below_billion(low, style, leading=False)
        return words
    return _below_billion(n, style, leading=leading)


def cardinal(n: int, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """The spoken cardinal: 21 → "hai mươi mốt", 1005 → "một nghìn không trăm linh năm"."""
    if n < 0:
        return "âm " + cardinal(-n, style)
    if n == 0:
        return "không"
    return " ".join(_cardinal_words(n, style))


def digits(text: str) -> str:
    """Read a digit string one digit at a time ("113" → "một một ba"); other characters are skipped."""
    return " ".join(DIGITS[ord(c) - 48] for c in text if "0" <= c <= "9")


def ordinal(n: int, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """After "thứ": 1 → "nhất", 4 → "tư", otherwise the cardinal ("thứ tám", "thứ mười bốn")."""
    return _ORDINAL_SPECIAL.get(n) or cardinal(n, style)


def month(n: int, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """After "tháng": 4 → "tư", otherwise the cardinal ("tháng một", "tháng mười hai")."""
    return _MONTH_SPECIAL.get(n) or cardinal(n, style)


def fraction_digits(text: str, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """The part after a decimal mark: leading zeros one by one, then up to three digits as a number.

    "5" → "năm", "25" → "hai mươi lăm", "05" → "không năm", "1234" → "một hai ba bốn".
    """
    stripped = text.lstrip("0")
    zeros = len(text) - len(stripped)
    if not stripped:
        return digits(text)
    if len(stripped) > 3:
        return digits(text)
    head = " ".join(["không"] * zeros)
    tail = cardinal(int(stripped), style)
    return f"{head} {tail}" if head else tail


_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")


def number(text: str, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """Read a written Vietnamese number: "1.250" → one thousand two hundred fifty, "98,5", "0,05", "4.0".

    Dots group thousands when every group after the first has three digits; otherwise a dot is a
    version/decimal point read "chấm". A comma is the decimal mark ("phẩy").
    """
    whole, comma, frac = text.partition(",")
    if _GROUPED.fullmatch(whole):
        words = cardinal(int(whole.replace(".", "")), style)
    elif "." in whole:
        parts = whole.split(".")
        words = " chấm ".join(integer(p, style) for p in parts)
    else:
        words = integer(whole, style)
    if comma and frac:
        words += " phẩy " + fraction_digits(frac, style)
    return words


def integer(text: str, style: ReadingStyle = DEFAULT_STYLE) -> str:
    """A plain digit run: a cardinal, but one digit at a time when it is an identifier.

    Runs with a leading zero longer than three digits ("0025") and runs of more than 15 digits are read
    digit by digit; "08" → "tám".
    """
    if not text:
        return ""
    if len(text) > 15 or (len(text) > 3 and text[0] == "0"):
        return digits(text)
    return cardinal(int(text), style)


_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(text: str) -> int | None:
    """The value of a well-formed Roman numeral ("XIII" → 13), else ``None`` ("IIII", "IC", "")."""
    if not text or not _ROMAN.fullmatch(text):
        return None
    total = 0
    for current, following in zip(text, [*text[1:], ""], strict=True):
        value = _ROMAN_VALUES[current]
        total += -value if following and _ROMAN_VALUES[following] > value else value
    return total

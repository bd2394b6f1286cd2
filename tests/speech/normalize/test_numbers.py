"""Cardinals, decimals, digit strings, ordinals and Roman numerals."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loa.speech.normalize import ReadingStyle, cardinal
from loa.speech.normalize.numbers import digits, fraction_digits, integer, month, number, ordinal, roman_value

CARDINALS = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (31, "ba mươi mốt"),
    (55, "năm mươi lăm"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1_000, "một nghìn"),
    (1_005, "một nghìn không trăm linh năm"),
    (1_010, "một nghìn không trăm mười"),
    (1_250, "một nghìn hai trăm năm mươi"),
    (2_024, "hai nghìn không trăm hai mươi tư"),
    (10_000, "mười nghìn"),
    (10_245, "mười nghìn hai trăm bốn mươi lăm"),
    (100_000, "một trăm nghìn"),
    (1_000_000, "một triệu"),
    (1_000_005, "một triệu không trăm linh năm"),
    (2_500_000, "hai triệu năm trăm nghìn"),
    (1_000_000_000, "một tỷ"),
    (1_000_010_000, "một tỷ không trăm mười nghìn"),
    (
        1_234_567_890,
        "một tỷ hai trăm ba mươi tư triệu năm trăm sáu mươi bảy nghìn tám trăm chín mươi",
    ),
    (1_000_000_000_000, "một nghìn tỷ"),
]


@pytest.mark.parametrize(("value", "spoken"), CARDINALS)
def test_cardinal(value: int, spoken: str) -> None:
    assert cardinal(value) == spoken


@pytest.mark.parametrize(
    ("value", "spoken"),
    [(105, "một trăm lẻ năm"), (1_005, "một ngàn không trăm lẻ năm"), (2_500_000, "hai triệu năm trăm ngàn")],
)
def test_southern_style(value: int, spoken: str) -> None:
    assert cardinal(value, ReadingStyle.south()) == spoken


def test_negative() -> None:
    assert cardinal(-2) == "âm hai"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("1.250", "một nghìn hai trăm năm mươi"),
        ("2.500.000", "hai triệu năm trăm nghìn"),
        ("98,5", "chín mươi tám phẩy năm"),
        ("0,05", "không phẩy không năm"),
        ("8,75", "tám phẩy bảy mươi lăm"),
        ("1.136,82", "một nghìn một trăm ba mươi sáu phẩy tám mươi hai"),
        ("3,1416", "ba phẩy một bốn một sáu"),
        ("4.0", "bốn chấm không"),
        ("2.1", "hai chấm một"),
        ("08", "tám"),
        ("0025", "không không hai năm"),
    ],
)
def test_written_numbers(written: str, spoken: str) -> None:
    assert number(written) == spoken


def test_digits_and_fractions() -> None:
    assert digits("0912") == "không chín một hai"
    assert fraction_digits("05") == "không năm"
    assert fraction_digits("000") == "không không không"
    assert integer("1234567890123456") == digits("1234567890123456")


@pytest.mark.parametrize(
    ("value", "spoken"), [(1, "nhất"), (2, "hai"), (4, "tư"), (8, "tám"), (14, "mười bốn")]
)
def test_ordinal(value: int, spoken: str) -> None:
    assert ordinal(value) == spoken


@pytest.mark.parametrize(("value", "spoken"), [(1, "một"), (4, "tư"), (11, "mười một"), (12, "mười hai")])
def test_month(value: int, spoken: str) -> None:
    assert month(value) == spoken


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("I", 1), ("IV", 4), ("IX", 9), ("XII", 12), ("XIII", 13), ("XXI", 21), ("XL", 40), ("MCMXLV", 1945)],
)
def test_roman_value(numeral: str, value: int) -> None:
    assert roman_value(numeral) == value


@pytest.mark.parametrize("numeral", ["", "IIII", "IC", "VX", "ABC", "XXXX"])
def test_roman_value_rejects_malformed(numeral: str) -> None:
    assert roman_value(numeral) is None


# --- Properties --------------------------------------------------------------------------------------

_DIGIT_WORDS = {
    "không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
    "sáu": 6, "bảy": 7, "tám": 8, "chín": 9,
}  # fmt: skip
_SCALES = {"nghìn": 1_000, "ngàn": 1_000, "triệu": 1_000_000}


def parse_spoken(text: str) -> int:
    """A small independent parser of spoken Vietnamese cardinals, used to check the reader."""
    result = total = group = 0
    pending: int | None = None
    for word in text.split():
        if word in _DIGIT_WORDS:
            assert pending is None, f"two digit words in a row in {text!r}"
            pending = _DIGIT_WORDS[word]
        elif word == "mười":
            group += 10
        elif word == "mươi":
            assert pending is not None
            group += pending * 10
            pending = None
        elif word == "trăm":
            assert pending is not None
            group += pending * 100
            pending = None
        elif word in ("linh", "lẻ"):
            assert pending is None
        elif word in _SCALES:
            total += (group + (pending or 0)) * _SCALES[word]
            group, pending = 0, None
        elif word == "tỷ":
            result = (result + total + group + (pending or 0)) * 1_000_000_000
            total = group = 0
            pending = None
        else:
            raise AssertionError(f"unexpected word {word!r} in {text!r}")
    return result + total + group + (pending or 0)


@given(st.integers(min_value=0, max_value=10**15))
def test_cardinal_round_trips(value: int) -> None:
    assert parse_spoken(cardinal(value)) == value
    assert parse_spoken(cardinal(value, ReadingStyle.south())) == value


@given(st.integers(min_value=0, max_value=10**15))
def test_cardinal_never_contains_digits(value: int) -> None:
    spoken = cardinal(value)
    assert not any(c.isdigit() for c in spoken)
    assert "  " not in spoken and spoken == spoken.strip()


@given(st.integers(min_value=20, max_value=10**9))
def test_special_unit_words_only_after_tens(value: int) -> None:
    words = cardinal(value).split()
    for before, word in itertools.pairwise(words):
        if word in ("mốt", "tư"):
            assert before == "mươi"
        if word == "lăm":
            assert before in ("mươi", "mười")

"""Values typed by people: dates, Vietnamese decimals, whole numbers; every refusal in Vietnamese."""

from __future__ import annotations

from datetime import date

import pytest

from loa.activities.parsing import ValueProblem, check_range, parse_date, parse_decimal, parse_int

TODAY = date(2024, 1, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/01/2024", date(2024, 1, 15)),
        ("5/1/2023", date(2023, 1, 5)),
        ("05-01-2023", date(2023, 1, 5)),
        ("05.01.2023", date(2023, 1, 5)),
        ("2023-01-05", date(2023, 1, 5)),
        (" 29/02/2020 ", date(2020, 2, 29)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("31/02/2023", "không tồn tại"),
        ("29/02/2023", "không tồn tại"),
        ("13/13/2023", "không tồn tại"),
        ("16/01/2024", "tương lai"),
        ("01/01/1900", "không hợp lý"),
        ("hôm qua", "định dạng"),
        ("2023/01/05", "định dạng"),
    ],
)
def test_bad_dates(text: str, fragment: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_date(text, today=TODAY)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,8", 1.8),
        ("1.8", 1.8),
        ("4", 4.0),
        ("1,8m", 1.8),
        ("0,75 m", 0.75),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
    ],
)
def test_decimals_accept_the_vietnamese_comma(text: str, expected: float) -> None:
    assert parse_decimal(text, unit="m") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1,8,2", "1.2.3", "abc", "nan", "1,8x"])
def test_bad_decimals(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_decimal(text, unit="m")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), ("1.000.000", 1_000_000), ("1,000,000", 1_000_000), ("2 500", 2500), ("-3", -3)],
)
def test_whole_numbers(text: str, expected: int) -> None:
    assert parse_int(text) == expected


def test_fraction_is_not_a_whole_number() -> None:
    with pytest.raises(ValueProblem) as info:
        parse_int("1,5")
    assert "số nguyên" in info.value.message


def test_range_messages() -> None:
    with pytest.raises(ValueProblem) as info:
        check_range(-2.5, minimum=0, exclusive=True, maximum=100, what="Rộng (m)")
    assert info.value.message == "Rộng (m) phải lớn hơn 0: -2,5"
    with pytest.raises(ValueProblem):
        check_range(0, minimum=0, exclusive=True, maximum=None, what="Cao (m)")
    with pytest.raises(ValueProblem):
        check_range(3, minimum=1, exclusive=False, maximum=2, what="Số mặt")
    check_range(2, minimum=1, exclusive=False, maximum=2, what="Số mặt")

"""Shared Vietnamese wording: numbers (dot thousands, decimal comma, "12,5 %"), counts, sizes, dates,
reporting periods and how forms name them; the Jinja filters pages use. Pure tables."""

from __future__ import annotations

from datetime import date

import pytest

from loa.errors import InvalidInput
from loa.navigation import menu_for
from loa.vocab.dates import vn_date
from loa.vocab.numbers import count_text, decimal_text, number_text, percent_text, size_text
from loa.vocab.period import Period
from loa.vocab.periodform import PeriodFields, fields_of, parse_period
from loa.web.templating import make_templates


@pytest.mark.parametrize(
    ("value", "decimals", "trim", "text"),
    [
        (0, 0, False, "0"),
        (999, 0, False, "999"),
        (1234, 0, False, "1.234"),
        (1234567, 0, False, "1.234.567"),
        (1234.5, 1, False, "1.234,5"),
        (1234.5, 2, False, "1.234,50"),
        (1234.5, 2, True, "1.234,5"),
        (4.0, 2, True, "4"),
        (0.75, 2, True, "0,75"),
        (-1234.56, 1, False, "-1.234,6"),
        (-0.04, 1, False, "0,0"),  # rounds to zero: no minus sign
        (14.123456, 6, True, "14,123456"),
        (2.5, 0, False, "2"),  # rounds half to even, like Python
    ],
)
def test_numbers_use_dot_thousands_and_a_decimal_comma(
    value: float, decimals: int, trim: bool, text: str
) -> None:
    assert number_text(value, decimals, trim=trim) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.5, "12,5 %"), (100.0, "100 %"), (55.56, "55,6 %"), (0.04, "0 %"), (1234.5, "1.234,5 %")],
)
def test_percentages_keep_a_space_before_the_sign(value: float, text: str) -> None:
    assert percent_text(value) == text


def test_percentages_to_a_chosen_precision() -> None:
    assert percent_text(87.456, 0) == "87 %" and percent_text(87.456, 2) == "87,46 %"


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0"), (5, "05"), (8, "08"), (12, "12"), (130, "130"), (1250, "1.250")]
)
def test_counts_are_zero_padded_below_ten(n: int, text: str) -> None:
    assert count_text(n) == text


def test_decimals_and_sizes() -> None:
    assert [decimal_text(x) for x in (1.8, 4.0, 0.75, 1234.5)] == ["1,8", "4", "0,75", "1.234,5"]
    assert size_text(4.0, 6.0, 1) == "kích thước 4m x 6m"
    assert size_text(1.8, 1.2, 2) == "02 mặt, kích thước 1,8m x 1,2m"
    assert size_text(None, 1.2, 2) == ""


def test_dates() -> None:
    assert vn_date(date(2024, 3, 5)) == "05/03/2024"


@pytest.mark.parametrize(
    ("period", "label", "next_label"),
    [
        (Period.year(2023), "năm 2023", "năm 2024"),
        (Period.half(2024, 1), "6 tháng đầu năm 2024", "6 tháng cuối năm 2024"),
        (Period.quarter(2024, 4), "quý IV năm 2024", "quý I năm 2025"),
        (Period.month(2024, 12), "tháng 12 năm 2024", "tháng 1 năm 2025"),
        (
            Period.custom(date(2024, 1, 1), date(2024, 3, 15)),
            "từ ngày 01/01/2024 đến ngày 15/03/2024",
            "thời gian tới",
        ),
    ],
)
def test_period_wording(period: Period, label: str, next_label: str) -> None:
    assert (period.label, period.next_label) == (label, next_label)
    assert Period.from_json(period.to_json()) == period
    assert parse_period(fields_of(period)) == period  # a form filled again picks the same period


def test_bad_periods_are_refused_in_vietnamese() -> None:
    with pytest.raises(InvalidInput, match="Quý phải từ 1 đến 4"):
        Period.build("quarter", year=2024, index=5)
    with pytest.raises(InvalidInput, match="Ngày kết thúc"):
        Period.build("custom", start=date(2024, 3, 1), end=date(2024, 1, 1))
    with pytest.raises(InvalidInput, match="Loại kỳ"):
        Period.build("week", year=2024)
    with pytest.raises(InvalidInput, match="Năm báo cáo phải là số"):
        parse_period(PeriodFields("q2", "hai nghìn"))
    assert parse_period(PeriodFields("", "")) is None  # "Mọi thời gian"


def test_pages_format_numbers_through_the_filters() -> None:
    env = make_templates(menu_for=menu_for).env
    page = env.from_string("{{ n|number }} · {{ x|number(1) }} · {{ p|percent }} · {{ q|percent(0) }}")
    assert page.render(n=3321, x=1234.56, p=12.5, q=87.6) == "3.321 · 1.234,6 · 12,5 % · 88 %"

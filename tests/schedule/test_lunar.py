"""The Vietnamese lunar calendar (UTC+7) and the public-holiday table."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lunardate import LunarDate as ChineseDate

from loa.errors import InvalidInput
from loa.schedule.holidays import HolidayKind, vietnamese_holidays
from loa.schedule.lunar import LunarDate, leap_month, lunar_new_year, lunar_to_solar, solar_to_lunar


def test_the_algorithm_reproduces_the_chinese_table_when_run_for_utc_plus_8() -> None:
    # lunardate is a table for the Chinese calendar (UTC+8; Beijing local mean time before 1929).
    for year in range(1929, 2100):
        assert lunar_new_year(year, utc_offset_hours=8) == ChineseDate(year, 1, 1).to_solar_date(), year


def test_vietnamese_tet_differs_from_chinese_new_year_in_known_years() -> None:
    differing = {
        year: (lunar_new_year(year), ChineseDate(year, 1, 1).to_solar_date())
        for year in range(1968, 2100)
        if lunar_new_year(year) != ChineseDate(year, 1, 1).to_solar_date()
    }
    assert differing[1985] == (date(1985, 1, 21), date(1985, 2, 20))  # a whole month apart
    assert differing[2007] == (date(2007, 2, 17), date(2007, 2, 18))
    assert differing[1968] == (date(1968, 1, 29), date(1968, 1, 30))  # Tết Mậu Thân
    assert set(differing) == {1968, 1969, 1985, 2007, 2030, 2053}


@pytest.mark.parametrize(
    ("year", "tet"),
    [
        (2020, date(2020, 1, 25)),
        (2023, date(2023, 1, 22)),
        (2024, date(2024, 2, 10)),
        (2025, date(2025, 1, 29)),
    ],
)
def test_recent_tet(year: int, tet: date) -> None:
    assert lunar_new_year(year) == tet
    assert solar_to_lunar(tet) == LunarDate(year, 1, 1)


def test_leap_months() -> None:
    assert leap_month(2023) == 2  # Quý Mão had a leap second month
    assert leap_month(2020) == 4
    assert leap_month(2024) is None
    assert lunar_to_solar(2023, 2, 1, leap=True) == date(2023, 3, 22)
    assert solar_to_lunar(date(2023, 3, 22)) == LunarDate(2023, 2, 1, leap=True)


def test_impossible_lunar_dates_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        lunar_to_solar(2024, 3, 1, leap=True)
    assert "không có tháng nhuận" in err.value.message
    with pytest.raises(InvalidInput):
        lunar_to_solar(2023, 13, 1)
    short_month = next(
        m
        for m in range(1, 13)
        if lunar_to_solar(2024, m, 1) + timedelta(days=29)
        == (lunar_to_solar(2024, m + 1, 1) if m < 12 else lunar_new_year(2025))
    )
    with pytest.raises(InvalidInput) as err:
        lunar_to_solar(2024, short_month, 30)
    assert "chỉ có 29 ngày" in err.value.message
    with pytest.raises(InvalidInput):
        solar_to_lunar(date(1800, 1, 1))


@given(st.integers(min_value=1968, max_value=2199))
def test_tet_falls_between_21_january_and_20_february(year: int) -> None:
    tet = lunar_new_year(year)
    assert date(year, 1, 21) <= tet <= date(year, 2, 20)
    assert solar_to_lunar(tet - timedelta(days=1)).month == 12


@given(st.dates(min_value=date(1968, 1, 1), max_value=date(2199, 10, 31)))
def test_solar_lunar_round_trip(day: date) -> None:
    lunar = solar_to_lunar(day)
    assert 1 <= lunar.day <= 30 and 1 <= lunar.month <= 12
    assert lunar_to_solar(lunar.year, lunar.month, lunar.day, lunar.leap) == day
    nxt = solar_to_lunar(day + timedelta(days=1))
    assert nxt.day == lunar.day + 1 or nxt.day == 1


def test_holidays_2023() -> None:
    days = {h.day: h for h in vietnamese_holidays(2023)}
    assert sorted(days) == [
        date(2023, 1, 1),
        date(2023, 1, 21),  # 30 Tết: 30 tháng Chạp Nhâm Dần
        date(2023, 1, 22),
        date(2023, 1, 23),
        date(2023, 1, 24),
        date(2023, 4, 29),  # Giỗ Tổ Hùng Vương, 10/3 âm lịch
        date(2023, 4, 30),
        date(2023, 5, 1),
        date(2023, 9, 2),
        date(2023, 9, 3),
    ]
    assert solar_to_lunar(date(2023, 1, 21)) == LunarDate(2022, 12, 30)
    assert days[date(2023, 4, 29)].kind is HolidayKind.LUNAR
    assert days[date(2023, 4, 29)].name == "Giỗ Tổ Hùng Vương (10/3 âm lịch)"
    before = {h.day for h in vietnamese_holidays(2025, national_day_adjacent="before")}
    assert date(2025, 9, 1) in before and date(2025, 9, 3) not in before


def test_holidays_2024_follow_the_lunar_calendar() -> None:
    days = [h.day for h in vietnamese_holidays(2024)]
    assert date(2024, 2, 9) in days and date(2024, 2, 12) in days  # 30 Tết Quý Mão .. mùng 3 Giáp Thìn
    assert date(2024, 4, 18) in days  # Giỗ Tổ 2024

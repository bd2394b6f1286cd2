"""Vietnam's public holidays (Labour Code 2019, art. 112) as a table per Gregorian year.

The statutory days are computed; which *extra* days are given around them (the adjacent day of Quốc
khánh, bridges, swapped working days) is decided each year by the Prime Minister, so the one choice that
changes the list of days — the day next to 2/9 — is a parameter, and a station may add its own days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from loa.schedule.lunar import lunar_new_year, lunar_to_solar, lunar_year_end


class HolidayKind(StrEnum):
    SOLAR = "solar"  # fixed Gregorian date
    LUNAR = "lunar"  # fixed date of the Vietnamese lunar calendar


@dataclass(frozen=True, order=True)
class Holiday:
    day: date
    name: str  # Vietnamese, shown to people
    kind: HolidayKind


@lru_cache(maxsize=256)
def vietnamese_holidays(
    year: int, *, national_day_adjacent: Literal["before", "after"] = "after"
) -> tuple[Holiday, ...]:
    """The public holidays falling in Gregorian ``year``, sorted by day.

    Tết is the lunar new year of ``year`` (always in late January or February): mùng 1–3 tháng Giêng plus
    the last day of the old year ("30 Tết", the 29th when tháng Chạp is short). Quốc khánh is 2/9 plus the
    day before or after it, as decided for that year."""
    tet = lunar_new_year(year)
    adjacent = date(year, 9, 1) if national_day_adjacent == "before" else date(year, 9, 3)
    days = [
        Holiday(date(year, 1, 1), "Tết Dương lịch", HolidayKind.SOLAR),
        Holiday(lunar_year_end(year), "Tết Nguyên Đán (30 Tết)", HolidayKind.LUNAR),
        Holiday(tet, "Tết Nguyên Đán (mùng 1)", HolidayKind.LUNAR),
        Holiday(tet + timedelta(days=1), "Tết Nguyên Đán (mùng 2)", HolidayKind.LUNAR),
        Holiday(tet + timedelta(days=2), "Tết Nguyên Đán (mùng 3)", HolidayKind.LUNAR),
        Holiday(lunar_to_solar(year, 3, 10), "Giỗ Tổ Hùng Vương (10/3 âm lịch)", HolidayKind.LUNAR),
        Holiday(date(year, 4, 30), "Ngày Giải phóng miền Nam, thống nhất đất nước", HolidayKind.SOLAR),
        Holiday(date(year, 5, 1), "Ngày Quốc tế Lao động", HolidayKind.SOLAR),
        Holiday(date(year, 9, 2), "Quốc khánh", HolidayKind.SOLAR),
        Holiday(adjacent, "Quốc khánh (ngày liền kề)", HolidayKind.SOLAR),
    ]
    return tuple(sorted(days))


def holiday_dates(years: Iterable[int], *, extra: Iterable[date] = ()) -> frozenset[date]:
    """All holiday days of the given years, plus a station's own ``extra`` days."""
    out = {h.day for y in years for h in vietnamese_holidays(y)}
    out.update(extra)
    return frozenset(out)

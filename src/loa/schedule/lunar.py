"""The Vietnamese lunisolar calendar (âm lịch), computed astronomically for UTC+7.

The ``lunardate`` package implements the *Chinese* calendar from a table computed for UTC+8. Vietnam's
calendar follows the same rules (month starts on the day of the new moon; the winter solstice lies in
month 11; a year with 13 months repeats the first month without a principal solar term) but counts days
in UTC+7 (official since 1968). When a new moon or a solar term falls between 23:00 and 24:00 Beijing
time the two calendars put it on different days, so some months — and some Tết — differ: Tết 1985 was
21 January in Vietnam but 20 February in China; Tết 2007 was 17 February in Vietnam, 18 February in China.

This module implements Hồ Ngọc Đức's public-domain algorithm (new moons and solar longitudes after Jean
Meeus, *Astronomical Algorithms*). With ``utc_offset_hours=8`` it reproduces ``lunardate`` (the tests
check every Tết 1900–2099), which is how the implementation is verified; with 7 it gives the Vietnamese
calendar. Before 1968 Vietnam (North) used UTC+8, i.e. the Chinese calendar; dates earlier than that are
computed with UTC+7 all the same and should not be relied on for history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from loa.errors import InvalidInput

VIETNAM_UTC_OFFSET_HOURS = 7
MIN_YEAR, MAX_YEAR = 1900, 2199
_JDN_OFFSET = 1721425  # date.toordinal() + _JDN_OFFSET == Julian day number (noon)
_SYNODIC_MONTH = 29.530588853
_K0 = 2415021.076998695  # the new moon of 1 January 1900, as a Julian day


@dataclass(frozen=True, order=True)
class LunarDate:
    """A date of the Vietnamese lunar calendar. ``leap`` marks a repeated (nhuận) month."""

    year: int
    month: int
    day: int
    leap: bool = False

    def label_vi(self) -> str:
        month = f"{self.month} nhuận" if self.leap else str(self.month)
        return f"ngày {self.day} tháng {month} năm {self.year} (âm lịch)"


def _new_moon_jd(k: int) -> float:
    """Julian day (TT-corrected) of the k-th new moon after 1 January 1900 (Meeus, ch. 49 short form)."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (
        (0.1734 - 0.000393 * t) * math.sin(m * dr)
        + 0.0021 * math.sin(2 * dr * m)
        - 0.4068 * math.sin(mpr * dr)
        + 0.0161 * math.sin(dr * 2 * mpr)
        - 0.0004 * math.sin(dr * 3 * mpr)
        + 0.0104 * math.sin(dr * 2 * f)
        - 0.0051 * math.sin(dr * (m + mpr))
        - 0.0074 * math.sin(dr * (m - mpr))
        + 0.0004 * math.sin(dr * (2 * f + m))
        - 0.0004 * math.sin(dr * (2 * f - m))
        - 0.0006 * math.sin(dr * (2 * f + mpr))
        + 0.0010 * math.sin(dr * (2 * f - mpr))
        + 0.0005 * math.sin(dr * (2 * mpr + m))
    )
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - delta_t


@lru_cache(maxsize=8192)
def _new_moon_day(k: int, tz: int) -> int:
    """Julian day number of the local calendar day holding the k-th new moon."""
    return math.floor(_new_moon_jd(k) + 0.5 + tz / 24)


def _sun_longitude_sector(jdn: int, tz: int) -> int:
    """Which 30° sector (0–11) the sun's longitude is in at local midnight starting day ``jdn``."""
    t = (jdn - 0.5 - tz / 24 - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    longitude = (l0 + dl) * dr
    longitude -= math.pi * 2 * math.floor(longitude / (math.pi * 2))
    return math.floor(longitude / math.pi * 6)


@lru_cache(maxsize=1024)
def _month11_start(year: int, tz: int) -> int:
    """Julian day number on which lunar month 11 (the one holding the winter solstice) of ``year`` begins."""
    off = date(year, 12, 31).toordinal() + _JDN_OFFSET - 2415021
    k = math.floor(off / _SYNODIC_MONTH)
    nm = _new_moon_day(k, tz)
    if _sun_longitude_sector(nm, tz) >= 9:
        nm = _new_moon_day(k - 1, tz)
    return nm


@lru_cache(maxsize=1024)
def _leap_month_offset(a11: int, tz: int) -> int:
    """Months after month 11 of the leap (nhuận) month, for a year of 13 months starting at ``a11``."""
    k = math.floor((a11 - _K0) / _SYNODIC_MONTH + 0.5)
    i = 1
    arc = _sun_longitude_sector(_new_moon_day(k + i, tz), tz)
    while True:
        last = arc
        i += 1
        arc = _sun_longitude_sector(_new_moon_day(k + i, tz), tz)
        if arc == last or i >= 14:
            return i - 1


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(
            f"Năm {year} nằm ngoài phạm vi lịch âm được hỗ trợ ({MIN_YEAR}–{MAX_YEAR}).",
            code="lunar_year_out_of_range",
        )


def solar_to_lunar(day: date, *, utc_offset_hours: int = VIETNAM_UTC_OFFSET_HOURS) -> LunarDate:
    """The lunar date of a Gregorian day (Vietnamese calendar unless another UTC offset is given)."""
    _check_year(day.year)
    tz = utc_offset_hours
    jdn = day.toordinal() + _JDN_OFFSET
    k = math.floor((jdn - _K0) / _SYNODIC_MONTH)
    # k estimates the lunation from the mean month; the true new moon can be ±14 h off the mean one.
    while _new_moon_day(k + 1, tz) <= jdn:
        k += 1
    while _new_moon_day(k, tz) > jdn:
        k -= 1
    month_start = _new_moon_day(k, tz)
    a11 = _month11_start(day.year, tz)
    b11 = a11
    if a11 >= month_start:
        lunar_year = day.year
        a11 = _month11_start(day.year - 1, tz)
    else:
        lunar_year = day.year + 1
        b11 = _month11_start(day.year + 1, tz)
    lunar_day = jdn - month_start + 1
    diff = math.floor((month_start - a11) / 29)
    leap = False
    lunar_month = diff + 11
    if b11 - a11 > 365:
        leap_diff = _leap_month_offset(a11, tz)
        if diff >= leap_diff:
            lunar_month = diff + 10
            leap = diff == leap_diff
    if lunar_month > 12:
        lunar_month -= 12
    if lunar_month >= 11 and diff < 4:
        lunar_year -= 1
    return LunarDate(lunar_year, lunar_month, lunar_day, leap)


def leap_month(year: int, *, utc_offset_hours: int = VIETNAM_UTC_OFFSET_HOURS) -> int | None:
    """The month repeated as leap (nhuận) in lunar ``year``, or None for a 12-month year."""
    _check_year(year)
    tz = utc_offset_hours
    a11, b11 = _month11_start(year - 1, tz), _month11_start(year, tz)
    if b11 - a11 <= 365:
        return None
    month = (_leap_month_offset(a11, tz) - 2) % 12
    return 12 if month == 0 else month


def lunar_to_solar(
    year: int, month: int, day: int, leap: bool = False, *, utc_offset_hours: int = VIETNAM_UTC_OFFSET_HOURS
) -> date:
    """The Gregorian day of a lunar date. Raises ``InvalidInput`` for a date that does not exist."""
    _check_year(year)
    tz = utc_offset_hours
    if not 1 <= month <= 12 or not 1 <= day <= 30:
        raise InvalidInput(f"Ngày âm lịch {day}/{month}/{year} không tồn tại.", code="lunar_date_invalid")
    if month < 11:
        a11, b11 = _month11_start(year - 1, tz), _month11_start(year, tz)
    else:
        a11, b11 = _month11_start(year, tz), _month11_start(year + 1, tz)
    k = math.floor(0.5 + (a11 - _K0) / _SYNODIC_MONTH)
    off = (month - 11) % 12
    if b11 - a11 > 365:
        leap_off = _leap_month_offset(a11, tz)
        leap_month_number = (leap_off - 2) % 12
        if leap and month != leap_month_number:
            raise InvalidInput(f"Năm âm lịch {year} không có tháng {month} nhuận.", code="lunar_date_invalid")
        if leap or off >= leap_off:
            off += 1
    elif leap:
        raise InvalidInput(f"Năm âm lịch {year} không có tháng nhuận.", code="lunar_date_invalid")
    month_start = _new_moon_day(k + off, tz)
    month_length = _new_moon_day(k + off + 1, tz) - month_start
    if day > month_length:
        raise InvalidInput(
            f"Tháng {month} âm lịch năm {year} chỉ có {month_length} ngày.", code="lunar_date_invalid"
        )
    return date.fromordinal(month_start + day - 1 - _JDN_OFFSET)


def lunar_new_year(year: int, *, utc_offset_hours: int = VIETNAM_UTC_OFFSET_HOURS) -> date:
    """Tết Nguyên Đán (mùng 1 tháng Giêng) of lunar ``year``, which falls in Gregorian ``year``."""
    return lunar_to_solar(year, 1, 1, utc_offset_hours=utc_offset_hours)


def lunar_year_end(year: int) -> date:
    """The last day of the lunar year before Tết of ``year`` ("30 Tết", which is the 29th in a short
    month 12)."""
    return lunar_new_year(year) - timedelta(days=1)

"""Recurrence: RFC 5545 rules in Vietnam time, expanded only inside a window."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loa.errors import InvalidInput
from loa.schedule.recurrence import (
    MAX_OCCURRENCES,
    Recurrence,
    occurrences,
    parse_rule,
    to_local,
    to_utc,
    validate,
)
from loa.schedule.wording import describe

YEAR_2023 = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))


def local_days(found: list[datetime]) -> list[str]:
    return [to_local(at).strftime("%d/%m") for at in found]


def test_third_monday_of_every_month_gives_the_stations_2023_dates() -> None:
    rec = Recurrence.monthly_nth_weekday(date(2023, 1, 1), time(7, 0), nth=3, weekday=0)
    found = occurrences(rec, *YEAR_2023)
    assert local_days(found) == [
        "16/01", "20/02", "20/03", "17/04", "15/05", "19/06",
        "17/07", "21/08", "18/09", "16/10", "20/11", "18/12",
    ]  # fmt: skip
    assert all(to_local(at).weekday() == 0 and 15 <= to_local(at).day <= 21 for at in found)
    assert all(at.hour == 0 and at.tzinfo is UTC for at in found)  # 07:00 in Vietnam is 00:00 UTC
    assert describe(rec) == "Thứ Hai thứ ba trong tháng lúc 07:00"


def test_daily_and_weekdays() -> None:
    window = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 15, tzinfo=UTC))
    daily = occurrences(Recurrence.daily(date(2023, 1, 1), time(17, 30)), *window)
    assert len(daily) == 14 and {to_local(at).time() for at in daily} == {time(17, 30)}
    weekdays = occurrences(Recurrence.weekdays(date(2023, 1, 1), time(6, 0)), *window)
    assert len(weekdays) == 10 and all(to_local(at).weekday() < 5 for at in weekdays)


def test_every_two_hours_until_cancelled_needs_a_window() -> None:
    rec = Recurrence.every_hours(datetime(2023, 3, 1, 6, 0), 2)
    assert not rec.bounded
    found = occurrences(rec, datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 3, 3, tzinfo=UTC))
    # 06:00 local on 1/3 is 23:00 UTC on 28/2 (before the window); then every odd UTC hour for two days
    assert len(found) == 24 and found[0] == datetime(2023, 3, 1, 1, 0, tzinfo=UTC)
    assert all(b - a == timedelta(hours=2) for a, b in itertools.pairwise(found))
    with pytest.raises(InvalidInput) as err:
        occurrences(rec, datetime(2023, 3, 1, tzinfo=UTC), None)
    assert err.value.code == "rrule_unbounded"
    assert "không có điểm kết thúc" in err.value.message


def test_a_bounded_rule_may_be_expanded_without_an_end() -> None:
    rec = Recurrence(datetime(2023, 5, 1, 7, 0), "FREQ=WEEKLY;COUNT=5")
    assert rec.bounded
    assert len(occurrences(rec, datetime(2023, 1, 1, tzinfo=UTC), None)) == 5


def test_exceptions_extra_dates_and_holidays() -> None:
    rec = Recurrence(
        datetime(2023, 1, 16, 6, 0),
        "FREQ=DAILY",
        except_local=(datetime(2023, 1, 17, 6, 0),),
        except_dates=(date(2023, 1, 18),),
        extra_local=(datetime(2023, 1, 18, 20, 0), datetime(2023, 1, 19, 20, 0)),
        skip_holidays=True,
    )
    found = occurrences(rec, datetime(2023, 1, 15, tzinfo=UTC), datetime(2023, 1, 27, tzinfo=UTC))
    days = [to_local(at).strftime("%d/%m %H:%M") for at in found]
    # 17/1 excepted; 18/1 excepted as a whole day, even its extra airing (exceptions win, as in
    # RFC 5545); an extra evening airing on 19/1; 21–24/1 is Tết 2023 (30 Tết to mùng 3)
    assert days == [
        "16/01 06:00", "19/01 06:00", "19/01 20:00", "20/01 06:00", "25/01 06:00", "26/01 06:00",
        "27/01 06:00",
    ]  # fmt: skip


def test_a_stations_own_day_off() -> None:
    rec = Recurrence.daily(date(2023, 6, 1), time(6, 0), skip_holidays=True)
    window = (datetime(2023, 6, 1, tzinfo=UTC), datetime(2023, 6, 4, tzinfo=UTC))
    assert len(occurrences(rec, *window)) == 3
    assert len(occurrences(rec, *window, holidays=[date(2023, 6, 2)])) == 2


def test_until_in_utc_is_honoured() -> None:
    rec = Recurrence(datetime(2023, 1, 1, 7, 0), "FREQ=DAILY;UNTIL=20230103T000000Z")
    assert local_days(occurrences(rec, datetime(2022, 12, 1, tzinfo=UTC), None)) == [
        "01/01",
        "02/01",
        "03/01",
    ]


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "rrule_no_occurrence"),
        ("FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", "rrule_no_occurrence"),
        ("FREQ=DAILY;COUNT=0", "rrule_no_occurrence"),
        ("FREQ=DAILY;UNTIL=20220101", "rrule_no_occurrence"),
        ("FREQ=HOURLY;INTERVAL=24;BYHOUR=5", "rrule_no_occurrence"),
        ("FREQ=FORTNIGHTLY", "rrule_invalid"),
        ("hằng ngày", "rrule_invalid"),
        ("FREQ=DAILY;BYHOUR=25", "rrule_invalid"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20240101", "rrule_invalid"),
        ("FREQ=SECONDLY", "rrule_invalid"),
        ("DTSTART:20230101T000000\nRRULE:FREQ=DAILY", "rrule_invalid"),
    ],
)
def test_bad_rules_are_refused_in_vietnamese(rule: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate(Recurrence(datetime(2023, 1, 2, 7, 0), rule))
    assert err.value.code == code
    assert (
        "Quy tắc lặp lại" in err.value.message or "RRULE" in err.value.message or "giây" in err.value.message
    )
    assert rule not in err.value.message  # the rule travels in the details, for the API client that sent it
    if code == "rrule_no_occurrence" or rule in ("hằng ngày", "FREQ=FORTNIGHTLY", "FREQ=DAILY;BYHOUR=25"):
        assert err.value.details == [{"field": "rrule", "value": rule}]


def test_no_occurrence_in_a_chosen_window() -> None:
    rec = Recurrence.monthly_nth_weekday(date(2023, 1, 1), time(7, 0), nth=3, weekday=0)
    window = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 10, tzinfo=UTC))
    assert occurrences(rec, *window) == []
    with pytest.raises(InvalidInput) as err:
        occurrences(rec, *window, require_any=True)
    assert err.value.code == "rrule_no_occurrence_in_window"


def test_unknown_timezone() -> None:
    with pytest.raises(InvalidInput) as err:
        validate(Recurrence(datetime(2023, 1, 1, 7), "FREQ=DAILY", timezone="Asia/Sai_Gon"))
    assert err.value.code == "timezone_unknown"
    assert "Múi giờ «Asia/Sai_Gon» không tồn tại" in err.value.message


def test_too_many_occurrences_are_refused() -> None:
    rec = Recurrence(datetime(2023, 1, 1), "FREQ=MINUTELY")
    with pytest.raises(InvalidInput) as err:
        occurrences(rec, datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 14, tzinfo=UTC))
    assert err.value.code == "rrule_too_many"
    assert f"{MAX_OCCURRENCES:,}".replace(",", ".") in err.value.message


def test_naive_window_is_refused() -> None:
    with pytest.raises(InvalidInput):
        occurrences(Recurrence.daily(date(2023, 1, 1), time(6)), datetime(2023, 1, 1), None)


def test_parse_rule_accepts_the_rrule_prefix() -> None:
    assert parse_rule("RRULE:FREQ=WEEKLY;BYDAY=MO", datetime(2023, 1, 2, 7)).after(
        datetime(2023, 1, 2, 8)
    ) == datetime(2023, 1, 9, 7)


# --- properties -------------------------------------------------------------------------------------

local_times = st.datetimes(min_value=datetime(1976, 1, 1), max_value=datetime(2150, 12, 31))


@given(local_times)
def test_vietnam_time_round_trips_and_is_always_utc_plus_7(local: datetime) -> None:
    at = to_utc(local)
    assert at.tzinfo is UTC
    assert local - at.replace(tzinfo=None) == timedelta(hours=7)
    assert to_local(at) == local


@given(st.integers(min_value=1, max_value=31), st.integers(min_value=2000, max_value=2100))
def test_monthly_on_a_day_number_skips_months_too_short(day: int, year: int) -> None:
    rec = Recurrence(datetime(year, 1, 1, 7, 0), f"FREQ=MONTHLY;BYMONTHDAY={day}")
    found = occurrences(rec, datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    months = [to_local(at).month for at in found]
    expected = [m for m in range(1, 13) if day <= _month_length(year, m)]
    assert months == expected
    assert all(to_local(at).day == day for at in found)


@given(st.integers(min_value=1990, max_value=2150))
def test_29_february_only_in_leap_years(year: int) -> None:
    rec = Recurrence(datetime(1988, 2, 29, 6, 0), "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")
    found = occurrences(rec, datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert [to_local(at).date() for at in found] == ([date(year, 2, 29)] if leap else [])


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=1, max_value=72))
def test_daily_expansion_across_month_ends_has_one_airing_per_local_day(offset_days: int, hours: int) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=offset_days)
    end = start + timedelta(hours=hours)
    found = occurrences(Recurrence.daily(date(2019, 12, 31), time(23, 30)), start, end)
    assert all(start <= at < end for at in found)
    assert len({to_local(at).date() for at in found}) == len(found)
    assert len(found) in (hours // 24, hours // 24 + 1)


def _month_length(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day

"""The two readings of "thứ Hai của tuần thứ 3" (docs/scheduling.md): (a) the third Monday of the month,
(b) the Monday of the third Monday–Sunday week, week 1 holding the 1st. Both are plain RFC 5545 rules, so
every expansion (``occurrences``) agrees; here checked month by month and against the definitions."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loa.errors import InvalidInput
from loa.schedule.recurrence import (
    LAST_WEEK,
    MONTH_WEEKS,
    Recurrence,
    month_week_rule,
    nth_weekday_rule,
    occurrences,
    to_local,
    to_utc,
    upcoming,
    week_of_month_days,
)

# month → weekday of its 1st, (a) third Monday, (b) Monday of week 3
MONTHS: list[tuple[date, str, int, int]] = [
    (date(2023, 5, 1), "Mon", 15, 15),  # the readings coincide only when the 1st is a Monday
    (date(2024, 1, 1), "Mon", 15, 15),
    (date(2023, 8, 1), "Tue", 21, 14),
    (date(2024, 2, 1), "Thu", 19, 12),
    (date(2023, 9, 1), "Fri", 18, 11),
    (date(2023, 10, 1), "Sun", 16, 9),  # week 1 starts on Monday 25/9: the Monday of week 3 is the 9th
    (date(2026, 2, 1), "Sun", 16, 9),
]


def _in_month(rule: Recurrence, month: date) -> list[date]:
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    start_at = to_utc(datetime.combine(month, time()))
    end_at = to_utc(datetime.combine(last + timedelta(days=1), time()))
    return [to_local(at).date() for at in occurrences(rule, start_at, end_at)]


@pytest.mark.parametrize(("month", "first", "third_monday", "week_three_monday"), MONTHS)
def test_the_two_readings_month_by_month(
    month: date, first: str, third_monday: int, week_three_monday: int
) -> None:
    assert f"{month:%a}" == first
    a = Recurrence.monthly_nth_weekday(date(2023, 1, 1), time(7, 0), nth=3, weekday=0)
    b = Recurrence.monthly_week_weekday(date(2023, 1, 1), time(7, 0), week=3, weekday=0)
    assert _in_month(a, month) == [month.replace(day=third_monday)]
    assert _in_month(b, month) == [month.replace(day=week_three_monday)]


def test_week_three_monday_is_always_the_ninth_to_fifteenth() -> None:
    assert week_of_month_days(3, 0) == (9, 10, 11, 12, 13, 14, 15)
    assert month_week_rule(3, 0) == "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=9,10,11,12,13,14,15"
    assert week_of_month_days(1, 0) == (1,)  # Monday of week 1 is in the month only when the 1st is one
    assert week_of_month_days(1, 6) == (1, 2, 3, 4, 5, 6, 7)  # a Sunday always ends week 1
    assert week_of_month_days(LAST_WEEK, 0) == (-7, -6, -5, -4, -3, -2, -1)
    with pytest.raises(InvalidInput):
        week_of_month_days(6, 0)


def _by_definition(year: int, month: int, week: int, weekday: int) -> list[date]:
    """Reading (b) straight from its definition: count Monday–Sunday weeks from the one holding the 1st."""
    first = date(year, month, 1)
    if week == LAST_WEEK:
        last = first.replace(day=calendar.monthrange(year, month)[1])
        day = last - timedelta(days=last.weekday()) + timedelta(days=weekday)
    else:
        day = first - timedelta(days=first.weekday()) + timedelta(days=7 * (week - 1) + weekday)
    return [day] if day.month == month else []


@given(
    year=st.integers(1990, 2150),
    month=st.integers(1, 12),
    week=st.sampled_from(MONTH_WEEKS),
    weekday=st.integers(0, 6),
)
def test_reading_b_matches_its_definition(year: int, month: int, week: int, weekday: int) -> None:
    rule = Recurrence(datetime(1990, 1, 1, 7, 0), month_week_rule(week, weekday))
    assert _in_month(rule, date(year, month, 1)) == _by_definition(year, month, week, weekday)


@given(year=st.integers(1990, 2150), month=st.integers(1, 12), nth=st.sampled_from([1, 2, 3, 4, 5, -1]))
def test_reading_a_is_the_nth_weekday(year: int, month: int, nth: int) -> None:
    rule = Recurrence(datetime(1990, 1, 1, 7, 0), nth_weekday_rule(nth, 0))
    days = (date(year, month, 1) + timedelta(days=i) for i in range(31))
    mondays = [d for d in days if d.month == month and d.weekday() == 0]
    expected = [mondays[nth - 1 if nth > 0 else nth]] if nth <= len(mondays) else []
    assert _in_month(rule, date(year, month, 1)) == expected


def test_upcoming_gives_the_next_dates_after_an_instant() -> None:
    b = Recurrence.monthly_week_weekday(date(2023, 1, 1), time(7, 0), week=3, weekday=0)
    after = datetime(2023, 8, 14, 1, 0, tzinfo=UTC)  # 08:00 on 14/8 in Vietnam: that day's airing is past
    found = [to_local(at) for at in upcoming(b, after, 4)]
    assert found == [datetime(2023, m, d, 7, 0) for m, d in ((9, 11), (10, 9), (11, 13), (12, 11))]
    hourly = Recurrence.every_hours(datetime(2023, 1, 1, 6, 0), 2)
    assert len(upcoming(hourly, datetime(2023, 1, 1, tzinfo=UTC), 6)) == 6
    once = Recurrence(datetime(2023, 1, 1, 6, 0))
    assert upcoming(once, datetime(2024, 1, 1, tzinfo=UTC), 6) == []

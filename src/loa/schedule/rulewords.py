"""An RFC 5545 rule's pattern in Vietnamese words: which days, at what times, how often, until when.
``loa.schedule.wording.describe`` builds the whole description of a recurrence on it; a rule with a part
not understood here raises ``NotUnderstood`` and is described without its pattern. Pure.

The vocabulary (weekdays, ordinals, the two readings of "thứ … của tuần thứ …") is shared with the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from loa.schedule.recurrence import (
    MONTH_WEEKS,
    WEEKDAY_CODES,
    localise_until,
    rule_parts,
    week_of_month_days,
)

WEEKDAY_WORDS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
ORDINAL_WORDS = {1: "thứ nhất", 2: "thứ hai", 3: "thứ ba", 4: "thứ tư", 5: "thứ năm", -1: "cuối cùng"}
WEEK_WORDS = {1: "tuần thứ nhất", 2: "tuần thứ hai", 3: "tuần thứ ba", 4: "tuần thứ tư", 5: "tuần thứ năm"}
UNIT_WORDS = {
    "YEARLY": "năm",
    "MONTHLY": "tháng",
    "WEEKLY": "tuần",
    "DAILY": "ngày",
    "HOURLY": "giờ",
    "MINUTELY": "phút",
}
MISSING_DAY_NOTE = "tháng nào không có ngày này thì không phát"
MISSING_YEAR_DAY_NOTE = "năm nào không có ngày này thì không phát"
WEEK_SPILL_NOTE = "tháng nào ngày này thuộc tháng trước hoặc tháng sau thì không phát"
MAX_TIMES = 8  # times of day listed before "N lần mỗi ngày, từ … đến …"
_ALWAYS_UNDERSTOOD = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"})
_UNDERSTOOD = {
    "YEARLY": frozenset({"BYMONTH", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE"}),
    "MONTHLY": frozenset({"BYMONTH", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE"}),
    "WEEKLY": frozenset({"BYMONTH", "BYDAY", "BYHOUR", "BYMINUTE"}),
    "DAILY": frozenset({"BYMONTH", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE"}),
    "HOURLY": frozenset({"BYMONTH", "BYDAY"}),
    "MINUTELY": frozenset({"BYMONTH", "BYDAY"}),
}
_BYDAY_ITEM = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6}))?$")


Phrase = tuple[str, str]  # the words of a pattern, and a note for the months (years) it skips


class NotUnderstood(Exception):
    """This rule is not put into words here; the caller falls back to ``CUSTOM``."""


@dataclass(frozen=True)
class RuleParts:
    """The understood parts of an RRULE, as numbers."""

    freq: str
    interval: int
    start: datetime
    weekdays: tuple[int, ...]  # BYDAY without an ordinal (0 = Monday)
    nth_weekdays: tuple[tuple[int, int], ...]  # BYDAY with an ordinal: (nth, weekday)
    monthdays: tuple[int, ...]
    months: tuple[int, ...]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    count: int | None
    until: datetime | None  # local wall-clock time


# --- reading the rule ---


def _ints(raw: str | None, low: int, high: int, *, nonzero: bool = False) -> tuple[int, ...]:
    if not raw:
        return ()
    try:
        values = [int(v) for v in raw.split(",")]
    except ValueError as err:
        raise NotUnderstood from err
    if any(not low <= v <= high or (nonzero and v == 0) for v in values):
        raise NotUnderstood
    return tuple(sorted(set(values)))


def until_of(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    found = _UNTIL.match(raw)
    if not found:
        raise NotUnderstood
    try:
        return datetime.strptime(found.group(1) + (found.group(2) or "000000"), "%Y%m%d%H%M%S")
    except ValueError as err:
        raise NotUnderstood from err


def read_rule(rule_text: str, start: datetime, timezone: str) -> RuleParts:
    parts = localise_until(rule_parts(rule_text), timezone)
    freq = parts.get("FREQ", "")
    if freq not in _UNDERSTOOD or set(parts) - _ALWAYS_UNDERSTOOD - _UNDERSTOOD[freq]:
        raise NotUnderstood
    if parts.get("WKST", "MO") != "MO":
        raise NotUnderstood  # weeks start on Monday in Vietnam, and in every phrase here
    weekdays: list[int] = []
    nth: list[tuple[int, int]] = []
    for item in filter(None, parts.get("BYDAY", "").split(",")):
        found = _BYDAY_ITEM.match(item)
        if not found:
            raise NotUnderstood
        day = WEEKDAY_CODES.index(found.group(2))
        if found.group(1) is None:
            weekdays.append(day)
        elif int(found.group(1)) in ORDINAL_WORDS and freq in ("MONTHLY", "YEARLY"):
            nth.append((int(found.group(1)), day))
        else:
            raise NotUnderstood
    interval = _ints(parts.get("INTERVAL"), 1, 10_000) or (1,)
    count = _ints(parts.get("COUNT"), 1, 1_000_000)
    return RuleParts(
        freq=freq,
        interval=interval[0],
        start=start,
        weekdays=tuple(sorted(set(weekdays))),
        nth_weekdays=tuple(sorted(set(nth), key=lambda p: (p[0] < 0, p[0], p[1]))),
        monthdays=_ints(parts.get("BYMONTHDAY"), -31, 31, nonzero=True),
        months=_ints(parts.get("BYMONTH"), 1, 12),
        hours=_ints(parts.get("BYHOUR"), 0, 23),
        minutes=_ints(parts.get("BYMINUTE"), 0, 59),
        count=count[0] if count else None,
        until=until_of(parts.get("UNTIL")),
    )


# --- small words ---


def clock(at: time) -> str:
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


def day_text(at: date | datetime) -> str:
    return f"{at:%d/%m/%Y}"


def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def _weekday_list(days: Sequence[int]) -> str:
    """ "thứ Hai đến thứ Sáu", "thứ Hai, thứ Tư, thứ Sáu": runs of three or more days become a range."""
    runs: list[list[int]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    words: list[str] = []
    for run in runs:
        if len(run) >= 3:
            words.append(f"{WEEKDAY_WORDS[run[0]]} đến {WEEKDAY_WORDS[run[-1]]}")
        else:
            words += [WEEKDAY_WORDS[d] for d in run]
    return ", ".join(words)


def nth_weekday_words(nth: int, weekday: int) -> str:
    """Reading (a) of "thứ Hai của tuần thứ 3": "thứ Hai thứ ba trong tháng" (``BYDAY=3MO``)."""
    return f"{WEEKDAY_WORDS[weekday]} {ORDINAL_WORDS[nth]} trong tháng"


def month_week_words(week: int, weekday: int) -> str:
    """Reading (b): "thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1)"."""
    if week < 0:
        return f"{WEEKDAY_WORDS[weekday]} của tuần cuối tháng (tuần có ngày cuối tháng)"
    return f"{WEEKDAY_WORDS[weekday]} của {WEEK_WORDS[week]} trong tháng (tuần thứ nhất là tuần có ngày 1)"


def occurrence_words(local: datetime) -> str:
    """One airing for a list of dates: "Thứ Hai 14/08/2023 lúc 07:00"."""
    weekday = WEEKDAY_WORDS[local.weekday()]
    return f"{weekday[0].upper()}{weekday[1:]} {day_text(local)} lúc {clock(local.time())}"


def _monthday_word(day: int) -> str:
    if day > 0:
        return str(day)
    return "ngày cuối tháng" if day == -1 else f"ngày thứ {-day} tính từ cuối tháng"


def _times(rule: RuleParts) -> str:
    """When in the day, for rules of a day or longer (BYHOUR × BYMINUTE, else the start's time)."""
    hours = rule.hours or (rule.start.hour,)
    minutes = rule.minutes or (rule.start.minute,)
    times = sorted(time(h, m, rule.start.second) for h in hours for m in minutes)
    if len(times) > MAX_TIMES:
        return f"{len(times)} lần, từ {clock(times[0])} đến {clock(times[-1])}"
    return "lúc " + ", ".join(clock(t) for t in times)


def _every(rule: RuleParts, anchor: str) -> str:
    """ ", 2 tuần một lần (tính từ …)" for an interval above 1, else nothing."""
    if rule.interval == 1:
        return ""
    return f", {rule.interval} {UNIT_WORDS[rule.freq]} một lần (tính từ {anchor})"


# --- the pattern: which days, at what time ---


def _weekly(rule: RuleParts) -> Phrase:
    days = _weekday_list(rule.weekdays or (rule.start.weekday(),))
    if rule.interval == 1:
        return f"{days} hằng tuần {_times(rule)}", ""
    return f"{days} {_times(rule)}" + _every(rule, f"tuần có ngày {day_text(rule.start)}"), ""


def _daily(rule: RuleParts) -> Phrase:
    if rule.monthdays:
        if rule.interval != 1:
            raise NotUnderstood
        return _monthly(rule)  # every day that is one of these days of the month: a monthly pattern
    if rule.weekdays and rule.interval == 1:
        return _weekly(rule)
    text = "hằng ngày" if rule.interval == 1 else f"{rule.interval} ngày một lần"
    text += f" {_times(rule)}"
    if rule.interval != 1:
        text += f" (tính từ ngày {day_text(rule.start)})"
    if rule.weekdays:
        text += f", chỉ vào {_weekday_list(rule.weekdays)}"
    return text, ""


def _month_week(rule: RuleParts) -> tuple[str, str] | None:
    """ "thứ Hai của tuần thứ ba trong tháng (…)" when the rule is that reading, else None."""
    if len(rule.weekdays) != 1:
        return None
    weekday = rule.weekdays[0]
    for week in MONTH_WEEKS:
        days = week_of_month_days(week, weekday)
        if tuple(sorted(days)) == rule.monthdays:
            return month_week_words(week, weekday), WEEK_SPILL_NOTE if len(days) < 7 else ""
    return None


def _month_days(rule: RuleParts) -> tuple[str, str]:
    """Which days of the month ("thứ Hai thứ ba trong tháng", "ngày 1, 15 hằng tháng"), and a note
    for the months that lack such a day."""
    if rule.nth_weekdays:
        if rule.weekdays or rule.monthdays:
            raise NotUnderstood
        words = " và ".join(f"{WEEKDAY_WORDS[d]} {ORDINAL_WORDS[n]}" for n, d in rule.nth_weekdays)
        return f"{words} trong tháng", MISSING_DAY_NOTE if any(n == 5 for n, _ in rule.nth_weekdays) else ""
    if rule.weekdays and rule.monthdays:
        week = _month_week(rule)
        if week is not None:
            return week
        return f"những ngày {_numbers(rule.monthdays)} trong tháng rơi vào {_weekday_list(rule.weekdays)}", ""
    if rule.weekdays:
        return f"mọi {_weekday_list(rule.weekdays)} trong tháng", ""
    days = rule.monthdays or (rule.start.day,)
    positive = [d for d in days if d > 0]
    named = [f"ngày {_numbers(positive)}"] if positive else []
    named += [_monthday_word(d) for d in sorted((d for d in days if d < 0), reverse=True)]
    text = " và ".join(named)
    if rule.interval == 1 and len(positive) == len(days):  # "ngày cuối tháng" says "monthly" already
        text += " hằng tháng"
    return text, MISSING_DAY_NOTE if max(days) > 28 else ""


def _monthly(rule: RuleParts) -> Phrase:
    if rule.weekdays and rule.nth_weekdays:
        raise NotUnderstood
    if rule.weekdays and not rule.monthdays and rule.interval == 1:
        return _weekly(rule)  # every Monday of every month is every Monday
    days, note = _month_days(rule)
    return f"{days} {_times(rule)}" + _every(rule, f"tháng {rule.start:%m/%Y}"), note


def _yearly(rule: RuleParts) -> Phrase:
    if rule.weekdays or (rule.monthdays and not rule.months) or (rule.nth_weekdays and not rule.months):
        raise NotUnderstood
    months = rule.months or (rule.start.month,)
    note = ""
    if rule.nth_weekdays:
        if rule.monthdays:
            raise NotUnderstood
        words = " và ".join(f"{WEEKDAY_WORDS[d]} {ORDINAL_WORDS[n]}" for n, d in rule.nth_weekdays)
        days = f"{words} của tháng {_numbers(months)}"
    else:
        monthdays = rule.monthdays or (rule.start.day,)
        if min(monthdays) < 0:
            raise NotUnderstood
        days = "ngày " + ", ".join(f"{d}/{m}" for m in months for d in monthdays)
        if any((d > 28 and m == 2) or d > 30 for m in months for d in monthdays):
            note = MISSING_YEAR_DAY_NOTE
    if rule.interval == 1:
        text = f"{days} hằng năm {_times(rule)}"
    else:
        text = f"{days} {_times(rule)}" + _every(rule, f"năm {rule.start:%Y}")
    return text, note


def _sub_daily(rule: RuleParts) -> Phrase:
    unit = UNIT_WORDS[rule.freq]
    text = f"mỗi {unit} một lần" if rule.interval == 1 else f"{rule.interval} {unit} một lần"
    text += f", bắt đầu lúc {clock(rule.start.time())} ngày {day_text(rule.start)}"
    if rule.weekdays:
        text += f", chỉ vào {_weekday_list(rule.weekdays)}"
    return text, ""


_PATTERNS: dict[str, Callable[[RuleParts], Phrase]] = {
    "YEARLY": _yearly,
    "MONTHLY": _monthly,
    "WEEKLY": _weekly,
    "DAILY": _daily,
    "HOURLY": _sub_daily,
    "MINUTELY": _sub_daily,
}


def pattern_words(rule: RuleParts) -> Phrase:
    text, note = _PATTERNS[rule.freq](rule)
    if rule.months and rule.freq != "YEARLY":
        text += f", chỉ trong tháng {_numbers(rule.months)}"
    return text, note


# --- the end, the exceptions, the zone ---


def end_words(rule: RuleParts) -> list[str]:
    if rule.count is not None:
        return [f"tổng cộng {rule.count} lần"]
    if rule.until is None:
        return []
    until = rule.until
    if rule.freq in ("HOURLY", "MINUTELY"):
        if until.time() >= time(23, 59):  # the form's end day: "UNTIL=…T235959"
            return [f"đến hết ngày {day_text(until)}"]
        return [f"đến {clock(until.time())} ngày {day_text(until)}"]
    hours = rule.hours or (rule.start.hour,)
    minutes = rule.minutes or (rule.start.minute,)
    first = time(min(hours), min(minutes), rule.start.second)
    last = time(max(hours), max(minutes), rule.start.second)
    if until.time() >= last:
        return [f"đến hết ngày {day_text(until)}"]
    if until.time() < first:  # the airing of that very day is already past the end
        return [f"đến hết ngày {day_text(until.date() - timedelta(days=1))}"]
    return [f"đến {clock(until.time())} ngày {day_text(until)}"]

"""Recurrences in Vietnamese: ``describe(recurrence)`` is the one place a rule becomes words a person
reads (pages, the API's ``recurrence_text``, the reports' workbooks and documents). Pure.

No RRULE text ever reaches a person. A rule is put into words only when every part of it is understood
here; anything else (BYSETPOS, BYYEARDAY, BYWEEKNO, BYSECOND, BYEASTER, a week not starting on Monday,
combinations no form produces — rules only the API can create) reads "Theo quy tắc lặp tùy chỉnh" with
what is certain about it: its first time, its end, its exceptions. Never the rule itself.

The two readings of "thứ Hai của tuần thứ 3" each have their own words: ``BYDAY=3MO`` is "thứ Hai thứ ba
trong tháng"; the Monday of the third Monday–Sunday week (``BYDAY=MO;BYMONTHDAY=9,…,15``, see
``loa.schedule.recurrence.week_of_month_days``) is "thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là
tuần có ngày 1)", whichever way its rule was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from loa.errors import InvalidInput
from loa.schedule.recurrence import (
    MONTH_WEEKS,
    VIETNAM_TZ,
    WEEKDAY_CODES,
    Recurrence,
    localise_until,
    resolve_timezone,
    rule_parts,
    week_of_month_days,
)

CUSTOM = "Theo quy tắc lặp tùy chỉnh"
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
MAX_LISTED = 5  # dates listed in an exception before "và N ngày khác"
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


class _NotUnderstood(Exception):
    """This rule is not put into words here; the caller falls back to ``CUSTOM``."""


@dataclass(frozen=True)
class _Rule:
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


def describe(recurrence: Recurrence, *, until_cancelled: bool = False) -> str:
    """``recurrence`` in Vietnamese, e.g. "Thứ Hai, thứ Tư, thứ Sáu hằng tuần lúc 17:30"; never raises.

    ``until_cancelled`` adds that an open-ended programme airs until it is cancelled."""
    if recurrence.rule is None:
        clauses = [f"Một lần lúc {_clock(recurrence.start_local.time())} ngày {_day(recurrence.start_local)}"]
    else:
        try:
            rule = _read(recurrence.rule, recurrence.start_local, recurrence.timezone)
            words, note = _pattern(rule)
            clauses = [words, *_end(rule), note]
        except (_NotUnderstood, InvalidInput):
            clauses = [_custom(recurrence)]
    clauses += _exceptions(recurrence)
    if until_cancelled and recurrence.rule is not None:
        clauses.append("phát đến khi hủy")
    text = ", ".join(c for c in clauses if c) + _zone(recurrence)
    return text[0].upper() + text[1:]


# --- reading the rule ---


def _ints(raw: str | None, low: int, high: int, *, nonzero: bool = False) -> tuple[int, ...]:
    if not raw:
        return ()
    try:
        values = [int(v) for v in raw.split(",")]
    except ValueError as err:
        raise _NotUnderstood from err
    if any(not low <= v <= high or (nonzero and v == 0) for v in values):
        raise _NotUnderstood
    return tuple(sorted(set(values)))


def _until(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    found = _UNTIL.match(raw)
    if not found:
        raise _NotUnderstood
    try:
        return datetime.strptime(found.group(1) + (found.group(2) or "000000"), "%Y%m%d%H%M%S")
    except ValueError as err:
        raise _NotUnderstood from err


def _read(rule_text: str, start: datetime, timezone: str) -> _Rule:
    parts = localise_until(rule_parts(rule_text), timezone)
    freq = parts.get("FREQ", "")
    if freq not in _UNDERSTOOD or set(parts) - _ALWAYS_UNDERSTOOD - _UNDERSTOOD[freq]:
        raise _NotUnderstood
    if parts.get("WKST", "MO") != "MO":
        raise _NotUnderstood  # weeks start on Monday in Vietnam, and in every phrase here
    weekdays: list[int] = []
    nth: list[tuple[int, int]] = []
    for item in filter(None, parts.get("BYDAY", "").split(",")):
        found = _BYDAY_ITEM.match(item)
        if not found:
            raise _NotUnderstood
        day = WEEKDAY_CODES.index(found.group(2))
        if found.group(1) is None:
            weekdays.append(day)
        elif int(found.group(1)) in ORDINAL_WORDS and freq in ("MONTHLY", "YEARLY"):
            nth.append((int(found.group(1)), day))
        else:
            raise _NotUnderstood
    interval = _ints(parts.get("INTERVAL"), 1, 10_000) or (1,)
    count = _ints(parts.get("COUNT"), 1, 1_000_000)
    return _Rule(
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
        until=_until(parts.get("UNTIL")),
    )


# --- small words ---


def _clock(at: time) -> str:
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


def _day(at: date | datetime) -> str:
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
    return f"{weekday[0].upper()}{weekday[1:]} {_day(local)} lúc {_clock(local.time())}"


def _monthday_word(day: int) -> str:
    if day > 0:
        return str(day)
    return "ngày cuối tháng" if day == -1 else f"ngày thứ {-day} tính từ cuối tháng"


def _times(rule: _Rule) -> str:
    """When in the day, for rules of a day or longer (BYHOUR × BYMINUTE, else the start's time)."""
    hours = rule.hours or (rule.start.hour,)
    minutes = rule.minutes or (rule.start.minute,)
    times = sorted(time(h, m, rule.start.second) for h in hours for m in minutes)
    if len(times) > MAX_TIMES:
        return f"{len(times)} lần, từ {_clock(times[0])} đến {_clock(times[-1])}"
    return "lúc " + ", ".join(_clock(t) for t in times)


def _every(rule: _Rule, anchor: str) -> str:
    """ ", 2 tuần một lần (tính từ …)" for an interval above 1, else nothing."""
    if rule.interval == 1:
        return ""
    return f", {rule.interval} {UNIT_WORDS[rule.freq]} một lần (tính từ {anchor})"


# --- the pattern: which days, at what time ---


def _weekly(rule: _Rule) -> Phrase:
    days = _weekday_list(rule.weekdays or (rule.start.weekday(),))
    if rule.interval == 1:
        return f"{days} hằng tuần {_times(rule)}", ""
    return f"{days} {_times(rule)}" + _every(rule, f"tuần có ngày {_day(rule.start)}"), ""


def _daily(rule: _Rule) -> Phrase:
    if rule.monthdays:
        if rule.interval != 1:
            raise _NotUnderstood
        return _monthly(rule)  # every day that is one of these days of the month: a monthly pattern
    if rule.weekdays and rule.interval == 1:
        return _weekly(rule)
    text = "hằng ngày" if rule.interval == 1 else f"{rule.interval} ngày một lần"
    text += f" {_times(rule)}"
    if rule.interval != 1:
        text += f" (tính từ ngày {_day(rule.start)})"
    if rule.weekdays:
        text += f", chỉ vào {_weekday_list(rule.weekdays)}"
    return text, ""


def _month_week(rule: _Rule) -> tuple[str, str] | None:
    """ "thứ Hai của tuần thứ ba trong tháng (…)" when the rule is that reading, else None."""
    if len(rule.weekdays) != 1:
        return None
    weekday = rule.weekdays[0]
    for week in MONTH_WEEKS:
        days = week_of_month_days(week, weekday)
        if tuple(sorted(days)) == rule.monthdays:
            return month_week_words(week, weekday), WEEK_SPILL_NOTE if len(days) < 7 else ""
    return None


def _month_days(rule: _Rule) -> tuple[str, str]:
    """Which days of the month ("thứ Hai thứ ba trong tháng", "ngày 1, 15 hằng tháng"), and a note
    for the months that lack such a day."""
    if rule.nth_weekdays:
        if rule.weekdays or rule.monthdays:
            raise _NotUnderstood
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


def _monthly(rule: _Rule) -> Phrase:
    if rule.weekdays and rule.nth_weekdays:
        raise _NotUnderstood
    if rule.weekdays and not rule.monthdays and rule.interval == 1:
        return _weekly(rule)  # every Monday of every month is every Monday
    days, note = _month_days(rule)
    return f"{days} {_times(rule)}" + _every(rule, f"tháng {rule.start:%m/%Y}"), note


def _yearly(rule: _Rule) -> Phrase:
    if rule.weekdays or (rule.monthdays and not rule.months) or (rule.nth_weekdays and not rule.months):
        raise _NotUnderstood
    months = rule.months or (rule.start.month,)
    note = ""
    if rule.nth_weekdays:
        if rule.monthdays:
            raise _NotUnderstood
        words = " và ".join(f"{WEEKDAY_WORDS[d]} {ORDINAL_WORDS[n]}" for n, d in rule.nth_weekdays)
        days = f"{words} của tháng {_numbers(months)}"
    else:
        monthdays = rule.monthdays or (rule.start.day,)
        if min(monthdays) < 0:
            raise _NotUnderstood
        days = "ngày " + ", ".join(f"{d}/{m}" for m in months for d in monthdays)
        if any((d > 28 and m == 2) or d > 30 for m in months for d in monthdays):
            note = MISSING_YEAR_DAY_NOTE
    if rule.interval == 1:
        text = f"{days} hằng năm {_times(rule)}"
    else:
        text = f"{days} {_times(rule)}" + _every(rule, f"năm {rule.start:%Y}")
    return text, note


def _sub_daily(rule: _Rule) -> Phrase:
    unit = UNIT_WORDS[rule.freq]
    text = f"mỗi {unit} một lần" if rule.interval == 1 else f"{rule.interval} {unit} một lần"
    text += f", bắt đầu lúc {_clock(rule.start.time())} ngày {_day(rule.start)}"
    if rule.weekdays:
        text += f", chỉ vào {_weekday_list(rule.weekdays)}"
    return text, ""


_PATTERNS: dict[str, Callable[[_Rule], Phrase]] = {
    "YEARLY": _yearly,
    "MONTHLY": _monthly,
    "WEEKLY": _weekly,
    "DAILY": _daily,
    "HOURLY": _sub_daily,
    "MINUTELY": _sub_daily,
}


def _pattern(rule: _Rule) -> Phrase:
    text, note = _PATTERNS[rule.freq](rule)
    if rule.months and rule.freq != "YEARLY":
        text += f", chỉ trong tháng {_numbers(rule.months)}"
    return text, note


# --- the end, the exceptions, the zone ---


def _end(rule: _Rule) -> list[str]:
    if rule.count is not None:
        return [f"tổng cộng {rule.count} lần"]
    if rule.until is None:
        return []
    until = rule.until
    if rule.freq in ("HOURLY", "MINUTELY"):
        if until.time() >= time(23, 59):  # the form's end day: "UNTIL=…T235959"
            return [f"đến hết ngày {_day(until)}"]
        return [f"đến {_clock(until.time())} ngày {_day(until)}"]
    hours = rule.hours or (rule.start.hour,)
    minutes = rule.minutes or (rule.start.minute,)
    first = time(min(hours), min(minutes), rule.start.second)
    last = time(max(hours), max(minutes), rule.start.second)
    if until.time() >= last:
        return [f"đến hết ngày {_day(until)}"]
    if until.time() < first:  # the airing of that very day is already past the end
        return [f"đến hết ngày {_day(until.date() - timedelta(days=1))}"]
    return [f"đến {_clock(until.time())} ngày {_day(until)}"]


def _listed(one: str, many: str, words: Sequence[str], unit: str) -> str:
    if not words:
        return ""
    if len(words) == 1:
        return f"{one} {words[0]}"
    if len(words) <= MAX_LISTED:
        return f"{many} {', '.join(words)}"
    shown = ", ".join(words[:MAX_LISTED])
    return f"{many} {shown} và {len(words) - MAX_LISTED} {unit} khác"


def _exceptions(recurrence: Recurrence) -> list[str]:
    sessions = [f"{_clock(d.time())} ngày {_day(d)}" for d in sorted(recurrence.except_local)]
    extra = [f"{_clock(d.time())} ngày {_day(d)}" for d in sorted(recurrence.extra_local)]
    days = [_day(d) for d in sorted(recurrence.except_dates)]
    return [
        _listed("trừ ngày", "trừ các ngày", days, "ngày"),
        _listed("trừ buổi", "trừ các buổi", sessions, "buổi"),
        _listed("thêm buổi", "thêm các buổi", extra, "buổi"),
        "nghỉ các ngày lễ và Tết" if recurrence.skip_holidays else "",
    ]


def _zone(recurrence: Recurrence) -> str:
    """ " (giờ UTC+8)" when the times are not Vietnam's."""
    if recurrence.timezone == VIETNAM_TZ:
        return ""
    try:
        offset = resolve_timezone(recurrence.timezone).utcoffset(recurrence.start_local)
    except InvalidInput:
        return " (theo múi giờ khác giờ Việt Nam)"
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f" (giờ UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") + ")"


def _custom(recurrence: Recurrence) -> str:
    """The honest fallback: the rule is not put into words, what is certain about it is."""
    start = recurrence.start_local
    text = f"{CUSTOM} (tính từ {_clock(start.time())} ngày {_day(start)}"
    try:
        parts = localise_until(rule_parts(recurrence.rule or ""), recurrence.timezone)
        until = _until(parts.get("UNTIL"))
        count = parts.get("COUNT", "")
    except (_NotUnderstood, InvalidInput):
        return text + ")"
    if count.isdigit():
        text += f", tổng cộng {int(count)} lần"
    elif until is not None and until.time() >= time(23, 59):
        text += f", đến hết ngày {_day(until)}"
    elif until is not None:
        text += f", đến {_clock(until.time())} ngày {_day(until)}"
    return text + ")"

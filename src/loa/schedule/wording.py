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

from collections.abc import Sequence
from datetime import time

from loa.errors import InvalidInput
from loa.schedule.recurrence import VIETNAM_TZ, Recurrence, localise_until, resolve_timezone, rule_parts
from loa.schedule.rulewords import (
    NotUnderstood,
    clock,
    day_text,
    end_words,
    pattern_words,
    read_rule,
    until_of,
)

CUSTOM = "Theo quy tắc lặp tùy chỉnh"
MAX_LISTED = 5  # dates listed in an exception before "và N ngày khác"


def describe(recurrence: Recurrence, *, until_cancelled: bool = False) -> str:
    """``recurrence`` in Vietnamese, e.g. "Thứ Hai, thứ Tư, thứ Sáu hằng tuần lúc 17:30"; never raises.

    ``until_cancelled`` adds that an open-ended programme airs until it is cancelled."""
    if recurrence.rule is None:
        clauses = [
            f"Một lần lúc {clock(recurrence.start_local.time())} ngày {day_text(recurrence.start_local)}"
        ]
    else:
        try:
            rule = read_rule(recurrence.rule, recurrence.start_local, recurrence.timezone)
            words, note = pattern_words(rule)
            clauses = [words, *end_words(rule), note]
        except (NotUnderstood, InvalidInput):
            clauses = [_custom(recurrence)]
        clauses.append(_cap(recurrence))
    clauses += _exceptions(recurrence)
    if until_cancelled and recurrence.rule is not None:
        clauses.append("phát đến khi hủy")
    text = ", ".join(c for c in clauses if c) + _zone(recurrence)
    return text[0].upper() + text[1:]


# --- the exceptions, the zone, the fallback ---


def _cap(recurrence: Recurrence) -> str:
    """ "tối đa 3 lần mỗi ngày", and where the day starts when that is not midnight."""
    if recurrence.max_per_day is None:
        return ""
    text = f"tối đa {recurrence.max_per_day} lần mỗi ngày"
    start = recurrence.start_local.time()
    if start != time(0, 0):
        text += f" (ngày tính từ {clock(start)})"
    return text


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
    sessions = [f"{clock(d.time())} ngày {day_text(d)}" for d in sorted(recurrence.except_local)]
    extra = [f"{clock(d.time())} ngày {day_text(d)}" for d in sorted(recurrence.extra_local)]
    days = [day_text(d) for d in sorted(recurrence.except_dates)]
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
    text = f"{CUSTOM} (tính từ {clock(start.time())} ngày {day_text(start)}"
    try:
        parts = localise_until(rule_parts(recurrence.rule or ""), recurrence.timezone)
        until = until_of(parts.get("UNTIL"))
        count = parts.get("COUNT", "")
    except (NotUnderstood, InvalidInput):
        return text + ")"
    if count.isdigit():
        text += f", tổng cộng {int(count)} lần"
    elif until is not None and until.time() >= time(23, 59):
        text += f", đến hết ngày {day_text(until)}"
    elif until is not None:
        text += f", đến {clock(until.time())} ngày {day_text(until)}"
    return text + ")"

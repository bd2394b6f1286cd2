"""When a programme airs: RFC 5545 recurrence rules in Vietnam time, with exceptions and holidays.

A rule is written for people in local wall-clock time (Asia/Ho_Chi_Minh, UTC+7, no daylight saving)
and expanded into aware UTC instants (``*_at``) only inside a window: an open-ended rule such as
"every 2 hours until cancelled" has infinitely many occurrences, so asking for all of them is refused.

"Thứ Hai của tuần thứ 3 hằng tháng" (the CCHC programme of the reference report) is ambiguous, so both
readings are plain RFC 5545 rules and every expansion (preview, manifests, reports) agrees on them:

* the *third Monday of the month* ("thứ Hai thứ ba trong tháng"): ``FREQ=MONTHLY;BYDAY=3MO``, always
  the 15th–21st (``Recurrence.monthly_nth_weekday``); the station's 2023 dates are these;
* the *Monday of the third week* ("thứ Hai của tuần thứ ba"), weeks running Monday–Sunday and week 1
  being the one holding the 1st: ``FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=9,10,11,12,13,14,15``, always the
  9th–15th (``Recurrence.monthly_week_weekday``, ``week_of_month_days``). August 2023: 14/8, not 21/8.

People never see the rule text: ``loa.schedule.wording.describe`` puts every recurrence into Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from loa.errors import InvalidInput
from loa.schedule.holidays import holiday_dates

VIETNAM_TZ = "Asia/Ho_Chi_Minh"
MAX_OCCURRENCES = 10_000
MAX_PER_DAY = 48
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
LAST_WEEK = -1  # "the last week of the month", in both readings
MONTH_WEEKS = (1, 2, 3, 4, 5, LAST_WEEK)
_DAY_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYEASTER")
_UNTIL_UTC = re.compile(r"^(\d{8})T(\d{6})Z$")


@lru_cache(maxsize=64)
def resolve_timezone(name: str) -> ZoneInfo:
    """The zone called ``name`` (IANA), or ``InvalidInput`` in Vietnamese."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise InvalidInput(
            f"Múi giờ «{name}» không tồn tại. Hãy dùng tên IANA, ví dụ «{VIETNAM_TZ}».",
            code="timezone_unknown",
        ) from err


def to_utc(local: datetime, timezone: str = VIETNAM_TZ) -> datetime:
    """A naive wall-clock time in ``timezone`` as an aware UTC datetime."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=resolve_timezone(timezone)).astimezone(UTC)


def to_local(at: datetime, timezone: str = VIETNAM_TZ) -> datetime:
    """An aware instant as naive wall-clock time in ``timezone``."""
    _require_aware(at, "thời điểm")
    return at.astimezone(resolve_timezone(timezone)).replace(tzinfo=None)


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{what.capitalize()} phải có múi giờ (UTC).", code="naive_datetime")


def week_of_month_days(week: int, weekday: int) -> tuple[int, ...]:
    """The BYMONTHDAY values that, with ``BYDAY=<weekday>``, give ``weekday`` (0 = Monday) of the
    ``week``-th week of the month, weeks running Monday–Sunday and week 1 being the week that holds the
    1st; ``LAST_WEEK`` is the week that holds the last day.

    The day sought lies ``7·(week−1) + weekday − w`` days after the 1st, ``w`` (0–6) being the 1st's
    weekday: a run of seven consecutive days, which holds exactly one ``weekday``. Days outside the
    month are dropped: in week 1 (or the last week) the day may fall in the month before (after), and
    then that month has no occurrence. Monday of week 3 is the 9th–15th; of week 1, the 1st or nothing."""
    if not 0 <= weekday <= 6 or week not in MONTH_WEEKS:
        raise InvalidInput("Tuần trong tháng hoặc thứ trong tuần không hợp lệ.", code="rrule_invalid")
    if week == LAST_WEEK:
        return tuple(-k for k in range(7 - weekday, 0, -1))
    low = 7 * (week - 1) + weekday - 5
    return tuple(d for d in range(low, low + 7) if 1 <= d <= 31)


@dataclass(frozen=True)
class Recurrence:
    """When something airs. ``rule`` is an RFC 5545 RRULE value (``None``: once, at ``start_local``).

    ``start_local`` is the naive local time of the first occurrence (DTSTART) in ``timezone``;
    ``except_local`` removes single occurrences (EXDATE), ``except_dates`` whole local days,
    ``extra_local`` adds occurrences (RDATE); ``skip_holidays`` removes Vietnam's public holidays.

    ``max_per_day`` caps a campaign ("3 lần/ngày"): of the rule's occurrences, only the first
    ``max_per_day`` of each day are kept. The day starts at the time of day of ``start_local``, not at
    midnight, so "every 2 hours from 06:00, at most 3 a day" airs 06:00, 08:00, 10:00 every day (with
    calendar days it would be 00:00, 02:00, 04:00). The cap is taken over the rule's own occurrences,
    before exceptions and extra dates: cancelling or moving one airing never brings in another, and an
    airing an operator added or moved by hand always stays."""

    start_local: datetime
    rule: str | None = None
    timezone: str = VIETNAM_TZ
    except_local: tuple[datetime, ...] = ()
    except_dates: tuple[date, ...] = ()
    extra_local: tuple[datetime, ...] = ()
    skip_holidays: bool = False
    max_per_day: int | None = None

    # --- the common shapes, for forms and tests ---

    @classmethod
    def once(cls, start_local: datetime) -> Recurrence:
        return cls(start_local)

    @classmethod
    def daily(cls, first_day: date, at: time, *, skip_holidays: bool = False) -> Recurrence:
        return cls(datetime.combine(first_day, at), "FREQ=DAILY", skip_holidays=skip_holidays)

    @classmethod
    def weekdays(cls, first_day: date, at: time, *, skip_holidays: bool = False) -> Recurrence:
        """Monday to Friday."""
        rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        return cls(datetime.combine(first_day, at), rule, skip_holidays=skip_holidays)

    @classmethod
    def monthly_nth_weekday(
        cls, first_day: date, at: time, *, nth: int, weekday: int, skip_holidays: bool = False
    ) -> Recurrence:
        """The ``nth`` (1–4, or -1 for the last) ``weekday`` (0 = Monday) of every month."""
        return cls(
            datetime.combine(first_day, at), nth_weekday_rule(nth, weekday), skip_holidays=skip_holidays
        )

    @classmethod
    def monthly_week_weekday(
        cls, first_day: date, at: time, *, week: int, weekday: int, skip_holidays: bool = False
    ) -> Recurrence:
        """``weekday`` (0 = Monday) of the ``week``-th week of every month (1–5, or ``LAST_WEEK``), week 1
        being the Monday–Sunday week holding the 1st (see ``week_of_month_days``)."""
        return cls(
            datetime.combine(first_day, at), month_week_rule(week, weekday), skip_holidays=skip_holidays
        )

    @classmethod
    def every_hours(cls, start_local: datetime, hours: int) -> Recurrence:
        """Every ``hours`` hours from ``start_local`` until cancelled (open-ended)."""
        if not 1 <= hours <= 24 * 7:
            raise InvalidInput("Khoảng cách giữa hai lần phát phải từ 1 đến 168 giờ.", code="rrule_invalid")
        return cls(start_local, f"FREQ=HOURLY;INTERVAL={hours}")

    # --- questions ---

    @property
    def bounded(self) -> bool:
        """Has a last occurrence (no rule, or COUNT/UNTIL)."""
        if self.rule is None:
            return True
        parts = rule_parts(self.rule)
        return "COUNT" in parts or "UNTIL" in parts


def nth_weekday_rule(nth: int, weekday: int) -> str:
    """The ``nth`` (1–5, or -1 for the last) ``weekday`` of every month: "thứ Hai thứ ba trong tháng"."""
    if nth not in (1, 2, 3, 4, 5, -1) or not 0 <= weekday <= 6:
        raise InvalidInput("Tuần trong tháng hoặc thứ trong tuần không hợp lệ.", code="rrule_invalid")
    return f"FREQ=MONTHLY;BYDAY={nth}{WEEKDAY_CODES[weekday]}"


def month_week_rule(week: int, weekday: int) -> str:
    """``weekday`` of the ``week``-th Monday–Sunday week of every month: "thứ Hai của tuần thứ ba"."""
    days = ",".join(str(d) for d in week_of_month_days(week, weekday))
    return f"FREQ=MONTHLY;BYDAY={WEEKDAY_CODES[weekday]};BYMONTHDAY={days}"


def rule_parts(rule_text: str) -> dict[str, str]:
    text = rule_text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    out: dict[str, str] = {}
    for chunk in text.split(";"):
        if not chunk.strip():
            continue
        name, sep, value = chunk.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise _malformed(rule_text)
        out[name.strip().upper()] = value.strip().upper()
    return out


def _unparts(parts: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in parts.items())


def localise_until(parts: dict[str, str], timezone: str) -> dict[str, str]:
    """RFC 5545 writes UNTIL in UTC (``...Z``); our DTSTART is local wall time, so convert it."""
    until = parts.get("UNTIL", "")
    match = _UNTIL_UTC.match(until)
    if match:
        at = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        parts = {**parts, "UNTIL": to_local(at, timezone).strftime("%Y%m%dT%H%M%S")}
    return parts


@lru_cache(maxsize=4096)
def parse_rule(rule_text: str, start_local: datetime, timezone: str = VIETNAM_TZ) -> rrule:
    """Parse an RRULE value against a local DTSTART. Malformed text → ``InvalidInput`` in Vietnamese."""
    resolve_timezone(timezone)
    if start_local.tzinfo is not None:
        raise InvalidInput("Giờ bắt đầu phải là giờ địa phương (không kèm múi giờ).", code="rrule_invalid")
    if "\n" in rule_text.strip():
        raise InvalidInput(
            "Chỉ nhập một quy tắc RRULE (ngày bắt đầu và ngày ngoại lệ nhập riêng).", code="rrule_invalid"
        )
    parts = localise_until(rule_parts(rule_text), timezone)
    if parts.get("FREQ") == "SECONDLY":
        raise InvalidInput("Lịch phát không hỗ trợ lặp lại theo từng giây.", code="rrule_invalid")
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidInput("Quy tắc lặp lại không được có cả COUNT và UNTIL.", code="rrule_invalid")
    try:
        parsed = rrulestr(_unparts(parts), dtstart=start_local, ignoretz=True)
    except ValueError as err:
        if "empty set" in str(err):
            raise _never(rule_text) from err
        raise _malformed(rule_text) from err
    except (TypeError, KeyError, OverflowError, IndexError) as err:
        raise _malformed(rule_text) from err
    if not isinstance(parsed, rrule):
        raise _malformed(rule_text)
    return parsed


# The messages never quote the rule: a person reads them (the form shows them as they are); the rule
# travels in ``details`` for the API client that sent it.
def _malformed(rule_text: str) -> InvalidInput:
    return InvalidInput(
        "Quy tắc lặp lại không hợp lệ (sai cú pháp RFC 5545).",
        code="rrule_invalid",
        details=[{"field": "rrule", "value": rule_text}],
    )


def _never(rule_text: str | None) -> InvalidInput:
    return InvalidInput(
        "Quy tắc lặp lại không bao giờ tạo ra lần phát nào. Hãy kiểm tra ngày, tháng, thứ.",
        code="rrule_no_occurrence",
        details=[{"field": "rrule", "value": rule_text}],
    )


def _days_possible(parts: dict[str, str], start: date) -> bool:
    """Whether any calendar day satisfies the rule's day filters (BYMONTH, BYMONTHDAY, BYDAY, ...).

    dateutil searches up to year 9999 day by day when nothing matches (seconds of CPU for a DAILY or
    HOURLY rule on 30 February); a YEARLY rule with the same filters answers in one pass per year."""
    day_parts = {k: v for k, v in parts.items() if k in _DAY_PARTS}
    if not day_parts:
        return True
    if parts.get("FREQ") == "MONTHLY" and "BYMONTH" not in day_parts:
        day_parts["BYMONTH"] = ",".join(str(m) for m in range(1, 13))  # keeps "3MO" within the month
    if parts.get("FREQ") in ("WEEKLY", "DAILY", "HOURLY", "MINUTELY") and "BYDAY" in day_parts:
        day_parts["BYDAY"] = re.sub(r"[+-]?\d+", "", day_parts["BYDAY"])
    try:
        projection = rrulestr("FREQ=YEARLY;" + _unparts(day_parts), dtstart=datetime.combine(start, time()))
    except ValueError:
        return False
    return projection.after(datetime.combine(start, time()), inc=True) is not None


@lru_cache(maxsize=8192)
def validate(recurrence: Recurrence) -> datetime:
    """Check a recurrence as a person enters it; return its first occurrence (aware UTC).

    Refuses an unknown timezone, malformed RRULE text and a rule that never produces an occurrence."""
    resolve_timezone(recurrence.timezone)
    excluded, days_off = set(recurrence.except_local), set(recurrence.except_dates)

    def kept(local: datetime) -> bool:
        return local not in excluded and local.date() not in days_off

    if recurrence.max_per_day is not None and not 1 <= recurrence.max_per_day <= MAX_PER_DAY:
        raise InvalidInput(
            f"Số lần phát tối đa mỗi ngày phải từ 1 đến {MAX_PER_DAY}.", code="max_per_day_invalid"
        )
    firsts = [d for d in recurrence.extra_local if kept(d)]
    if recurrence.rule is None:
        if kept(recurrence.start_local):
            firsts.append(recurrence.start_local)
    else:
        rule = parse_rule(recurrence.rule, recurrence.start_local, recurrence.timezone)
        if _days_possible(rule_parts(recurrence.rule), recurrence.start_local.date()):
            for tried, local in enumerate(rule.xafter(recurrence.start_local, inc=True)):
                if kept(local):
                    firsts.append(local)
                    break
                if tried >= 1000:
                    break
    if not firsts:
        raise _never(recurrence.rule)
    return to_utc(min(firsts), recurrence.timezone)


def occurrences(
    recurrence: Recurrence,
    start_at: datetime,
    end_at: datetime | None,
    *,
    holidays: Iterable[date] = (),
    require_any: bool = False,
) -> list[datetime]:
    """Occurrences (aware UTC, sorted) with ``start_at <= t < end_at``.

    ``end_at=None`` is accepted only for a bounded rule; an open-ended one raises ``InvalidInput``.
    ``holidays`` adds a station's own days off to the national table when ``skip_holidays`` is set.
    ``require_any`` turns an empty result into an error (for "preview this rule in that window")."""
    _require_aware(start_at, "thời điểm bắt đầu")
    tz = recurrence.timezone
    resolve_timezone(tz)
    if end_at is None and not recurrence.bounded:
        raise InvalidInput(
            "Quy tắc lặp lại không có điểm kết thúc (không có ngày kết thúc hay số lần phát): "
            "hãy chọn ngày kết thúc của khoảng cần liệt kê.",
            code="rrule_unbounded",
        )
    if end_at is not None:
        _require_aware(end_at, "thời điểm kết thúc")
        if end_at <= start_at:
            raise InvalidInput("Thời điểm kết thúc phải sau thời điểm bắt đầu.", code="window_invalid")
    # widen by a day in local time, then filter exactly in UTC (safe for zones with daylight saving)
    local_from = to_local(start_at, tz) - timedelta(days=1)
    local_to = to_local(end_at, tz) + timedelta(days=1) if end_at is not None else None
    found: list[datetime] = []
    if recurrence.rule is not None:
        rule = parse_rule(recurrence.rule, recurrence.start_local, tz)
        for local in rule.xafter(local_from, inc=True):
            if local_to is not None and local > local_to:
                break
            found.append(local)
            if len(found) > MAX_OCCURRENCES:
                raise _too_many()
        if recurrence.max_per_day is not None:
            found = capped_per_day(found, recurrence.start_local, recurrence.max_per_day)
    else:
        found.append(recurrence.start_local)
    found.extend(recurrence.extra_local)
    excluded = set(recurrence.except_local)
    skipped_days = set(recurrence.except_dates)
    if recurrence.skip_holidays:
        years = {d.year for d in found}
        skipped_days |= holiday_dates(years, extra=holidays)
    out = sorted(
        {
            at
            for local in found
            if local not in excluded and local.date() not in skipped_days
            for at in (to_utc(local, tz),)
            if at >= start_at and (end_at is None or at < end_at)
        }
    )
    if len(out) > MAX_OCCURRENCES:
        raise _too_many()
    if require_any and not out:
        raise InvalidInput(
            "Quy tắc lặp lại không có lần phát nào trong khoảng thời gian đã chọn.",
            code="rrule_no_occurrence_in_window",
        )
    return out


def broadcast_day(local: datetime, start_local: datetime) -> date:
    """The day ``local`` counts towards for ``max_per_day``: days begin at ``start_local``'s time."""
    anchor = timedelta(hours=start_local.hour, minutes=start_local.minute, seconds=start_local.second)
    return (local - anchor).date()


def capped_per_day(found: list[datetime], start_local: datetime, max_per_day: int) -> list[datetime]:
    """The first ``max_per_day`` of ``found`` (sorted local times) in each broadcast day.

    ``occurrences`` expands from a whole day before its window, so every earlier airing of the window's
    first broadcast day is counted (a day never begins more than 24 hours before an instant in it)."""
    counts: dict[date, int] = {}
    kept: list[datetime] = []
    for local in found:
        day = broadcast_day(local, start_local)
        counts[day] = counts.get(day, 0) + 1
        if counts[day] <= max_per_day:
            kept.append(local)
    return kept


def upcoming(
    recurrence: Recurrence, after_at: datetime, count: int, *, horizon: timedelta = timedelta(days=3 * 366)
) -> list[datetime]:
    """The first ``count`` occurrences at or after ``after_at`` within ``horizon`` (for previews).

    Windows double from one day, so an hourly rule expands a day and a monthly one a few hundred days,
    never past ``MAX_OCCURRENCES`` per window."""
    found: list[datetime] = []
    start_at, span, end_limit = after_at, timedelta(days=1), after_at + horizon
    while len(found) < count and start_at < end_limit:
        end_at = min(start_at + span, end_limit)
        found += occurrences(recurrence, start_at, end_at)
        start_at, span = end_at, span * 2
    return found[:count]


def _too_many() -> InvalidInput:
    return InvalidInput(
        f"Quy tắc lặp lại tạo ra quá nhiều lần phát (hơn {MAX_OCCURRENCES:,}".replace(",", ".")
        + ") trong khoảng thời gian đã chọn.",
        code="rrule_too_many",
    )

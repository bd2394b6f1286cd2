"""The new-programme form: the common shapes of recurrence as choices, turned into a ``ProgrammeInput``,
and the preview of the next airings the form shows as the choices change (pure: no database).

A person never types or reads an RRULE here; rules that only the API can create are described by
``loa.schedule.wording``. "Hằng tháng, thứ … của tuần thứ …" is ambiguous in Vietnamese practice, so the
form offers both readings by name (``READINGS``), each with its next dates, and stores the chosen one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from loa.errors import InvalidInput
from loa.schedule.recurrence import (
    LAST_WEEK,
    WEEKDAY_CODES,
    Recurrence,
    month_week_rule,
    nth_weekday_rule,
    to_local,
    to_utc,
    upcoming,
    validate,
)
from loa.schedule.rulewords import WEEKDAY_WORDS, month_week_words, nth_weekday_words, occurrence_words
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.schedule.wording import describe

PREVIEW_COUNT = 6
WEEKDAYS = tuple(
    (code, word[0].upper() + word[1:]) for code, word in zip(WEEKDAY_CODES, WEEKDAY_WORDS, strict=True)
)
WEEKS = (("1", "thứ nhất"), ("2", "thứ hai"), ("3", "thứ ba"), ("4", "thứ tư"), (str(LAST_WEEK), "cuối cùng"))
RULE_KINDS = {
    "once": "Một lần",
    "daily": "Hằng ngày",
    "times_daily": "Nhiều lần mỗi ngày, vào các giờ …",
    "weekdays": "Thứ Hai đến thứ Sáu",
    "weekly": "Hằng tuần, vào các thứ đã chọn",
    "monthly_weekday": "Hằng tháng, vào thứ … của tuần thứ … (có hai cách hiểu, chọn bên dưới)",
    "monthly_day": "Hằng tháng, vào ngày …",
    "hourly": "Mỗi … giờ một lần",
}


@dataclass(frozen=True)
class Reading:
    """One reading of "thứ X của tuần thứ N": its rule and its name, both from (N, weekday)."""

    code: str
    rule: Callable[[int, int], str]
    name: Callable[[int, int], str]


READINGS = {
    "nth": Reading("nth", nth_weekday_rule, nth_weekday_words),
    "week": Reading("week", month_week_rule, month_week_words),
}


@dataclass(frozen=True)
class ReadingPreview:
    code: str
    name: str  # "thứ Hai thứ ba trong tháng"
    dates: tuple[str, ...]  # "Thứ Hai 14/08/2023 lúc 07:00"
    chosen: bool


@dataclass(frozen=True)
class Preview:
    """What the form shows under the recurrence choices."""

    description: str = ""
    dates: tuple[str, ...] = ()
    ambiguous: str = ""  # "thứ Hai của tuần thứ ba", as people say it, when the readings are shown
    readings: tuple[ReadingPreview, ...] = ()
    message: str = ""  # why there is nothing to show yet, in Vietnamese


def _required(values: Mapping[str, str], name: str, label: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise InvalidInput(f"Thiếu {label}.", code="form_missing", details=[{"field": name}])
    return value


def _number(values: Mapping[str, str], name: str, label: str, default: int | None = None) -> int:
    raw = values.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not raw.isdigit():
        raise InvalidInput(f"{label} phải là số nguyên dương.", code="form_number", details=[{"field": name}])
    return int(raw)


def _weekday(values: Mapping[str, str]) -> int:
    code = values.get("weekday", "MO")
    if code not in WEEKDAY_CODES:
        raise InvalidInput("Thứ trong tuần không hợp lệ.", code="form_weekday")
    return WEEKDAY_CODES.index(code)


def _week(values: Mapping[str, str]) -> int:
    raw = values.get("nth", "3")
    if raw not in dict(WEEKS):
        raise InvalidInput("Tuần trong tháng không hợp lệ.", code="form_nth")
    return int(raw)


def _weekly_days(values: Mapping[str, str]) -> str:
    days = [d for d in values.get("days", "").split(",") if d]
    if not days:
        raise InvalidInput(
            "Hãy chọn ít nhất một thứ trong tuần.", code="form_days", details=[{"field": "days"}]
        )
    if any(d not in WEEKDAY_CODES for d in days):
        raise InvalidInput("Thứ trong tuần không hợp lệ.", code="form_weekday")
    return ",".join(sorted(set(days), key=WEEKDAY_CODES.index))


def _month_day(values: Mapping[str, str]) -> int:
    day = _number(values, "month_day", "Ngày trong tháng", 1)
    if not 1 <= day <= 31:
        raise InvalidInput("Ngày trong tháng phải từ 1 đến 31.", code="form_month_day")
    return day


def times_of_day(values: Mapping[str, str]) -> list[time]:
    """ "06:00, 11:00, 17:00" → the times, sorted; all must share their minute (one RFC 5545 rule)."""
    raw = values.get("times", "").replace(";", ",").replace(" ", ",")
    try:
        times = sorted({datetime.strptime(t.strip(), "%H:%M").time() for t in raw.split(",") if t.strip()})
    except ValueError as err:
        raise InvalidInput(
            "Giờ phát trong ngày phải viết dạng giờ:phút, cách nhau bởi dấu phẩy "
            "(ví dụ 06:00, 11:00, 17:00).",
            code="form_times",
            details=[{"field": "times"}],
        ) from err
    if not times:
        raise InvalidInput(
            "Hãy nhập các giờ phát trong ngày.", code="form_times", details=[{"field": "times"}]
        )
    if len({t.minute for t in times}) != 1:
        raise InvalidInput(
            "Các giờ phát trong ngày phải cùng số phút (ví dụ 06:00, 11:00, 17:00 hoặc 06:30, 11:30).",
            code="form_times",
            details=[{"field": "times"}],
        )
    return times


def _times_daily(values: Mapping[str, str]) -> str:
    times = times_of_day(values)
    return f"FREQ=DAILY;BYHOUR={','.join(str(t.hour) for t in times)};BYMINUTE={times[0].minute}"


def _ambiguous(values: Mapping[str, str]) -> str:
    return f"{WEEKDAY_WORDS[_weekday(values)]} của tuần {dict(WEEKS)[str(_week(values))]}"


def chosen_reading(values: Mapping[str, str]) -> Reading:
    code = values.get("reading", "")
    if code not in READINGS:
        raise InvalidInput(
            f"«{_ambiguous(values)}» có hai cách hiểu: hãy chọn một (xem ngày phát của từng cách bên dưới).",
            code="form_reading",
            details=[{"field": "reading"}],
        )
    return READINGS[code]


_RULES: dict[str, Callable[[Mapping[str, str]], str | None]] = {
    "once": lambda v: None,
    "daily": lambda v: "FREQ=DAILY",
    "times_daily": _times_daily,
    "weekdays": lambda v: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": lambda v: f"FREQ=WEEKLY;BYDAY={_weekly_days(v)}",
    "monthly_weekday": lambda v: chosen_reading(v).rule(_week(v), _weekday(v)),
    "monthly_day": lambda v: f"FREQ=MONTHLY;BYMONTHDAY={_month_day(v)}",
    "hourly": lambda v: f"FREQ=HOURLY;INTERVAL={_number(v, 'every_hours', 'Số giờ giữa hai lần phát', 2)}",
}


def rule_of(values: Mapping[str, str]) -> str | None:
    """The RRULE of the chosen shape, without its end (``None``: once)."""
    kind = values.get("rule_kind", "daily")
    if kind not in _RULES:
        raise InvalidInput("Kiểu lặp lại không hợp lệ.", code="form_rule_kind")
    return _RULES[kind](values)


@dataclass(frozen=True)
class When:
    start_local: datetime
    end_day: date | None


def when_of(values: Mapping[str, str]) -> When:
    """The first airing and the last day. Several times a day start at the earliest of them; a
    campaign's number of days ("trong 7 ngày") gives the last day, counted from the first."""
    try:
        first_day = date.fromisoformat(_required(values, "start_date", "ngày bắt đầu"))
        if values.get("rule_kind") == "times_daily":
            at = times_of_day(values)[0]
        else:
            at = datetime.strptime(_required(values, "start_time", "giờ phát"), "%H:%M").time()
        end_raw = values.get("end_date", "").strip()
        end_day = date.fromisoformat(end_raw) if end_raw else None
    except ValueError as err:
        raise InvalidInput("Ngày hoặc giờ không hợp lệ.", code="form_date") from err
    days_raw = values.get("campaign_days", "").strip()
    if days_raw:
        if end_day is not None:
            raise InvalidInput(
                "Chọn ngày kết thúc hoặc số ngày phát, không chọn cả hai.",
                code="form_date",
                details=[{"field": "campaign_days"}],
            )
        days = _number(values, "campaign_days", "Số ngày phát")
        if not 1 <= days <= 366:
            raise InvalidInput("Số ngày phát phải từ 1 đến 366.", code="form_date")
        end_day = first_day + timedelta(days=days - 1)
    if end_day is not None and end_day < first_day:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="form_date")
    return When(datetime.combine(first_day, at), end_day)


def max_per_day_of(values: Mapping[str, str]) -> int | None:
    """ "Tối đa … lần mỗi ngày": empty for no cap."""
    if not values.get("max_per_day", "").strip():
        return None
    return _number(values, "max_per_day", "Số lần phát tối đa mỗi ngày")


def targets_of(values: Mapping[str, str]) -> list[TargetInput]:
    """The places chosen in the combobox (``kind:code``, comma-joined; the code never typed), or the
    older pair ``target_kind``/``target_code`` that API-like clients still post."""
    language = values.get("target_language", "vi") or "vi"
    chosen = [t for t in values.get("targets", "").split(",") if t.strip()]
    if chosen:
        out = []
        for token in chosen:
            kind, sep, code = token.strip().partition(":")
            if not sep or not code:
                raise InvalidInput("Nơi phát không hợp lệ: hãy chọn lại.", code="form_target")
            out.append(TargetInput(kind, code, language))
        return out
    if values.get("target_code", "").strip():
        return [TargetInput(values.get("target_kind", "commune"), values["target_code"].strip(), language)]
    raise InvalidInput(
        "Hãy gõ tên nơi phát (xã, thôn, đài …) rồi chọn trong danh sách.",
        code="form_missing",
        details=[{"field": "targets"}],
    )


def _ended(rule: str | None, when: When) -> str | None:
    if rule is None or when.end_day is None:
        return rule
    return f"{rule};UNTIL={when.end_day:%Y%m%d}T235959"


def programme_from_form(values: Mapping[str, str]) -> ProgrammeInput:
    when = when_of(values)
    rule = _ended(rule_of(values), when)
    return ProgrammeInput(
        name=_required(values, "name", "tên chương trình"),
        start_local=when.start_local,
        slot_minutes=_number(values, "slot_minutes", "Độ dài khung giờ (phút)"),
        targets=targets_of(values),
        rrule=rule,
        until_cancelled=rule is not None and when.end_day is None and values.get("until_cancelled") == "1",
        skip_holidays=values.get("skip_holidays") == "1",
        max_per_day=max_per_day_of(values),
        priority=values.get("priority", "normal") or "normal",
        owner_organisation=values.get("owner_organisation", ""),
        description=values.get("description", ""),
    )


# --- preview ---


def _next_dates(
    rule: str | None, when: When, skip_holidays: bool, now: datetime, cap: int | None = None
) -> tuple[str, ...]:
    recurrence = Recurrence(
        when.start_local, _ended(rule, when), skip_holidays=skip_holidays, max_per_day=cap
    )
    validate(recurrence)
    after = max(now, to_utc(when.start_local))
    return tuple(occurrence_words(to_local(at)) for at in upcoming(recurrence, after, PREVIEW_COUNT))


def preview(values: Mapping[str, str], *, now: datetime) -> Preview:
    """The Vietnamese description and next dates of the chosen recurrence; for "thứ … của tuần thứ …",
    both readings by name with their next dates. Incomplete input gives a ``message``, never an error."""
    skip = values.get("skip_holidays") == "1"
    try:
        when = when_of(values)
        readings: tuple[ReadingPreview, ...] = ()
        if values.get("rule_kind") == "monthly_weekday":
            week, weekday = _week(values), _weekday(values)
            readings = tuple(
                ReadingPreview(
                    r.code,
                    r.name(week, weekday),
                    _next_dates(r.rule(week, weekday), when, skip, now),
                    values.get("reading") == r.code,
                )
                for r in READINGS.values()
            )
            if values.get("reading") not in READINGS:
                return Preview(ambiguous=_ambiguous(values), readings=readings)
        rule = _ended(rule_of(values), when)
        cap = max_per_day_of(values) if rule is not None else None
        recurrence = Recurrence(when.start_local, rule, skip_holidays=skip, max_per_day=cap)
        until_cancelled = rule is not None and when.end_day is None and values.get("until_cancelled") == "1"
        return Preview(
            describe(recurrence, until_cancelled=until_cancelled),
            _next_dates(rule_of(values), when, skip, now, cap),
            _ambiguous(values) if readings else "",
            readings,
        )
    except InvalidInput as err:
        if err.code == "form_missing":
            return Preview(message="Chọn ngày bắt đầu và giờ phát để xem trước các ngày phát.")
        return Preview(message=err.message)

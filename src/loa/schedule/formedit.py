"""Editing a programme in the page: its stored recurrence read back into the form's choices (pure), and
the parts the form does not show carried over from the stored programme.

A rule is read back only when it is exactly one of the form's shapes (``loa.schedule.forms.RULE_KINDS``)
with an end the form can show (a last day, or none). Anything else — a rule only the API can write, a
COUNT, an end at another time than the end of a day — is offered as "keep the current schedule" with its
Vietnamese description, and saving keeps it untouched: the form never rewrites a rule it cannot show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time

from loa.errors import InvalidInput
from loa.schedule import models as m
from loa.schedule.recurrence import (
    LAST_WEEK,
    MONTH_WEEKS,
    WEEKDAY_CODES,
    localise_until,
    month_week_rule,
    rule_parts,
)
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import ResolvedTarget
from loa.vocab.ladder import BULLETIN_PRIORITIES

KEEP = "keep"  # the rule kind of "giữ lịch hiện tại"
END_OF_DAY = time(23, 59, 59)
_WEEKDAYS_MO_FR = "MO,TU,WE,TH,FR"


def _until_day(parts: dict[str, str]) -> tuple[date | None, bool]:
    """(last day, understood): an UNTIL at the end of a day is a last day; none is none."""
    raw = parts.pop("UNTIL", None)
    if raw is None:
        return None, True
    try:
        until = datetime.strptime(raw, "%Y%m%dT%H%M%S")
    except ValueError:
        return None, False
    return (until.date(), True) if until.time() == END_OF_DAY else (None, False)


def _monthly_weekday(parts: dict[str, str]) -> dict[str, str] | None:
    byday = parts.get("BYDAY", "")
    if set(parts) == {"FREQ", "BYDAY"} and len(byday) >= 3 and byday[-2:] in WEEKDAY_CODES:
        nth = byday[:-2]
        if nth in ("1", "2", "3", "4", "5", "-1"):
            return {"rule_kind": "monthly_weekday", "weekday": byday[-2:], "nth": nth, "reading": "nth"}
    if set(parts) == {"FREQ", "BYDAY", "BYMONTHDAY"} and byday in WEEKDAY_CODES:
        for week in MONTH_WEEKS:
            if month_week_rule(week, WEEKDAY_CODES.index(byday)) == "FREQ=MONTHLY;" + ";".join(
                f"{k}={parts[k]}" for k in ("BYDAY", "BYMONTHDAY")
            ):
                nth = str(LAST_WEEK) if week == LAST_WEEK else str(week)
                return {"rule_kind": "monthly_weekday", "weekday": byday, "nth": nth, "reading": "week"}
    return None


def _shape(parts: dict[str, str], start: datetime) -> dict[str, str] | None:
    """The form's fields for a rule without its end, or None when it is none of the form's shapes."""
    freq, keys = parts.get("FREQ"), set(parts)
    interval = parts.pop("INTERVAL", "1")
    if freq == "HOURLY" and keys <= {"FREQ", "INTERVAL"} and interval.isdigit():
        return {"rule_kind": "hourly", "every_hours": interval}
    if interval != "1":
        return None
    if freq == "DAILY" and keys <= {"FREQ", "INTERVAL"}:
        return {"rule_kind": "daily"}
    if freq == "DAILY" and set(parts) == {"FREQ", "BYHOUR", "BYMINUTE"} and parts["BYMINUTE"].isdigit():
        try:
            hours = sorted(int(h) for h in parts["BYHOUR"].split(","))
        except ValueError:
            return None
        minute = int(parts["BYMINUTE"])
        if start.time() != time(hours[0], minute):
            return None
        return {"rule_kind": "times_daily", "times": ", ".join(f"{h:02d}:{minute:02d}" for h in hours)}
    if freq == "WEEKLY" and set(parts) == {"FREQ", "BYDAY"}:
        days = parts["BYDAY"].split(",")
        if any(d not in WEEKDAY_CODES for d in days):
            return None
        if ",".join(sorted(days, key=WEEKDAY_CODES.index)) == _WEEKDAYS_MO_FR:
            return {"rule_kind": "weekdays"}
        return {"rule_kind": "weekly", "days": ",".join(days)}
    if freq == "MONTHLY" and set(parts) == {"FREQ", "BYMONTHDAY"} and parts["BYMONTHDAY"].isdigit():
        return {"rule_kind": "monthly_day", "month_day": parts["BYMONTHDAY"]}
    if freq == "MONTHLY":
        return _monthly_weekday(parts)
    return None


def rule_fields(rule: str | None, start: datetime, timezone: str) -> dict[str, str]:
    """The form's recurrence fields for a stored rule; ``{"rule_kind": "keep"}`` when it cannot show it."""
    if rule is None:
        return {"rule_kind": "once"}
    try:
        parts = localise_until(rule_parts(rule), timezone)
    except InvalidInput:
        return {"rule_kind": KEEP}
    end_day, understood = _until_day(parts)
    shape = _shape(parts, start) if understood and "COUNT" not in parts else None
    if shape is None:
        return {"rule_kind": KEEP}
    return {**shape, "end_date": end_day.isoformat() if end_day else ""}


def priority_code(priority: int) -> str:
    """The form's priority choice for a stored number (the nearest regulated priority not above it)."""
    best = "normal"
    for code, info in BULLETIN_PRIORITIES.items():
        if info.priority <= priority:
            best = code.value
    return best


def values_of(programme: m.Programme, targets: Sequence[ResolvedTarget]) -> dict[str, str]:
    """The edit form's fields for a stored programme (what ``forms.programme_from_form`` reads back)."""
    values = {
        "name": programme.name,
        "owner_organisation": programme.owner_organisation,
        "description": programme.description,
        "slot_minutes": str(programme.slot_duration_ms // 60_000),
        "start_date": programme.start_local.date().isoformat(),
        "start_time": programme.start_local.strftime("%H:%M"),
        "until_cancelled": "1" if programme.until_cancelled else "",
        "skip_holidays": "1" if programme.skip_holidays else "",
        "max_per_day": str(programme.max_per_day) if programme.max_per_day else "",
        "priority": priority_code(programme.priority),
        "targets": ",".join(f"{t.kind.value}:{t.code}" for t in targets),
        "target_language": targets[0].language if targets else "vi",
        "version": str(programme.version),
    }
    return {**values, **rule_fields(programme.rrule, programme.start_local, programme.timezone)}


def keeping(
    data: ProgrammeInput, programme: m.Programme, rule_kind: str, *, topic_code: str | None
) -> ProgrammeInput:
    """The form's input completed with what the form does not show: the stored exceptions, extra
    airings, zone, volume and topic, and with ``keep`` the stored rule itself. A priority left on the
    choice the programme already had keeps its exact number and pre-emption rule."""
    kept = dataclasses.replace(
        data,
        timezone=programme.timezone,
        except_dates=tuple(date.fromisoformat(d) for d in programme.except_dates),
        except_local=tuple(datetime.fromisoformat(d) for d in programme.except_local),
        extra_local=tuple(datetime.fromisoformat(d) for d in programme.extra_local),
        volume_percent=programme.volume_percent,
        topic_code=topic_code,
    )
    if data.priority == priority_code(programme.priority):
        kept = dataclasses.replace(kept, priority=programme.priority, preempt_rule=programme.preempt_rule)
    if rule_kind == KEEP:
        kept = dataclasses.replace(
            kept,
            rrule=programme.rrule,
            start_local=programme.start_local,
            until_cancelled=programme.until_cancelled,
        )
    return kept

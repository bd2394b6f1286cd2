"""Periods as people pick them in a web form or on the command line: one "kỳ" choice (whole year, a
half, a quarter, a month, a custom range, or every date) plus a year or two dates. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from loa.errors import InvalidInput
from loa.vocab.period import ROMAN, Period, PeriodKind


@dataclass(frozen=True)
class PeriodChoice:
    value: str
    label: str
    group: str


PERIOD_CHOICES: tuple[PeriodChoice, ...] = (
    PeriodChoice("year", "Cả năm", "Năm"),
    PeriodChoice("h1", "6 tháng đầu năm", "Nửa năm"),
    PeriodChoice("h2", "6 tháng cuối năm", "Nửa năm"),
    *(PeriodChoice(f"q{q}", f"Quý {ROMAN[q - 1]}", "Quý") for q in range(1, 5)),
    *(PeriodChoice(f"m{m}", f"Tháng {m}", "Tháng") for m in range(1, 13)),
    PeriodChoice("custom", "Từ ngày … đến ngày …", "Tùy chọn"),
)
ALL_TIME = PeriodChoice("", "Mọi thời gian", "")
_PREFIXES = {"h": PeriodKind.HALF, "q": PeriodKind.QUARTER, "m": PeriodKind.MONTH}


@dataclass(frozen=True)
class PeriodFields:
    """The raw form values (strings, as typed)."""

    period: str = "year"
    year: str = ""
    start: str = ""
    end: str = ""

    @classmethod
    def for_year(cls, year: int) -> PeriodFields:
        return cls("year", str(year))


def choice_groups(*, with_all_time: bool = False) -> list[tuple[str, list[PeriodChoice]]]:
    """Choices grouped for ``<optgroup>``; "Mọi thời gian" first when a filter may be empty."""
    groups: list[tuple[str, list[PeriodChoice]]] = [("", [ALL_TIME])] if with_all_time else []
    for choice in PERIOD_CHOICES:
        if groups and groups[-1][0] == choice.group:
            groups[-1][1].append(choice)
        else:
            groups.append((choice.group, [choice]))
    return groups


def year_choices(today: date, *, back: int = 6) -> list[int]:
    return list(range(today.year, today.year - back - 1, -1))


def _date(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as err:
        raise InvalidInput(f"{what} không hợp lệ (dạng năm-tháng-ngày): “{raw.strip()}”.") from err


def parse_period(fields: PeriodFields) -> Period | None:
    """The period the fields describe; ``None`` for "Mọi thời gian". Vietnamese errors otherwise."""
    choice = fields.period.strip()
    if not choice:
        return None
    if choice == "custom":
        if not fields.start.strip() or not fields.end.strip():
            raise InvalidInput("Cần nhập ngày bắt đầu và ngày kết thúc.", code="period_invalid")
        return Period.custom(_date(fields.start, "Ngày bắt đầu"), _date(fields.end, "Ngày kết thúc"))
    raw_year = fields.year.strip()
    if not raw_year.isdigit():
        raise InvalidInput("Năm báo cáo phải là số, ví dụ 2024.", code="period_invalid")
    year = int(raw_year)
    if choice == "year":
        return Period.build(PeriodKind.YEAR, year=year)
    kind = _PREFIXES.get(choice[:1])
    if kind is None or not choice[1:].isdigit():
        raise InvalidInput("Kỳ báo cáo không hợp lệ.", code="period_invalid")
    return Period.build(kind, year=year, index=int(choice[1:]))


def fields_of(period: Period) -> PeriodFields:
    """The form values that describe ``period`` (to fill a form again)."""
    if period.kind is PeriodKind.CUSTOM:
        return PeriodFields(
            "custom", str(period.start.year), period.start.isoformat(), period.end.isoformat()
        )
    if period.kind is PeriodKind.YEAR:
        return PeriodFields("year", str(period.start.year))
    prefix = {v: k for k, v in _PREFIXES.items()}[period.kind]
    return PeriodFields(f"{prefix}{period.index}", str(period.start.year))

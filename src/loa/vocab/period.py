"""Reporting periods (year, half-year, quarter, month, custom range) and their Vietnamese wording."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from loa.errors import InvalidInput
from loa.vocab.dates import vn_date

ROMAN = ("I", "II", "III", "IV")


class PeriodKind(StrEnum):
    YEAR = "year"
    HALF = "half"
    QUARTER = "quarter"
    MONTH = "month"
    CUSTOM = "custom"


PERIOD_KIND_LABELS: dict[PeriodKind, str] = {
    PeriodKind.YEAR: "Năm",
    PeriodKind.HALF: "6 tháng",
    PeriodKind.QUARTER: "Quý",
    PeriodKind.MONTH: "Tháng",
    PeriodKind.CUSTOM: "Khoảng thời gian tùy chọn",
}


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """An inclusive date range with the kind that produced it (for wording)."""

    kind: PeriodKind
    start: date
    end: date
    index: int = 0  # half 1-2, quarter 1-4, month 1-12; 0 for year/custom

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def half(cls, year: int, half: int) -> Period:
        if half not in (1, 2):
            raise InvalidInput("Nửa năm phải là 1 hoặc 2.")
        return cls(PeriodKind.HALF, date(year, 1 if half == 1 else 7, 1), _month_end(year, 6 * half), half)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise InvalidInput("Quý phải từ 1 đến 4.")
        return cls(PeriodKind.QUARTER, date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter), quarter)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise InvalidInput("Tháng phải từ 1 đến 12.")
        return cls(PeriodKind.MONTH, date(year, month, 1), _month_end(year, month), month)

    @classmethod
    def custom(cls, start: date, end: date) -> Period:
        if end < start:
            raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.")
        return cls(PeriodKind.CUSTOM, start, end)

    @classmethod
    def build(
        cls,
        kind: PeriodKind | str,
        *,
        year: int | None = None,
        index: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Period:
        """Build from form/API parameters, with a Vietnamese error for every missing piece."""
        try:
            k = PeriodKind(kind)
        except ValueError as err:
            raise InvalidInput("Loại kỳ báo cáo không hợp lệ.") from err
        if k is PeriodKind.CUSTOM:
            if start is None or end is None:
                raise InvalidInput("Cần nhập ngày bắt đầu và ngày kết thúc.")
            return cls.custom(start, end)
        if year is None or not 1990 <= year <= 2200:
            raise InvalidInput("Năm báo cáo không hợp lệ.")
        if k is PeriodKind.YEAR:
            return cls.year(year)
        if index is None:
            raise InvalidInput("Cần chọn kỳ (nửa năm, quý hoặc tháng).")
        return {PeriodKind.HALF: cls.half, PeriodKind.QUARTER: cls.quarter, PeriodKind.MONTH: cls.month}[k](
            year, index
        )

    @property
    def label(self) -> str:
        """'năm 2023', 'quý I năm 2024', '6 tháng đầu năm 2024', 'tháng 3 năm 2024', 'từ ngày …'."""
        y = self.start.year
        if self.kind is PeriodKind.YEAR:
            return f"năm {y}"
        if self.kind is PeriodKind.HALF:
            return f"6 tháng {'đầu' if self.index == 1 else 'cuối'} năm {y}"
        if self.kind is PeriodKind.QUARTER:
            return f"quý {ROMAN[self.index - 1]} năm {y}"
        if self.kind is PeriodKind.MONTH:
            return f"tháng {self.index} năm {y}"
        return f"từ ngày {vn_date(self.start)} đến ngày {vn_date(self.end)}"

    @property
    def opening(self) -> str:
        """How a results paragraph starts: 'Trong năm 2023', 'Từ ngày … đến ngày …'."""
        if self.kind is PeriodKind.CUSTOM:
            return self.label[:1].upper() + self.label[1:]
        return f"Trong {self.label}"

    @property
    def next_label(self) -> str:
        """The period section V plans for: 'năm 2024', 'quý II năm 2024', 'thời gian tới'."""
        y = self.start.year
        if self.kind is PeriodKind.YEAR:
            return f"năm {y + 1}"
        if self.kind is PeriodKind.HALF:
            return f"6 tháng cuối năm {y}" if self.index == 1 else f"năm {y + 1}"
        if self.kind is PeriodKind.QUARTER:
            return f"quý {ROMAN[self.index % 4]} năm {y + (1 if self.index == 4 else 0)}"
        if self.kind is PeriodKind.MONTH:
            return f"tháng {self.index % 12 + 1} năm {y + (1 if self.index == 12 else 0)}"
        return "thời gian tới"

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "index": self.index,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Period:
        return cls(
            PeriodKind(data["kind"]),
            date.fromisoformat(data["start"]),
            date.fromisoformat(data["end"]),
            int(data.get("index", 0)),
        )

"""The drafted assessment of a report ("Đánh giá chung", the last part of section I): its radio
figures compared with those of the previous period of the same length — programmes aired, news
items and articles aired, and the share of the plan the loudspeakers' receipts prove. A draft the
person drawing up the report reads and edits before it is signed; never a judgement the data cannot
carry (no causes, no praise). Pure: the figures come in, the text goes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any, Protocol

from loa.reports.airdata import Airtime
from loa.vocab.dates import vn_date
from loa.vocab.numbers import count_text, number_text, percent_text
from loa.vocab.period import Period, PeriodKind

VIETNAM = timezone(timedelta(hours=7))
RADIO_ITEM_KEYS = ("radio.news", "radio.article", "radio.reportage", "radio.announcement", "radio.segment")


def previous_period(period: Period) -> Period:
    """The period of the same length just before: the year, half, quarter or month before; for a
    range of days, as many days ending the day before it starts."""
    y, i = period.start.year, period.index
    if period.kind is PeriodKind.YEAR:
        return Period.year(y - 1)
    if period.kind is PeriodKind.HALF:
        return Period.half(y, 1) if i == 2 else Period.half(y - 1, 2)
    if period.kind is PeriodKind.QUARTER:
        return Period.quarter(y, i - 1) if i > 1 else Period.quarter(y - 1, 4)
    if period.kind is PeriodKind.MONTH:
        return Period.month(y, i - 1) if i > 1 else Period.month(y - 1, 12)
    days = (period.end - period.start).days + 1
    end = period.start - timedelta(days=1)
    return Period.custom(end - timedelta(days=days - 1), end)


@dataclass(frozen=True)
class PeriodFigures:
    """The radio figures of one period that the assessment compares."""

    period: Period
    programmes: int  # the "Chuyên mục" figure: airings aired (and notebook entries)
    items: int  # news items, articles, reportages, announcements, segments aired
    in_plan: int  # played broadcasts of the plan (receipts)
    due: int  # the plan whose time had come
    as_of: date | None = None  # the last day with evidence, when the period had not ended

    @property
    def share(self) -> float | None:
        return None if self.due == 0 else 100.0 * self.in_plan / self.due

    @property
    def is_empty(self) -> bool:
        return not (self.programmes or self.items or self.due)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period.to_json(),
            "programmes": self.programmes,
            "items": self.items,
            "in_plan": self.in_plan,
            "due": self.due,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PeriodFigures:
        return cls(
            Period.from_json(d["period"]),
            int(d.get("programmes", 0)),
            int(d.get("items", 0)),
            int(d.get("in_plan", 0)),
            int(d.get("due", 0)),
            date.fromisoformat(d["as_of"]) if d.get("as_of") else None,
        )


class Figures(Protocol):
    """A channel's figures by key (``loa.reports.data.ChannelSection``)."""

    def value(self, key: str) -> int: ...


def period_figures(period: Period, radio: Figures | None, airtime: Airtime | None) -> PeriodFigures:
    programmes = radio.value("radio.programme") if radio else 0
    items = sum(radio.value(k) for k in RADIO_ITEM_KEYS) if radio else 0
    total = airtime.total if airtime is not None else None
    as_of = None
    if airtime is not None and airtime.as_of is not None:
        day = airtime.as_of.astimezone(VIETNAM).date()  # the report's moment, in Vietnam
        as_of = day if day < period.end else None
    return PeriodFigures(
        period, programmes, items, total.in_plan if total else 0, total.due if total else 0, as_of
    )


@dataclass(frozen=True)
class Comparison:
    current: PeriodFigures
    previous: PeriodFigures

    def to_json(self) -> dict[str, Any]:
        return {"current": self.current.to_json(), "previous": self.previous.to_json()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Comparison:
        return cls(PeriodFigures.from_json(d["current"]), PeriodFigures.from_json(d["previous"]))


def _previous_words(period: Period) -> str:
    if period.kind is PeriodKind.CUSTOM:
        return f"khoảng thời gian liền trước ({period.label})"
    return period.label


def _count_clause(name: str, unit: str, now: int, before: int) -> str:
    if now > before:
        return (
            f"{name} tăng {count_text(now - before)} {unit} (từ {count_text(before)} lên {count_text(now)})"
        )
    if now < before:
        return (
            f"{name} giảm {count_text(before - now)} {unit} (từ {count_text(before)} xuống {count_text(now)})"
        )
    return f"{name} bằng kỳ trước ({count_text(now)} {unit})"


def _share_clause(now: float | None, before: float | None) -> str:
    name = "tỷ lệ thực hiện kế hoạch phát sóng trên cụm loa (theo biên nhận phát)"
    if now is None and before is None:
        return ""
    if now is None:
        before_text = percent_text(before or 0.0)
        return f"kỳ này chưa có kế hoạch phát sóng trên cụm loa đến giờ phát (kỳ trước đạt {before_text})"
    if before is None:
        return f"{name} đạt {percent_text(now)}, kỳ trước chưa có kế hoạch phát sóng trên cụm loa"
    points = round(now - before, 1)
    if points == 0:
        return f"{name} đạt {percent_text(now)}, bằng kỳ trước"
    direction = "cao hơn" if points > 0 else "thấp hơn"
    difference = number_text(abs(points), 1, trim=True)
    return (
        f"{name} đạt {percent_text(now)}, {direction} kỳ trước {difference} điểm phần trăm "
        f"({percent_text(before)})"
    )


def _overall(now: PeriodFigures, before: PeriodFigures) -> str:
    moves = {(now.programmes > before.programmes) - (now.programmes < before.programmes),
             (now.items > before.items) - (now.items < before.items)}  # fmt: skip
    subject = "số chuyên mục, tin, bài phát trên hệ thống truyền thanh"
    if moves in ({1}, {0, 1}):
        return f"Nhìn chung, {subject} tăng so với kỳ trước."
    if moves in ({-1}, {0, -1}):
        return f"Nhìn chung, {subject} giảm so với kỳ trước."
    if moves == {0}:
        return f"Nhìn chung, {subject} tương đương kỳ trước."
    return ""


def draft_text(comparison: Comparison) -> str:
    """The drafted paragraph, e.g. "So với năm 2023, số chuyên mục đã phát sóng tăng 02 chuyên mục
    (từ 10 lên 12); …; tỷ lệ thực hiện kế hoạch … đạt 98,5 %, cao hơn kỳ trước 3,2 điểm phần trăm
    (95,3 %). Nhìn chung, …"."""
    now, before = comparison.current, comparison.previous
    previous = _previous_words(before.period)
    if now.is_empty and before.is_empty:
        return (
            f"{now.period.opening} và {previous}, chưa ghi nhận chuyên mục, tin, bài phát trên hệ thống "
            "truyền thanh để so sánh."
        )
    if before.is_empty:  # nothing recorded then is no evidence of nothing done: no "tăng từ 0"
        return (
            f"Chưa có số liệu truyền thanh của {previous} trên hệ thống (biên nhận phát của cụm loa, sổ "
            "nhập tay) để so sánh với kỳ này."
        )
    clauses = [
        _count_clause("số chuyên mục đã phát sóng", "chuyên mục", now.programmes, before.programmes),
        _count_clause("số tin, bài đã phát", "tin, bài", now.items, before.items),
        _share_clause(now.share, before.share),
    ]
    text = f"So với {previous}, {'; '.join(c for c in clauses if c)}."
    overall = _overall(now, before)
    if overall:
        text += f" {overall}"
    if now.as_of is not None:
        text += f" Số liệu kỳ này tính đến ngày {vn_date(now.as_of)} (kỳ báo cáo chưa kết thúc)."
    return text

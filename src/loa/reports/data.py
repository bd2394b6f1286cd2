"""The value object a report is made from: period, organisation, topic, prose, and per-channel figures,
each figure carrying the ids of the detail rows behind it. Pure: no database, no I/O.

A ``ReportData`` round-trips through JSON (``to_json``/``from_json``): that JSON is the snapshot saved
with every generated report, so a document can always be traced to (and rebuilt from) its data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loa.vocab.cells import CellValue, Column
from loa.vocab.period import Period

SNAPSHOT_VERSION = 2  # 2: figure sources, system rows ("TB12"), broadcasts (``airtime``)


@dataclass(frozen=True)
class DetailRow:
    """One record behind a figure. ``cells`` are JSON-safe (dates as ISO strings). ``id`` is the
    register record's id, or a string naming a system record ("TB12": bulletin 12, "CT3": programme 3)."""

    id: int | str
    cells: Mapping[str, CellValue]

    def get(self, key: str) -> CellValue:
        return self.cells.get(key)


@dataclass(frozen=True)
class Figure:
    """One number in the report, e.g. 8 panels. ``row_ids`` are the detail rows it was counted from;
    ``value`` may exceed ``len(row_ids)`` when a row carries a quantity (one record of 3 panels).
    ``source`` says where the number came from ("Hệ thống", "Nhập tay", or both with their parts)."""

    key: str
    label: str
    value: int
    unit: str
    row_ids: tuple[int | str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class ChannelSection:
    key: str
    title: str
    figures: tuple[Figure, ...]
    columns: tuple[Column, ...]
    rows: tuple[DetailRow, ...]

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def value(self, key: str) -> int:
        fig = self.figure(key)
        return fig.value if fig else 0

    @property
    def is_empty(self) -> bool:
        return all(f.value == 0 for f in self.figures)


@dataclass(frozen=True)
class AirtimeRow:
    """One commune (``day`` empty) or one commune-day, as the report keeps it."""

    commune_id: int | None
    commune: str
    former_district: str
    day: date | None
    scheduled: int
    played: int
    preempted: int
    failed: int
    played_ms: int

    @property
    def hours(self) -> float:
        return self.played_ms / 3_600_000

    @property
    def played_percent(self) -> float | None:
        return None if self.scheduled == 0 else 100.0 * self.played / self.scheduled

    def to_json(self) -> dict[str, Any]:
        return {
            "commune_id": self.commune_id,
            "commune": self.commune,
            "former_district": self.former_district,
            "day": self.day.isoformat() if self.day else None,
            "scheduled": self.scheduled,
            "played": self.played,
            "preempted": self.preempted,
            "failed": self.failed,
            "played_ms": self.played_ms,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AirtimeRow:
        return cls(
            d.get("commune_id"),
            d.get("commune", ""),
            d.get("former_district", ""),
            date.fromisoformat(d["day"]) if d.get("day") else None,
            int(d.get("scheduled", 0)),
            int(d.get("played", 0)),
            int(d.get("preempted", 0)),
            int(d.get("failed", 0)),
            int(d.get("played_ms", 0)),
        )


def sum_rows(rows: Iterable[AirtimeRow], *, label: str = "Tổng cộng") -> AirtimeRow:
    listed = list(rows)
    return AirtimeRow(
        None,
        label,
        "",
        None,
        sum(r.scheduled for r in listed),
        sum(r.played for r in listed),
        sum(r.preempted for r in listed),
        sum(r.failed for r in listed),
        sum(r.played_ms for r in listed),
    )


@dataclass(frozen=True)
class ProgrammeRow:
    """A programme (chuyên mục) of the area: its airings in the period, scheduled and played."""

    programme_id: int
    name: str
    schedule: str  # "Thứ Hai tuần thứ 3 hằng tháng, 07:00"
    area: str
    scheduled_airings: int
    played_airings: int
    scheduled: int
    played: int
    news: tuple[int, int]  # fewest and most news items per airing
    articles: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "programme_id": self.programme_id,
            "name": self.name,
            "schedule": self.schedule,
            "area": self.area,
            "scheduled_airings": self.scheduled_airings,
            "played_airings": self.played_airings,
            "scheduled": self.scheduled,
            "played": self.played,
            "news": list(self.news),
            "articles": list(self.articles),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ProgrammeRow:
        news, articles = d.get("news", (0, 0)), d.get("articles", (0, 0))
        return cls(
            int(d["programme_id"]),
            d["name"],
            d.get("schedule", ""),
            d.get("area", ""),
            int(d.get("scheduled_airings", 0)),
            int(d.get("played_airings", 0)),
            int(d.get("scheduled", 0)),
            int(d.get("played", 0)),
            (int(news[0]), int(news[1])),
            (int(articles[0]), int(articles[1])),
        )


@dataclass(frozen=True)
class Airtime:
    """Broadcasts of the report's area: by commune, by commune and day (the XLSX detail: a year of
    receipts is too many to list one per row), and by programme. ``receipts``: any receipt exists."""

    communes: tuple[AirtimeRow, ...] = ()
    days: tuple[AirtimeRow, ...] = ()
    programmes: tuple[ProgrammeRow, ...] = ()
    receipts: bool = False

    @property
    def total(self) -> AirtimeRow:
        return sum_rows(self.communes)

    @property
    def is_empty(self) -> bool:
        return not self.communes and not self.programmes

    def to_json(self) -> dict[str, Any]:
        return {
            "communes": [r.to_json() for r in self.communes],
            "days": [r.to_json() for r in self.days],
            "programmes": [p.to_json() for p in self.programmes],
            "receipts": self.receipts,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Airtime:
        return cls(
            tuple(AirtimeRow.from_json(r) for r in d.get("communes", ())),
            tuple(AirtimeRow.from_json(r) for r in d.get("days", ())),
            tuple(ProgrammeRow.from_json(p) for p in d.get("programmes", ())),
            bool(d.get("receipts", False)),
        )


@dataclass(frozen=True)
class Organisation:
    """The issuing agency as printed in the header (Decree 30/2020/NĐ-CP, Appendix I)."""

    parent_name: str  # "UBND XÃ BA TƠ" (cơ quan chủ quản)
    name: str  # "TRUNG TÂM VĂN HÓA - THÔNG TIN VÀ THỂ THAO" (cơ quan ban hành)
    place: str  # "Ba Tơ" (địa danh)
    short_code: str = ""  # "TTVHTT" → "Số: …/BC-TTVHTT"
    prose_name: str = "Đơn vị"  # how the body refers to the agency
    signer_title: str = "GIÁM ĐỐC"
    signer_name: str = ""
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    code: str
    name: str  # "Cải cách hành chính"
    abbreviation: str = ""  # "CCHC"


PROSE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("advantages", "Thuận lợi"),
    ("limitations", "Hạn chế, tồn tại"),
    ("proposals", "Đề xuất, kiến nghị"),
    ("next_tasks", "Nhiệm vụ trọng tâm"),
)
"""Sections written by people (II-V); section I comes from data."""


@dataclass(frozen=True)
class ReportData:
    period: Period
    organisation: Organisation
    topic: Topic | None
    area_name: str
    channels: tuple[ChannelSection, ...]
    issued_on: date
    number: str = ""
    summary: str = ""  # the line under "BÁO CÁO"; derived when empty
    introduction: str = ""
    prose: Mapping[str, str] = field(default_factory=dict)
    airtime: Airtime | None = None  # broadcasts from schedules and play receipts, when the system has any

    def channel(self, key: str) -> ChannelSection | None:
        return next((c for c in self.channels if c.key == key), None)

    @property
    def missing_prose(self) -> tuple[str, ...]:
        return tuple(key for key, _ in PROSE_SECTIONS if not self.prose.get(key, "").strip())

    @property
    def topic_phrase(self) -> str:
        """' cải cách hành chính' style suffix for titles; empty when the report covers all topics."""
        return f" {self.topic.name[:1].lower()}{self.topic.name[1:]}" if self.topic else ""

    @property
    def title_summary(self) -> str:
        if self.summary.strip():
            return self.summary.strip()
        return f"Kết quả công tác tuyên truyền{self.topic_phrase} {self.period.label}"

    # --- snapshot -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "period": self.period.to_json(),
            "organisation": {
                "parent_name": self.organisation.parent_name,
                "name": self.organisation.name,
                "place": self.organisation.place,
                "short_code": self.organisation.short_code,
                "prose_name": self.organisation.prose_name,
                "signer_title": self.organisation.signer_title,
                "signer_name": self.organisation.signer_name,
                "recipients": list(self.organisation.recipients),
            },
            "topic": (
                None
                if self.topic is None
                else {
                    "code": self.topic.code,
                    "name": self.topic.name,
                    "abbreviation": self.topic.abbreviation,
                }
            ),
            "area_name": self.area_name,
            "issued_on": self.issued_on.isoformat(),
            "number": self.number,
            "summary": self.summary,
            "introduction": self.introduction,
            "prose": dict(self.prose),
            "channels": [_channel_to_json(c) for c in self.channels],
            "airtime": self.airtime.to_json() if self.airtime is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportData:
        org = data["organisation"]
        topic = data.get("topic")
        return cls(
            period=Period.from_json(data["period"]),
            organisation=Organisation(
                parent_name=org["parent_name"],
                name=org["name"],
                place=org["place"],
                short_code=org.get("short_code", ""),
                prose_name=org.get("prose_name", "Đơn vị"),
                signer_title=org.get("signer_title", "GIÁM ĐỐC"),
                signer_name=org.get("signer_name", ""),
                recipients=tuple(org.get("recipients", ())),
            ),
            topic=None
            if topic is None
            else Topic(topic["code"], topic["name"], topic.get("abbreviation", "")),
            area_name=data.get("area_name", ""),
            channels=tuple(_channel_from_json(c) for c in data["channels"]),
            issued_on=date.fromisoformat(data["issued_on"]),
            number=data.get("number", ""),
            summary=data.get("summary", ""),
            introduction=data.get("introduction", ""),
            prose=dict(data.get("prose", {})),
            airtime=Airtime.from_json(data["airtime"]) if data.get("airtime") else None,
        )


def _channel_to_json(c: ChannelSection) -> dict[str, Any]:
    return {
        "key": c.key,
        "title": c.title,
        "figures": [
            {
                "key": f.key,
                "label": f.label,
                "value": f.value,
                "unit": f.unit,
                "row_ids": list(f.row_ids),
                "source": f.source,
            }
            for f in c.figures
        ],
        "columns": [{"key": k.key, "label": k.label, "kind": k.kind, "width": k.width} for k in c.columns],
        "rows": [{"id": r.id, "cells": dict(r.cells)} for r in c.rows],
    }


def _channel_from_json(c: Mapping[str, Any]) -> ChannelSection:
    return ChannelSection(
        key=c["key"],
        title=c["title"],
        figures=tuple(
            Figure(
                f["key"],
                f["label"],
                int(f["value"]),
                f["unit"],
                tuple(_row_id(i) for i in f.get("row_ids", ())),
                f.get("source", ""),
            )
            for f in c["figures"]
        ),
        columns=tuple(
            Column(k["key"], k["label"], k.get("kind", "text"), k.get("width", 16)) for k in c["columns"]
        ),
        rows=tuple(DetailRow(_row_id(r["id"]), dict(r["cells"])) for r in c["rows"]),
    )


def _row_id(raw: object) -> int | str:
    return raw if isinstance(raw, str) and not raw.isdigit() else int(str(raw))


def figure_from_rows(
    key: str, label: str, unit: str, rows: Sequence[DetailRow], *, quantity_key: str | None = None
) -> Figure:
    """A figure counted from rows: their number, or the sum of a quantity cell."""
    value = len(rows) if quantity_key is None else sum(int(r.cells.get(quantity_key) or 0) for r in rows)
    return Figure(key, label, value, unit, tuple(r.id for r in rows))

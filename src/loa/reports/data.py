"""The value object a report is made from: period, organisation, topic, prose, and per-channel figures,
each figure carrying the ids of the detail rows behind it. Pure: no database, no I/O.

A ``ReportData`` round-trips through JSON (``to_json``/``from_json``): that JSON is the snapshot saved
with every generated report, so a document can always be traced to (and rebuilt from) its data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loa.reports.airdata import Airtime
from loa.reports.assessment import Comparison
from loa.vocab.cells import CellValue, Column
from loa.vocab.period import Period

# 2: figure sources, system rows ("TB12"), broadcasts; 3: the plan due, plays outside the plan,
# former units' records apart; 4: programmes' composition as aired and as planned, the content
# bullets and the assessment of section I with the comparison it was drafted from
SNAPSHOT_VERSION = 4


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
class FormerArea:
    """The records of a former unit (a former district's own, an old commune split in several) that
    the report's commune came out of together with other communes: shown apart, as that unit's, and
    never added to the report's figures (``loa.reports.lineage``)."""

    name: str
    became: tuple[str, ...]  # the communes it became, the report's among them
    channels: tuple[ChannelSection, ...]

    @property
    def became_text(self) -> str:
        names = list(self.became)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} và {names[-1]}"

    @property
    def is_empty(self) -> bool:
        return all(c.is_empty for c in self.channels)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "became": list(self.became),
            "channels": [_channel_to_json(c) for c in self.channels],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FormerArea:
        return cls(d["name"], tuple(d.get("became", ())), tuple(_channel_from_json(c) for c in d["channels"]))


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
    former: tuple[FormerArea, ...] = ()  # former units' records, shown apart from the figures
    contents: str = ""  # section I: the main contents put across, one per line (written by people)
    assessment: str = ""  # section I, "Đánh giá chung": the text signed (the draft, or as edited)
    assessment_drafted: bool = False  # the text is the draft, unedited
    comparison: Comparison | None = None  # the figures the draft compared

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
            "former": [f.to_json() for f in self.former],
            "contents": self.contents,
            "assessment": self.assessment,
            "assessment_drafted": self.assessment_drafted,
            "comparison": self.comparison.to_json() if self.comparison is not None else None,
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
            former=tuple(FormerArea.from_json(f) for f in data.get("former", ())),
            contents=data.get("contents", ""),
            assessment=data.get("assessment", ""),
            assessment_drafted=bool(data.get("assessment_drafted", False)),
            comparison=Comparison.from_json(data["comparison"]) if data.get("comparison") else None,
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

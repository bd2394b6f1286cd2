"""Broadcasts as a report keeps them (part of its ``ReportData`` snapshot): by commune, by commune
and day, and by programme — played receipts (the evidence) beside the plan. Pure: no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class AirtimeRow:
    """One commune (``day`` empty) or one commune-day, as the report keeps it. ``scheduled``: the plan
    of the period (kế hoạch); ``due``: the part of it whose time had come; ``played``: every played
    receipt; ``extra``: those of them outside the plan (play now, emergency)."""

    commune_id: int | None
    commune: str
    former_district: str
    day: date | None
    scheduled: int
    played: int
    preempted: int
    failed: int
    played_ms: int
    due: int = 0
    extra: int = 0

    @property
    def hours(self) -> float:
        return self.played_ms / 3_600_000

    @property
    def in_plan(self) -> int:
        """Played broadcasts of items the plan named."""
        return self.played - self.extra

    @property
    def played_percent(self) -> float | None:
        """The share of the plan due that was played; plays outside the plan are not in it."""
        return None if self.due == 0 else 100.0 * self.in_plan / self.due

    def to_json(self) -> dict[str, Any]:
        return {
            "commune_id": self.commune_id,
            "commune": self.commune,
            "former_district": self.former_district,
            "day": self.day.isoformat() if self.day else None,
            "scheduled": self.scheduled,
            "due": self.due,
            "played": self.played,
            "extra": self.extra,
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
            int(d.get("due", d.get("scheduled", 0))),  # before version 3 the plan was all due
            int(d.get("extra", 0)),
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
        sum(r.due for r in listed),
        sum(r.extra for r in listed),
    )


# A programme's composition: per kind ("news", "article", … as ``BulletinKind`` values) the fewest and
# the most items of that kind in one airing, for the kinds some airing had.
MixRange = tuple[tuple[str, int, int], ...]


def mix_ranges(mixes: Sequence[Sequence[int]], kinds: Sequence[str]) -> MixRange:
    """``mixes``: per airing, its counts in the order of ``kinds``."""
    if not mixes:
        return ()
    out = []
    for i, kind in enumerate(kinds):
        counts = [m[i] for m in mixes]
        if max(counts):
            out.append((kind, min(counts), max(counts)))
    return tuple(out)


def _mix_from_json(raw: object) -> MixRange:
    if not isinstance(raw, list | tuple):
        return ()
    return tuple((str(k), int(lo), int(hi)) for k, lo, hi in raw)


@dataclass(frozen=True)
class ProgrammeRow:
    """A programme (chuyên mục) of the area: its airings in the period, scheduled and played, and its
    composition: ``aired_mix`` over the airings that aired, counting the lines a cluster played to
    their end (the evidence); ``planned_mix`` over every airing of the plan (its running orders)."""

    programme_id: int
    name: str
    schedule: str  # "Thứ Hai tuần thứ 3 hằng tháng, 07:00"
    area: str
    scheduled_airings: int
    played_airings: int
    scheduled: int
    played: int
    aired_mix: MixRange = ()
    planned_mix: MixRange = ()
    clusters_played: int = 0  # coverage: clusters that played an airing, summed over the due airings
    clusters_aimed: int = 0  # the clusters those airings aimed at
    due_airings: int = 0  # airings of the plan whose time had come by the report's moment

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
            "aired_mix": [list(m) for m in self.aired_mix],
            "planned_mix": [list(m) for m in self.planned_mix],
            "clusters_played": self.clusters_played,
            "clusters_aimed": self.clusters_aimed,
            "due_airings": self.due_airings,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ProgrammeRow:
        planned = _mix_from_json(d.get("planned_mix"))
        if "planned_mix" not in d:  # before version 4: news and articles per airing of the plan
            old = (("news", d.get("news", (0, 0))), ("article", d.get("articles", (0, 0))))
            planned = tuple((k, int(lo), int(hi)) for k, (lo, hi) in old if int(hi))
        return cls(
            int(d["programme_id"]),
            d["name"],
            d.get("schedule", ""),
            d.get("area", ""),
            int(d.get("scheduled_airings", 0)),
            int(d.get("played_airings", 0)),
            int(d.get("scheduled", 0)),
            int(d.get("played", 0)),
            _mix_from_json(d.get("aired_mix")),
            planned,
            int(d.get("clusters_played", 0)),
            int(d.get("clusters_aimed", 0)),
            int(d.get("due_airings", d.get("scheduled_airings", 0))),
        )


@dataclass(frozen=True)
class Airtime:
    """Broadcasts of the report's area: by commune, by commune and day (the XLSX detail: a year of
    receipts is too many to list one per row), and by programme. ``receipts``: any receipt exists."""

    communes: tuple[AirtimeRow, ...] = ()
    days: tuple[AirtimeRow, ...] = ()
    programmes: tuple[ProgrammeRow, ...] = ()
    receipts: bool = False
    as_of: datetime | None = None  # the report's moment: evidence up to it, the plan after it not due
    future_receipts: int = 0  # receipts dated after ``as_of`` (a clock ahead): left out

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
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "future_receipts": self.future_receipts,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Airtime:
        return cls(
            tuple(AirtimeRow.from_json(r) for r in d.get("communes", ())),
            tuple(AirtimeRow.from_json(r) for r in d.get("days", ())),
            tuple(ProgrammeRow.from_json(p) for p in d.get("programmes", ())),
            bool(d.get("receipts", False)),
            datetime.fromisoformat(d["as_of"]) if d.get("as_of") else None,
            int(d.get("future_receipts", 0)),
        )

"""Conflicts found *while scheduling*: after a change is flushed (not committed), compile the airings it
touches for the devices it reaches and report every same-priority overlap involving it, with the
compiler's proposal. Nothing is resolved silently: the caller refuses the change (409) unless the
operator explicitly keeps the overlap or applies the proposals.

An airing without content yet occupies its whole slot here (a placeholder), so an empty programme
scheduled on top of another one is caught when it is created, not when content arrives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from loa.errors import Conflict, InvalidInput
from loa.schedule.compiler import MAX_WINDOW, Window, compile_manifests
from loa.schedule.conflicts import Conflict as ScheduleConflict
from loa.schedule.conflicts import format_local_vi
from loa.schedule.dbsnapshot import load_snapshot
from loa.schedule.snapshot import AudioRef, Entry, Snapshot

PLACEHOLDER = AudioRef("/placeholder", 1, "0" * 64, 1)
MAX_CHECKED_AIRINGS = 31  # a month of a daily programme


class Accept(StrEnum):
    KEEP = "keep"  # keep both: equal priority plays one after the other on the device
    PROPOSAL = "proposal"  # apply the proposed shifts


def parse_accept(raw: str | None) -> Accept | None:
    if raw in (None, ""):
        return None
    try:
        return Accept(str(raw))
    except ValueError as err:
        raise InvalidInput(
            "Cách xử lý trùng lịch không hợp lệ (keep: giữ nguyên, proposal: áp dụng đề xuất).",
            code="accept_invalid",
        ) from err


@dataclass(frozen=True)
class Subject:
    """What was just changed: programme and announcement ids (database ids) and the UTC spans to check."""

    programmes: frozenset[int] = frozenset()
    announcements: frozenset[int] = frozenset()
    spans: tuple[tuple[datetime, datetime], ...] = ()

    def owns(self, block_id: str) -> bool:
        if block_id.startswith("a:"):
            ident = block_id[2:].split("-", 1)[0]
            return ident.isdigit() and int(ident) in self.announcements
        ident = block_id.split("@", 1)[0]
        return ident.isdigit() and int(ident) in self.programmes


def merge_spans(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Spans merged into as few compiler windows (at most 14 days each) as possible."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if out and max(end, out[-1][1]) - out[-1][0] <= MAX_WINDOW:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, min(end, start + MAX_WINDOW)))
    return out


def _with_placeholders(snapshot: Snapshot) -> Snapshot:
    def fill(entries: tuple[Entry, ...], slot_ms: int) -> tuple[Entry, ...]:
        if entries:
            return entries
        return (
            Entry("placeholder", "(chưa có nội dung)", dataclasses.replace(PLACEHOLDER, duration_ms=slot_ms)),
        )

    slot_of = {p.id: p.slot_duration_ms for p in snapshot.programmes}
    return dataclasses.replace(
        snapshot,
        programmes=tuple(
            dataclasses.replace(p, running_order=fill(p.running_order, p.slot_duration_ms))
            for p in snapshot.programmes
        ),
        episodes=tuple(
            dataclasses.replace(e, running_order=fill(e.running_order, slot_of.get(e.programme_id, 1)))
            for e in snapshot.episodes
        ),
    )


def _reached(snapshot: Snapshot, subject: Subject) -> Snapshot:
    tokens = {
        t
        for p in snapshot.programmes
        if p.id.isdigit() and int(p.id) in subject.programmes
        for t in p.targets
    }
    tokens |= {t for a in snapshot.announcements if subject.owns(f"a:{a.id}") for t in a.targets}
    devices = tuple(d for d in snapshot.devices if tokens.intersection(d.tokens()))
    return dataclasses.replace(snapshot, devices=devices)


def find(session: Session, subject: Subject, *, now: datetime) -> list[ScheduleConflict]:
    """Same-priority conflicts that involve the subject, on the devices it reaches."""
    found: dict[tuple[str, str], ScheduleConflict] = {}
    for start, end in merge_spans(subject.spans[:MAX_CHECKED_AIRINGS]):
        window = Window(start, end)
        loaded = load_snapshot(session, start_at=window.start_at, end_at=window.end_at)
        snapshot = _reached(_with_placeholders(loaded.snapshot), subject)
        if not snapshot.devices:
            continue
        compilation = compile_manifests(snapshot, window=window, generated_at=now)
        for c in compilation.conflicts:
            if any(subject.owns(b.id) for b in c.items):
                found.setdefault((c.items[0].id, c.items[1].id), c)
    return sorted(found.values(), key=lambda c: (c.items[1].start_at, c.items[0].id))


def describe(conflicts: Sequence[ScheduleConflict]) -> list[dict[str, Any]]:
    """For the API and the page: the message, both items, devices and the proposal."""
    return [
        {
            "message": c.message,
            "overlap_ms": c.overlap_ms,
            "devices": list(c.devices[:50]),
            "device_count": len(c.devices),
            "items": [
                {
                    "block_id": b.id,
                    "title": b.title,
                    "start_at": b.start_at.isoformat(),
                    "end_at": b.end_at.isoformat(),
                    "priority": b.priority,
                }
                for b in c.items
            ],
            "proposed_resolution": {
                "action": c.proposed_resolution.action,
                "block_id": c.proposed_resolution.block_id,
                "new_start_at": c.proposed_resolution.new_start_at.isoformat(),
                "new_start_local": format_local_vi(c.proposed_resolution.new_start_at),
                "message": c.proposed_resolution.message,
            },
        }
        for c in conflicts
    ]


def refuse(conflicts: Sequence[ScheduleConflict]) -> Conflict:
    n = len(conflicts)
    first = conflicts[0].message
    more = f" (và {n - 1} trường hợp trùng lịch khác)" if n > 1 else ""
    return Conflict(
        f"Lịch bị trùng với nội dung cùng mức ưu tiên: {first}{more} Chưa lưu gì. Hãy chọn áp dụng đề xuất, "
        "giữ nguyên (phát lần lượt) hoặc đổi giờ.",
        code="schedule_conflict",
        details={"conflicts": describe(conflicts), "accept": [a.value for a in Accept]},
    )

"""Scheduling conflicts, found before anything reaches a loudspeaker.

Pre-emption settles *different* priorities on the device. Two things of the *same* priority at the
same time on one device are a human decision, so they are reported here with a proposal (move the later
one to after the earlier ends) instead of being settled silently. A running order longer than its slot
is a warning with the overrun in minutes: the device cuts the slot at its end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from loa.schedule.playout import PlayoutItem, format_duration_vi
from loa.schedule.recurrence import VIETNAM_TZ, to_local
from loa.vocab.ladder import rung_of

_MS = timedelta(milliseconds=1)


def format_local_vi(at: datetime, timezone: str = VIETNAM_TZ) -> str:
    """``07:00 ngày 16/01/2023`` (Vietnam time)."""
    return to_local(at, timezone).strftime("%H:%M ngày %d/%m/%Y")


@dataclass(frozen=True)
class Block:
    """Something that occupies a loudspeaker: one airing of a programme, or one announcement."""

    id: str
    title: str
    start_at: datetime
    end_at: datetime
    priority: int


@dataclass(frozen=True)
class ProposedResolution:
    action: str  # "shift": move ``block_id`` to ``new_start_at``
    block_id: str
    new_start_at: datetime

    @property
    def message(self) -> str:
        return f"Đề xuất: dời sang {format_local_vi(self.new_start_at)}."


@dataclass(frozen=True)
class Conflict:
    items: tuple[Block, Block]  # earlier first
    devices: tuple[str, ...]
    overlap_ms: int
    proposed_resolution: ProposedResolution

    def with_devices(self, devices: Iterable[str]) -> Conflict:
        return replace(self, devices=tuple(sorted(devices)))

    @property
    def message(self) -> str:
        a, b = self.items
        rung = rung_of(a.priority).label
        where = f"{len(self.devices)} thiết bị" if len(self.devices) != 1 else f"thiết bị {self.devices[0]}"
        return (
            f"«{a.title}» và «{b.title}» cùng mức {rung} bị trùng giờ {format_duration_vi(self.overlap_ms)} "
            f"(từ {format_local_vi(b.start_at)}) trên {where}. Đề xuất: dời «{b.title}» sang "
            f"{format_local_vi(self.proposed_resolution.new_start_at)}, sau khi «{a.title}» kết thúc."
        )


def find_conflicts(blocks: Sequence[Block], devices: Sequence[str] = ()) -> list[Conflict]:
    """Same-priority overlaps among the blocks of one device (or of devices receiving the same blocks)."""
    ordered = sorted(blocks, key=lambda b: (b.start_at, b.id))
    active: list[Block] = []
    out: list[Conflict] = []
    for block in ordered:
        active = [a for a in active if a.end_at > block.start_at]
        for earlier in active:
            if earlier.priority == block.priority:
                overlap = min(earlier.end_at, block.end_at) - block.start_at
                out.append(
                    Conflict(
                        items=(earlier, block),
                        devices=tuple(sorted(devices)),
                        overlap_ms=overlap // _MS,
                        proposed_resolution=ProposedResolution("shift", block.id, earlier.end_at),
                    )
                )
        active.append(block)
    return out


def merge_conflicts(conflicts: Iterable[Conflict]) -> list[Conflict]:
    """One conflict per pair of blocks, listing every device where it happens."""
    merged: dict[tuple[str, str], Conflict] = {}
    devices: dict[tuple[str, str], set[str]] = {}
    for c in conflicts:
        key = (c.items[0].id, c.items[1].id)
        merged.setdefault(key, c)
        devices.setdefault(key, set()).update(c.devices)
    out = [replace(c, devices=tuple(sorted(devices[k]))) for k, c in merged.items()]
    return sorted(out, key=lambda c: (c.items[1].start_at, c.items[0].id, c.items[1].id))


def blocks_from_items(items: Sequence[PlayoutItem]) -> list[Block]:
    return [Block(i.id, i.title or i.id, i.start_at, i.end_at, i.priority) for i in items]


@dataclass(frozen=True)
class OverfullSlot:
    """A running order longer than its slot. ``dropped`` never start; ``cut`` is stopped at the slot end."""

    programme_id: str
    title: str
    airing_at: datetime
    slot_ms: int
    running_ms: int
    cut: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    def with_devices(self, devices: Iterable[str]) -> OverfullSlot:
        return replace(self, devices=tuple(sorted(devices)))

    @property
    def overrun_ms(self) -> int:
        return self.running_ms - self.slot_ms

    @property
    def overrun_minutes(self) -> int:
        return math.ceil(self.overrun_ms / 60_000)

    @property
    def message(self) -> str:
        text = (
            f"Khung giờ «{self.title}» lúc {format_local_vi(self.airing_at)} dài "
            f"{format_duration_vi(self.slot_ms)} nhưng danh mục phát dài "
            f"{format_duration_vi(self.running_ms)}, vượt {self.overrun_minutes} phút."
        )
        if self.cut:
            text += " Bị cắt ở cuối khung giờ: " + ", ".join(f"«{t}»" for t in self.cut) + "."
        if self.dropped:
            text += " Sẽ không được phát: " + ", ".join(f"«{t}»" for t in self.dropped) + "."
        return text


def check_slot(
    programme_id: str,
    title: str,
    airing_at: datetime,
    slot_ms: int,
    running_order: Sequence[tuple[str, int]],
    devices: Sequence[str] = (),
) -> OverfullSlot | None:
    """``running_order`` is (title, duration_ms) in order; None when it fits in the slot."""
    running_ms = sum(ms for _, ms in running_order)
    if running_ms <= slot_ms:
        return None
    cut, dropped, cursor = [], [], 0
    for item_title, ms in running_order:
        if cursor >= slot_ms:
            dropped.append(item_title)
        elif cursor + ms > slot_ms:
            cut.append(item_title)
        cursor += ms
    return OverfullSlot(
        programme_id,
        title,
        airing_at,
        slot_ms,
        running_ms,
        tuple(cut),
        tuple(dropped),
        tuple(sorted(devices)),
    )


def merge_overfull(warnings: Iterable[OverfullSlot]) -> list[OverfullSlot]:
    merged: dict[tuple[object, ...], OverfullSlot] = {}
    devices: dict[tuple[object, ...], set[str]] = {}
    for w in warnings:
        key = (w.programme_id, w.airing_at, w.running_ms, w.cut, w.dropped)
        merged.setdefault(key, w)
        devices.setdefault(key, set()).update(w.devices)
    out = [replace(w, devices=tuple(sorted(devices[k]))) for k, w in merged.items()]
    return sorted(out, key=lambda w: (w.airing_at, w.programme_id, w.running_ms))

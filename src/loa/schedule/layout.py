"""Targeting and layout: from a snapshot to the manifest items of one *target set*.

A device's key is the set of selectors that reach it (``P|programme``, ``A|announcement`` and
``E|programme|airing|index`` for running-order lines aimed at part of a programme's audience). Devices
with equal keys receive identical items, so each key is laid out once; within a key, every airing's
layout and every item's canonical bytes are cached and shared with other keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from loa.protocol import itemids
from loa.protocol.manifest import (
    AudioKind,
    AudioSource,
    ManifestItem,
    SmallerAudio,
    content_hash_of,
    item_bytes,
    item_order,
    join_items_bytes,
)
from loa.schedule.conflicts import Block, Conflict, OverfullSlot, check_slot, find_conflicts, format_local_vi
from loa.schedule.recurrence import occurrences, resolve_timezone, to_local
from loa.schedule.snapshot import Announcement, AudioRef, Entry, Programme, Snapshot, Target
from loa.vocab.ladder import LADDER, Priority

_MS = timedelta(milliseconds=1)
FALLBACK_TAG = "fallback"  # the running-order tag of a programme's fallback playlist
FALLBACK_PRIORITY = Priority.BACKGROUND
FALLBACK_PREEMPT = LADDER[Priority.BACKGROUND].default_preempt_rule


@dataclass(frozen=True)
class Notice:
    """A warning for people that is neither a conflict nor an overfull slot."""

    code: str
    message: str  # Vietnamese
    subject_id: str


@dataclass(frozen=True)
class KeyResult:
    """Everything compiled for one target set; shared by every device with that key."""

    items: tuple[ManifestItem, ...]
    items_json: bytes
    content_hash: str
    sources: frozenset[str]  # P|… and A|… selectors it was compiled from
    conflicts: tuple[Conflict, ...]
    overfull: tuple[OverfullSlot, ...]


@dataclass(frozen=True)
class _Layout:
    items: tuple[tuple[ManifestItem, bytes], ...]  # only those overlapping the window
    block: Block | None
    overfull: OverfullSlot | None


def _audio(ref: AudioRef) -> AudioSource:
    smaller = SmallerAudio(sha256=ref.smaller[0], size_bytes=ref.smaller[1]) if ref.smaller else None
    return AudioSource(
        kind=ref.kind, url=ref.url, sha256=ref.sha256, size_bytes=ref.size_bytes, smaller=smaller
    )


class Engine:
    """One snapshot and window, with caches that survive into the next incremental recompilation."""

    def __init__(
        self, snapshot: Snapshot, start_at: datetime, end_at: datetime, *, previous: Engine | None = None
    ) -> None:
        self.snapshot, self.start_at, self.end_at = snapshot, start_at, end_at
        self.zone = resolve_timezone(snapshot.timezone)
        self.programmes = {p.id: p for p in snapshot.programmes}
        self.announcements = {a.id: a for a in snapshot.announcements}
        self.episodes = {(e.programme_id, e.airing_local): e for e in snapshot.episodes}
        self.devices = {d.device_id: d for d in snapshot.devices}
        self.episode_times: dict[str, list[datetime]] = defaultdict(list)
        for e in snapshot.episodes:
            self.episode_times[e.programme_id].append(e.airing_local)
        self.index: dict[Target, list[str]] = defaultdict(list)
        self.token_devices: dict[Target, list[str]] = defaultdict(list)
        self.device_tokens: dict[str, tuple[Target, ...]] = {}
        for d in snapshot.devices:
            before = previous.devices.get(d.device_id) if previous is not None else None
            if previous is not None and (before is d or before == d):
                self.device_tokens[d.device_id] = previous.device_tokens[d.device_id]
            else:
                self.device_tokens[d.device_id] = d.tokens()
        for device_id, tokens in self.device_tokens.items():
            for token in tokens:
                self.token_devices[token].append(device_id)
        for p in snapshot.programmes:
            for t in p.targets:
                self.index[t].append(f"P|{p.id}")
            self._index_entries(p.id, "default", p.running_order)
            self._index_entries(p.id, FALLBACK_TAG, p.fallback)
        for e in snapshot.episodes:
            self._index_entries(e.programme_id, e.airing_local.isoformat(), e.running_order)
        for a in snapshot.announcements:
            for t in a.targets:
                self.index[t].append(f"A|{a.id}")
        self._airings: dict[str, tuple[datetime, ...]] = {}
        self._layouts: dict[tuple[str, datetime, bool, tuple[int, ...]], _Layout] = {}
        self._announcement_layouts: dict[str, _Layout] = {}
        self._entry_selectors: dict[tuple[str, str], tuple[str | None, ...]] = {}

    def _index_entries(self, programme_id: str, tag: str, running_order: tuple[Entry, ...]) -> None:
        for i, entry in enumerate(running_order):
            for t in entry.targets:
                self.index[t].append(f"E|{programme_id}|{tag}|{i}")

    def derive(
        self, snapshot: Snapshot, *, programmes: Iterable[str], announcements: Iterable[str]
    ) -> Engine:
        """A new engine for a changed snapshot, keeping the caches of everything that did not change."""
        new = Engine(snapshot, self.start_at, self.end_at, previous=self)
        dirty_p, dirty_a = set(programmes), set(announcements)
        new._airings = {k: v for k, v in self._airings.items() if k not in dirty_p}
        new._layouts = {k: v for k, v in self._layouts.items() if k[0] not in dirty_p}
        new._announcement_layouts = {k: v for k, v in self._announcement_layouts.items() if k not in dirty_a}
        return new

    def key_of(self, device_id: str) -> frozenset[str]:
        out: set[str] = set()
        for token in self.device_tokens[device_id]:
            out.update(self.index.get(token, ()))
        return frozenset(out)

    def devices_reached(self, programmes: Iterable[str], announcements: Iterable[str]) -> set[str]:
        targets: set[Target] = set()
        for pid in programmes:
            if pid in self.programmes:
                targets.update(self.programmes[pid].targets)
        for aid in announcements:
            if aid in self.announcements:
                targets.update(self.announcements[aid].targets)
        return {d for t in targets for d in self.token_devices.get(t, ())}

    # --- expansion and layout ---

    def airings(self, programme: Programme) -> tuple[datetime, ...]:
        cached = self._airings.get(programme.id)
        if cached is None:
            lead = programme.slot_duration_ms * _MS
            cached = tuple(
                occurrences(
                    programme.recurrence,
                    self.start_at - lead,
                    self.end_at,
                    holidays=self.snapshot.extra_holidays,
                )
            )
            self._airings[programme.id] = cached
        return cached

    def _running_order(self, programme: Programme, airing_at: datetime) -> tuple[str, tuple[Entry, ...]]:
        local = to_local(airing_at, programme.recurrence.timezone)
        episode = self.episodes.get((programme.id, local))
        if episode is not None:
            return local.isoformat(), episode.running_order
        return "default", programme.running_order

    def _variant(
        self, programme_id: str, tag: str, running_order: tuple[Entry, ...], key: frozenset[str]
    ) -> tuple[int, ...]:
        """The lines of ``running_order`` that reach the devices of ``key``."""
        selectors = self._entry_selectors.get((programme_id, tag))
        if selectors is None:
            selectors = self._entry_selectors[(programme_id, tag)] = tuple(
                f"E|{programme_id}|{tag}|{i}" if e.targets else None for i, e in enumerate(running_order)
            )
        return tuple(i for i, sel in enumerate(selectors) if sel is None or sel in key)

    def _layout(self, programme: Programme, airing_at: datetime, key: frozenset[str]) -> _Layout:
        tag, running_order = self._running_order(programme, airing_at)
        variant = self._variant(programme.id, tag, running_order, key)
        fallback = not variant and bool(programme.fallback)
        if fallback:
            running_order = programme.fallback
            variant = self._variant(programme.id, FALLBACK_TAG, running_order, key)
        cache_key = (programme.id, airing_at, fallback, variant)
        cached = self._layouts.get(cache_key)
        if cached is None:
            cached = self._layouts[cache_key] = self._lay_out(
                programme, airing_at, running_order, variant, fallback=fallback
            )
        return cached

    def _lay_out(
        self,
        p: Programme,
        airing_at: datetime,
        running_order: tuple[Entry, ...],
        variant: tuple[int, ...],
        *,
        fallback: bool = False,
    ) -> _Layout:
        """One airing's items. A fallback playlist sits at the background rung with its own item ids,
        is cut at the slot end without an overfull warning, and is no block: it never conflicts."""
        slot_ms = p.slot_duration_ms
        slot_end = airing_at + slot_ms * _MS
        make_id = itemids.fallback_item if fallback else itemids.programme_item
        priority, preempt = (
            (FALLBACK_PRIORITY, FALLBACK_PREEMPT) if fallback else (p.priority, p.preempt_rule)
        )
        cursor_ms, placed, lines = 0, [], []
        seen: dict[str, int] = defaultdict(int)
        for i in variant:
            entry = running_order[i]
            if entry.audio.kind is AudioKind.STREAM:
                duration = max(slot_ms - cursor_ms, 0)
            else:
                duration = entry.audio.duration_ms or 0
            lines.append((entry.title, duration))
            if cursor_ms < slot_ms and duration > 0:
                dup = seen[entry.bulletin_id]
                seen[entry.bulletin_id] += 1
                start = airing_at + cursor_ms * _MS
                item = ManifestItem(
                    id=make_id(p.id, airing_at, entry.bulletin_id, dup),
                    title=entry.title,
                    source_id=p.id,
                    bulletin_id=entry.bulletin_id,
                    start_at=start,
                    start_local=start.astimezone(self.zone).isoformat(timespec="milliseconds"),
                    duration_ms=duration,
                    not_after_at=slot_end,
                    priority=priority,
                    preempt_rule=preempt,
                    volume_percent=entry.volume_percent
                    if entry.volume_percent is not None
                    else p.volume_percent,
                    audio=_audio(entry.audio),
                )
                placed.append(item)
            cursor_ms += duration
        in_window = tuple((it, item_bytes(it)) for it in placed if self._overlaps(it))
        block = None
        if in_window and not fallback:
            occupied = min(cursor_ms, slot_ms)
            block = Block(
                f"{p.id}@{airing_at:%Y%m%dT%H%MZ}", p.title, airing_at, airing_at + occupied * _MS, p.priority
            )
        overfull = (
            check_slot(p.id, p.title, airing_at, slot_ms, lines) if in_window and not fallback else None
        )
        return _Layout(in_window, block, overfull)

    def _overlaps(self, item: ManifestItem) -> bool:
        return item.start_at < self.end_at and item.start_at + item.duration_ms * _MS > self.start_at

    def _announcement(self, a: Announcement) -> _Layout:
        cached = self._announcement_layouts.get(a.id)
        if cached is None:
            duration = a.audio.duration_ms or 0
            item = ManifestItem(
                id=a.item_id or itemids.announcement_item(a.id),
                title=a.title,
                source_id=a.id,
                bulletin_id=a.bulletin_id,
                start_at=a.start_at,
                start_local=a.start_at.astimezone(self.zone).isoformat(timespec="milliseconds"),
                duration_ms=duration,
                not_after_at=a.not_after_at,
                priority=a.priority,
                preempt_rule=a.preempt_rule,
                volume_percent=a.volume_percent,
                audio=_audio(a.audio),
            )
            if self._overlaps(item):
                block = Block(f"a:{a.id}", a.title, item.start_at, item.start_at + duration * _MS, a.priority)
                cached = _Layout(((item, item_bytes(item)),), block, None)
            else:
                cached = _Layout((), None, None)
            self._announcement_layouts[a.id] = cached
        return cached

    def compile_key(self, key: frozenset[str]) -> KeyResult:
        layouts: list[_Layout] = []
        sources: set[str] = set()
        for selector in key:
            kind, _, ident = selector.partition("|")
            if kind == "P":
                programme = self.programmes[ident]
                sources.add(selector)
                layouts.extend(self._layout(programme, at, key) for at in self.airings(programme))
            elif kind == "A":
                sources.add(selector)
                layouts.append(self._announcement(self.announcements[ident]))
        pairs = sorted((pair for lay in layouts for pair in lay.items), key=lambda pair: item_order(pair[0]))
        items_json = join_items_bytes(raw for _, raw in pairs)
        blocks = [lay.block for lay in layouts if lay.block is not None]
        return KeyResult(
            items=tuple(item for item, _ in pairs),
            items_json=items_json,
            content_hash=content_hash_of(items_json),
            sources=frozenset(sources),
            conflicts=tuple(find_conflicts(blocks)),
            overfull=tuple(lay.overfull for lay in layouts if lay.overfull is not None),
        )

    # --- warnings for people ---

    def notices(self) -> tuple[Notice, ...]:
        out: list[Notice] = []
        sources: list[tuple[str, str, tuple[Target, ...]]] = [
            *((p.id, f"Chương trình «{p.title}»", p.targets) for p in self.snapshot.programmes),
            *((a.id, f"Thông báo «{a.title}»", a.targets) for a in self.snapshot.announcements),
        ]
        for ident, name, targets in sources:
            if not any(self.token_devices.get(t) for t in targets):
                where = ", ".join(t.label_vi() for t in targets)
                out.append(
                    Notice(
                        "target_no_device", f"{name} chưa có thiết bị nào nhận (nơi phát: {where}).", ident
                    )
                )
        for p in self.snapshot.programmes:
            airings = self.airings(p)
            empty = [at for at in airings if not self._running_order(p, at)[1]]
            if empty:
                instead = (
                    ": sẽ phát danh mục dự phòng (mức nền, không ngắt nội dung nào)." if p.fallback else "."
                )
                out.append(
                    Notice(
                        "slot_empty",
                        f"Chương trình «{p.title}» có buổi phát lúc {format_local_vi(empty[0])} "
                        f"nhưng chưa có nội dung{instead}",
                        p.id,
                    )
                )
            local_airings = {to_local(at, p.recurrence.timezone) for at in airings}
            window_local = (
                to_local(self.start_at, p.recurrence.timezone),
                to_local(self.end_at, p.recurrence.timezone),
            )
            for local in self.episode_times.get(p.id, ()):
                if window_local[0] <= local < window_local[1] and local not in local_airings:
                    out.append(
                        Notice(
                            "episode_unmatched",
                            f"Nội dung buổi phát {local:%H:%M ngày %d/%m/%Y} của «{p.title}» không khớp "
                            "với lịch lặp lại nên sẽ không được phát.",
                            p.id,
                        )
                    )
        return tuple(out)

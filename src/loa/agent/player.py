"""Plays items on time from the local cache, following the priority ladder, online or not.

The plan is ``loa.protocol.timeline.resolve`` over every known item: the same pure function the server
uses to preview a day, so device and server agree on what pre-empted means. The plan is recomputed
whenever the items change (new manifest, "play now", "stop"); because ``resolve`` is causal, the past
of the plan does not move, and the segment covering *now* says what should sound and from where.

When an item's last segment is over, the player reports it once (``on_finished``), comparing the plan
with what really sounded: a missing file or a failing output makes it ``failed``, not ``played``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loa.agent.sinks import Segment, Sink, SinkError
from loa.agent.storage import AudioCache
from loa.protocol.messages import Outcome
from loa.protocol.priority import PreemptRule
from loa.protocol.timeline import Cue, Reason, Resolution, Status, resolve

log = logging.getLogger(__name__)

PARTIAL_TOLERANCE_MS = 400
IDLE_WAIT_S = 30.0
START_SLACK_MS = 250  # later than this, the item starts mid-file (we were busy or down)


@dataclass(frozen=True)
class PlayItem:
    id: str
    audio_sha256: str
    start_ms: int
    duration_ms: int
    priority: int
    preempt_rule: PreemptRule = PreemptRule.RESUME
    not_after_ms: int | None = None
    title: str | None = None
    url: str | None = None

    def cue(self) -> Cue:
        return Cue(
            id=self.id,
            start_ms=self.start_ms,
            duration_ms=self.duration_ms,
            priority=self.priority,
            preempt_rule=self.preempt_rule,
            not_after_ms=self.not_after_ms,
        )


@dataclass(frozen=True)
class Finished:
    item: PlayItem
    outcome: Outcome
    started_at: datetime
    ended_at: datetime
    detail: str | None = None


@dataclass
class _Actual:
    heard_ms: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    failure: str | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class Player:
    sink: Sink
    cache: AudioCache
    on_finished: Callable[[Finished], None]
    on_playing: Callable[[PlayItem | None], None] = lambda _item: None
    done_ids: set[str] = field(default_factory=set)
    volume: int = 70
    started_ms: int = field(default_factory=now_ms)
    _manifest_items: dict[str, PlayItem] = field(default_factory=dict)
    _extra_items: dict[str, PlayItem] = field(default_factory=dict)
    _stopped: set[str] = field(default_factory=set)
    _actual: dict[str, _Actual] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    playing: PlayItem | None = None

    # --- inputs --------------------------------------------------------------------------------

    def set_manifest_items(self, items: list[PlayItem]) -> None:
        self._manifest_items = {i.id: i for i in items}
        self._changed.set()

    def add_item(self, item: PlayItem) -> None:
        self._extra_items[item.id] = item
        self._changed.set()

    def stop_current(self) -> str | None:
        """Operator "stop": the sounding item gives up (reported as pre-empted by the operator)."""
        if self.playing is None:
            return None
        self._stopped.add(self.playing.id)
        self._changed.set()
        return self.playing.id

    def cancel_pending(self, item_ids: set[str]) -> None:
        """Drop added items that have not started (the next round of a repeated message after a
        stop); one that is sounding is left to ``stop_current``."""
        playing = self.playing.id if self.playing is not None else None
        for item_id in item_ids:
            if item_id != playing and item_id not in self.done_ids and item_id not in self._actual:
                self._extra_items.pop(item_id, None)
        self._changed.set()

    def set_volume(self, level: int) -> None:
        self.volume = level

    def items(self) -> dict[str, PlayItem]:
        return {**self._manifest_items, **self._extra_items}

    def needed_audio(self, horizon_ms: int | None = None) -> list[PlayItem]:
        """Items still to play, most urgent first (priority, then start)."""
        now = now_ms()
        todo = [
            i
            for i in self.items().values()
            if i.id not in self.done_ids
            and (i.not_after_ms is None or i.not_after_ms > now)
            and (horizon_ms is None or i.start_ms <= now + horizon_ms)
        ]
        return sorted(todo, key=lambda i: (-i.priority, i.start_ms, i.id))

    # --- the loop ------------------------------------------------------------------------------

    def plan(self) -> tuple[Resolution, dict[str, PlayItem]]:
        items = {k: v for k, v in self.items().items() if k not in self._stopped}
        return resolve([i.cue() for i in items.values()]), items

    async def run(self) -> None:
        while True:
            self._changed.clear()
            now = now_ms()
            resolution, items = self.plan()
            self._settle(resolution, items, now)
            current = next((s for s in resolution.segments if s.end_ms > now), None)
            if current is None or current.start_ms > now:
                self._set_playing(None)
                wait_s = IDLE_WAIT_S if current is None else (current.start_ms - now) / 1000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, wait_s))
                continue
            await self._play(items[current.item_id], current.start_ms, current.end_ms, current.offset_ms, now)

    async def _play(self, item: PlayItem, seg_start: int, seg_end: int, seg_offset: int, now: int) -> None:
        actual = self._actual.setdefault(item.id, _Actual())
        path = self.cache.path(item.audio_sha256)
        if path is None:
            actual.failure = actual.failure or "audio_missing"
            self._set_playing(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=(seg_end - now) / 1000)
            return
        self._set_playing(item)
        segment = Segment(
            item_id=item.id,
            audio_sha256=item.audio_sha256,
            path=path,
            offset_ms=seg_offset + (now - seg_start),
            duration_ms=seg_end - now,
            volume=self.volume,
            starts_item=seg_offset == 0 and actual.first_ms is None and now - seg_start < START_SLACK_MS,
        )
        task = asyncio.create_task(self.sink.play(segment))
        if actual.first_ms is None:
            actual.first_ms = now
        try:
            while True:
                changed = asyncio.create_task(self._changed.wait())
                done, _ = await asyncio.wait({task, changed}, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    changed.cancel()
                    break
                # The items changed: keep sounding if the plan still has this item to the same end.
                self._changed.clear()
                resolution, _ = self.plan()
                t = now_ms()
                still = next((s for s in resolution.segments if s.start_ms <= t < s.end_ms), None)
                if still is None or still.item_id != item.id or still.end_ms != seg_end:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    self._changed.set()  # replan at once in run()
                    break
            if task.done() and not task.cancelled() and task.exception() is not None:
                err = task.exception()
                actual.failure = f"sink: {err}"[:200] if isinstance(err, SinkError) else "sink_error"
                log.warning("output failed for %s: %s", item.id, err)
        finally:
            end = now_ms()
            actual.heard_ms += max(0, end - now)
            actual.last_ms = end

    def _set_playing(self, item: PlayItem | None) -> None:
        if (item.id if item else None) != (self.playing.id if self.playing else None):
            self.playing = item
            self.on_playing(item)

    # --- reports -------------------------------------------------------------------------------

    def _settle(self, resolution: Resolution, items: dict[str, PlayItem], now: int) -> None:
        last_end: dict[str, int] = {}
        for seg in resolution.segments:
            last_end[seg.item_id] = max(last_end.get(seg.item_id, 0), seg.end_ms)
        for outcome in resolution.outcomes:
            item = items[outcome.item_id]
            if item.id in self.done_ids:
                continue
            final = last_end.get(item.id, item.not_after_ms or item.start_ms)
            if final > now:
                continue
            self.done_ids.add(item.id)
            self.on_finished(self._report(item, outcome.status, outcome.reason, outcome.by_item_id))
        for item_id in list(self._stopped):
            if item_id not in self.done_ids and item_id in self.items():
                self.done_ids.add(item_id)
                item = self.items()[item_id]
                self.on_finished(self._report(item, Status.CUT, Reason.PREEMPTED, "operator_stop"))
        for item_id in [k for k in self._extra_items if k in self.done_ids]:
            del self._extra_items[item_id]

    def _report(self, item: PlayItem, status: Status, reason: Reason | None, by: str | None) -> Finished:
        actual = self._actual.pop(item.id, _Actual())
        started = _at(actual.first_ms if actual.first_ms is not None else item.start_ms)
        ended = _at(actual.last_ms if actual.last_ms is not None else now_ms())
        if actual.failure:
            return Finished(item, Outcome.FAILED, started, ended, actual.failure)
        if item.start_ms + item.duration_ms <= self.started_ms and actual.first_ms is None:
            return Finished(item, Outcome.FAILED, started, ended, "device_down")
        if status is Status.PLAYED:
            if actual.heard_ms + PARTIAL_TOLERANCE_MS < item.duration_ms:
                return Finished(item, Outcome.FAILED, started, ended, f"partial:{actual.heard_ms}ms")
            return Finished(item, Outcome.PLAYED, started, ended)
        if reason in (Reason.PREEMPTED, Reason.BUSY) or by:
            return Finished(item, Outcome.PREEMPTED, started, ended, f"by:{by}" if by else None)
        return Finished(item, Outcome.FAILED, started, ended, reason.value if reason else None)

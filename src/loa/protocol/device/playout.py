"""The loudspeaker's timeline: which item sounds now, from where, and which items are over.

The plan is ``loa.protocol.timeline.resolve`` over every known item (the server's preview runs the
same function, so device and server agree on what pre-empted means). It is recomputed whenever the
items change; because ``resolve`` is causal, the past of the plan does not move, and the segment
covering *now* says what should sound and from where. An operator's stop is a cut at that instant
(the item's window closes there), so what waited behind it starts at the stop, not in the past.

What really sounded is kept beside the plan (``Heard``): an item whose audio is missing or whose
output failed is ``failed`` even where the plan has it played.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from loa.protocol.device.items import OPERATOR_STOP, Finished, Heard, PlayItem, finished
from loa.protocol.device.signals import STATUS_CHANGED, Effect, Silence, Sound
from loa.protocol.priority import PreemptRule
from loa.protocol.timeline import Cue, Reason, Resolution, Segment, Status, resolve

START_SLACK_MS = 250  # later than this, an item starts mid-file (the device was busy or down)
NEVER = -(2**62)
FOREVER = 2**62


@dataclass(slots=True)
class _Sounding:
    item: PlayItem
    since_ms: int
    until_ms: int
    segment_start_ms: int  # when the plan's segment began (``since_ms``: when sound did)


@dataclass(slots=True)
class _Plan:
    items: dict[str, PlayItem]
    resolution: Resolution
    starts: list[int]  # of the segments, for bisection (segments come in time order)
    final_ms: dict[str, int]  # when each item is over: its last sound, else its window or start

    def at(self, now: int) -> Segment | None:
        i = bisect.bisect_right(self.starts, now) - 1
        if i >= 0 and self.resolution.segments[i].end_ms > now:
            return self.resolution.segments[i]
        return None

    def next_start(self, now: int) -> int | None:
        i = bisect.bisect_right(self.starts, now)
        return self.starts[i] if i < len(self.starts) else None


class Playout:
    def __init__(
        self,
        *,
        started_ms: int,
        done_ids: Iterable[str] = (),
        assume_audio: bool = False,
        report_before_start: bool = True,
        lazy: bool = True,
    ) -> None:
        self.started_ms = started_ms
        self.done_ids: set[str] = set(done_ids)
        self.ready_audio: set[str] = set()
        self.assume_audio = assume_audio  # a simulator: every named file counts as on board
        # False: items over before the device started are dropped unreported (a simulator that did
        # not exist then), instead of ``device_down``.
        self.report_before_start = report_before_start
        self.volume = 70
        self._manifest: dict[str, PlayItem] = {}
        self._extra: dict[str, PlayItem] = {}  # "play now" and the rounds of a repeated one
        self._stopped: dict[str, int] = {}  # item id → the instant the operator stopped it
        self._heard: dict[str, Heard] = {}
        self._sound: _Sounding | None = None
        self._plan: _Plan | None = None
        self._stale_from = FOREVER  # the plan holds before this instant (see ``add``)
        self._pruned_before = NEVER  # done items that started before this no longer shape the plan
        self.lazy = lazy  # False: replan at every change (tests compare both)

    # --- what is known -----------------------------------------------------------------------------

    @property
    def playing(self) -> PlayItem | None:
        return self._sound.item if self._sound is not None else None

    def first_sound_ms(self, item_id: str) -> int | None:
        heard = self._heard.get(item_id)
        return heard.first_ms if heard is not None else None

    def items(self) -> dict[str, PlayItem]:
        return {**self._manifest, **self._extra}

    def has_audio(self, sha256: str) -> bool:
        return self.assume_audio or sha256 in self.ready_audio

    def needed_audio(self, now: int, horizon_ms: int | None = None) -> list[PlayItem]:
        """Items still to play, most urgent first (priority, then start)."""
        todo = [
            i
            for i in self.items().values()
            if i.id not in self.done_ids
            and i.audio_sha256  # a stream without a fallback clip has nothing to fetch
            and (i.not_after_ms is None or i.not_after_ms > now)
            and (horizon_ms is None or i.start_ms <= now + horizon_ms)
        ]
        return sorted(todo, key=lambda i: (-i.priority, i.start_ms, i.id))

    def audio_counts(self, now: int) -> tuple[int, int]:
        """(ready, missing): items still to play whose audio is on the device, and the others
        (counted for every status: ten thousand simulated devices heartbeat, so no list is built)."""
        ready = missing = 0
        done, assume = self.done_ids, self.assume_audio
        for source in (self._manifest, self._extra):
            for i in source.values():
                if i.id in done or (i.not_after_ms is not None and i.not_after_ms <= now):
                    continue
                if assume or i.audio_sha256 in self.ready_audio or (i.stream_url and not i.audio_sha256):
                    ready += 1
                else:
                    missing += 1
        return ready, missing

    # --- changes -----------------------------------------------------------------------------------

    def set_manifest_items(self, items: Iterable[PlayItem], now: int | None = None) -> None:
        """The signed manifest's items. A stream that sounded and is no longer named (the server ended
        the live broadcast by withdrawing it) is cut at ``now`` and reported, like a closed window."""
        new = {i.id: i for i in items}
        if now is not None:
            for item_id, old in self._manifest.items():
                heard = self._heard.get(item_id)
                if (
                    old.stream_url is not None
                    and item_id not in new
                    and item_id not in self.done_ids
                    and heard is not None
                    and heard.first_ms is not None
                ):
                    cut = now if old.not_after_ms is None else min(old.not_after_ms, now)
                    self._extra[item_id] = old._replace(not_after_ms=cut)
        self._manifest = new
        self._plan = None

    def stream_down(self, item_id: str, now: int) -> bool:
        """The sounding stream dropped or cannot be reached (its fallback or silence sounds instead)."""
        sound = self._sound
        if sound is None or sound.item.id != item_id or sound.item.stream_url is None:
            return False
        heard = self._heard.setdefault(item_id, Heard())
        if heard.connecting:  # it never came: a drop from the start
            heard.connecting = False
        elif heard.down_since_ms is not None:
            return False  # still down: one interruption however many retries
        else:
            heard.down_since_ms = now
        heard.interruptions += 1
        return True

    def stream_is_down(self, item_id: str) -> bool:
        heard = self._heard.get(item_id)
        return heard is not None and heard.down_since_ms is not None and not heard.connecting

    def stream_up(self, item_id: str, now: int) -> bool:
        """The stream sounds again (the adapter's buffer refilled after a reconnect)."""
        heard = self._heard.get(item_id)
        if heard is None or heard.down_since_ms is None:
            return False
        back = not heard.connecting
        heard.connecting = False
        heard.stream_up(now)
        return back

    def add(self, item: PlayItem, now: int) -> bool:
        """Add a "play now" (or a round); True when nothing changes before the next wake-up."""
        waits = self.lazy and self._waits_behind_sound(item, now)
        self._extra[item.id] = item
        if waits:
            self._stale_from = min(self._stale_from, self._sound.until_ms if self._sound else now)
        else:
            self._plan = None
        return waits

    def _waits_behind_sound(self, item: PlayItem, now: int) -> bool:
        """Whether ``item`` leaves the plan as it is until the sounding segment ends: it arrives no
        earlier than now and after that segment began (at the same instant it could be picked
        first), at no higher a priority than what sounds, and waits (not SKIP) with a window open at
        least that long. ``resolve`` never lets an equal or lower priority interrupt,
        and one that finds the loudspeaker busy waits, so nothing changes before that end; the plan is
        worked out again then. (A "play now" queued behind another on ten thousand simulated devices
        then costs no replanning.)"""
        sound = self._sound
        return (
            sound is not None
            and self._plan is not None
            and item.id not in self._extra
            and item.id not in self._manifest
            and item.start_ms >= now
            and item.start_ms > sound.segment_start_ms
            and item.priority <= sound.item.priority
            and item.preempt_rule is not PreemptRule.SKIP
            and (item.not_after_ms is None or item.not_after_ms >= sound.until_ms)
        )

    def stop_sounding(self, now: int) -> str | None:
        """The operator's stop: the sounding item is cut now (``preempted``, ``by:operator_stop``)."""
        if self._sound is None:
            return None
        item_id = self._sound.item.id
        self._stopped.setdefault(item_id, now)
        self._plan = None
        return item_id

    def cancel_unheard(self, item_ids: Iterable[str]) -> None:
        """Forget added items that never sounded (the coming rounds of a repeated message)."""
        for item_id in item_ids:
            heard = self._heard.get(item_id)
            if (
                item_id in self._extra
                and item_id not in self.done_ids
                and (heard is None or heard.first_ms is None)
            ):
                del self._extra[item_id]
                self._heard.pop(item_id, None)
                self._plan = None

    def output_failed(self, item_id: str, detail: str, now: int, out: list[Effect]) -> None:
        """The output failed: the item is ``failed`` and stays silent until its segment ends."""
        heard = self._heard.setdefault(item_id, Heard())
        heard.failure = heard.failure or detail[:200]
        sound = self._sound
        if sound is not None and sound.item.id == item_id:
            heard.muted_until_ms = sound.until_ms
            self._silence(now, out)

    # --- time --------------------------------------------------------------------------------------

    def settle(self, now: int, out: list[Effect]) -> list[Finished]:
        """Stop what no longer sounds, and return the items that are over (each once)."""
        plan = self._current_plan(now)
        sound = self._sound
        if sound is not None:
            seg = plan.at(now)
            if seg is None or seg.item_id != sound.item.id or seg.end_ms != sound.until_ms:
                self._silence(now, out)
        done: list[Finished] = []
        for o in plan.resolution.outcomes:
            if o.item_id in self.done_ids or plan.final_ms[o.item_id] > now:
                continue
            item = plan.items[o.item_id]
            if not self.report_before_start and self._before_start(item):
                self.done_ids.add(item.id)
                continue
            status, reason, by = o.status, o.reason, o.by_item_id
            if o.item_id in self._stopped:
                status, reason, by = Status.CUT, Reason.PREEMPTED, OPERATOR_STOP
            done.append(self._finish(item, status, reason, by))
        for item_id in self._stopped.keys() - plan.items.keys():  # stopped the instant it began
            stopped = self.items().get(item_id)
            if stopped is not None and item_id not in self.done_ids:
                done.append(self._finish(stopped, Status.CUT, Reason.PREEMPTED, OPERATOR_STOP))
        if done:
            self._prune(plan, now)
        return done

    def sound(self, now: int, out: list[Effect]) -> None:
        """If the loudspeaker is silent and the plan has an item now, start it."""
        if self._sound is not None:
            return
        seg = self._current_plan(now).at(now)
        if seg is None:
            return
        item = self._current_plan(now).items[seg.item_id]
        heard = self._heard.setdefault(item.id, Heard())
        if heard.muted_until_ms is not None and now < heard.muted_until_ms:
            return
        if item.stream_url is None and not self.has_audio(item.audio_sha256):
            heard.failure = heard.failure or "audio_missing"
            return
        offset = seg.offset_ms + (now - seg.start_ms)
        starts = seg.offset_ms == 0 and heard.first_ms is None and now - seg.start_ms < START_SLACK_MS
        if heard.first_ms is None:
            heard.first_ms = now
        if item.stream_url is not None and heard.down_since_ms is None:
            heard.down_since_ms, heard.connecting = now, True  # heard from its first audio
        self._sound = _Sounding(item, now, seg.end_ms, seg.start_ms)
        volume = self.volume * item.volume_percent // 100
        out.append(Sound(item, offset, seg.end_ms - now, volume, starts))
        out.append(STATUS_CHANGED)

    def next_sound_ms(self, now: int) -> int | None:
        """When the loudspeaker next has something to sound (now, if it has now)."""
        plan = self._current_plan(now)
        if plan.at(now) is not None:
            return now
        return plan.next_start(now)

    def next_wake_ms(self, now: int) -> int | None:
        """The next instant something changes by itself (a segment starts or ends, an item is over)."""
        plan = self._current_plan(now)
        candidates = [t for i, t in plan.final_ms.items() if t > now and i not in self.done_ids]
        if self._sound is not None:
            candidates.append(self._sound.until_ms)
        else:
            seg = plan.at(now)
            if seg is not None:  # silent although planned (no audio, output failed): until its end
                candidates.append(seg.end_ms)
        following = plan.next_start(now)
        if following is not None:
            candidates.append(following)
        if self._stale_from != FOREVER:
            candidates.append(self._stale_from)
        return min(candidates, default=None)

    # --- inside ------------------------------------------------------------------------------------

    def _silence(self, now: int, out: list[Effect]) -> None:
        sound = self._sound
        assert sound is not None
        end = min(now, sound.until_ms)
        heard = self._heard.setdefault(sound.item.id, Heard())
        heard.heard_ms += max(0, end - sound.since_ms)
        heard.last_ms = end
        heard.stream_up(end)  # a stream down when it stops: its down time ends with it
        heard.connecting = False
        self._sound = None
        out.append(Silence(sound.item.id, cut=now < sound.until_ms))
        out.append(STATUS_CHANGED)

    def _before_start(self, item: PlayItem) -> bool:
        heard = self._heard.get(item.id)
        never = heard is None or heard.first_ms is None
        return never and item.start_ms + item.duration_ms <= self.started_ms

    def _finish(self, item: PlayItem, status: Status, reason: Reason | None, by: str | None) -> Finished:
        self.done_ids.add(item.id)
        heard = self._heard.pop(item.id, Heard())
        return finished(item, heard, status=status, reason=reason, by=by, device_started_ms=self.started_ms)

    def _current_plan(self, now: int) -> _Plan:
        if self._plan is not None and now < self._stale_from:
            return self._plan
        self._stale_from = FOREVER
        planned: dict[str, PlayItem] = {}
        done, pruned_before = self.done_ids, self._pruned_before
        for source in (self._manifest, self._extra):  # a "play now" reusing a manifest id wins
            for item in source.values():
                if pruned_before != NEVER and item.start_ms < pruned_before and item.id in done:
                    continue  # over long ago: no longer shapes the plan
                planned[item.id] = item
        cues: list[Cue] = []
        if self._stopped:
            for item in list(planned.values()):
                stop = self._stopped.get(item.id)
                if stop is not None and stop <= item.start_ms:
                    del planned[item.id]  # stopped the instant it began: nothing of it is in the plan
                else:
                    cues.append(item.cue(stop))
        else:
            cues = [item.cue() for item in planned.values()]
        resolution = resolve(cues)
        final = {c.id: c.not_after_ms if c.not_after_ms is not None else c.start_ms for c in cues}
        for seg in resolution.segments:
            final[seg.item_id] = seg.end_ms
        self._plan = _Plan(planned, resolution, [seg.start_ms for seg in resolution.segments], final)
        return self._plan

    def _prune(self, plan: _Plan, now: int) -> None:
        """Forget done items that can no longer shape what is to come, so the plan stays small.

        At an instant where the plan is idle, or where a run of sound begins, nothing waits: items
        that started before it are independent of everything after it. Once every item that started
        before such an instant is over, the done ones are dropped (extras) or left out of the plan
        (manifest items, which stay known so they are not reported twice)."""
        seg = plan.at(now)
        boundary = now
        if seg is not None:  # go back to the beginning of the run of sound that holds now
            i = plan.starts.index(seg.start_ms)
            segments = plan.resolution.segments
            while i > 0 and segments[i - 1].end_ms == segments[i].start_ms:
                i -= 1
            boundary = segments[i].start_ms
        open_starts = [it.start_ms for k, it in plan.items.items() if k not in self.done_ids]
        boundary = min([boundary, *open_starts])
        if boundary <= self._pruned_before:
            return
        self._pruned_before = boundary
        for item_id, extra in list(self._extra.items()):
            if item_id in self.done_ids and extra.start_ms < boundary:
                del self._extra[item_id]
                self.done_ids.discard(item_id)
        known = self.items()
        for item_id in list(self._stopped):
            item = known.get(item_id)
            if item is None or (item_id in self.done_ids and item.start_ms < boundary):
                del self._stopped[item_id]  # no longer in any plan
        self._plan = None

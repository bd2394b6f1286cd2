"""What a loudspeaker plays (``PlayItem``) and what it reports when an item is over (``Finished``).

An item comes from the signed manifest or from a "play now" command (and the later rounds of a
repeated one). Times are integer Unix milliseconds, as in ``loa.protocol.timeline``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from loa.protocol import manifest as mf
from loa.protocol.messages import Outcome
from loa.protocol.priority import PreemptRule
from loa.protocol.timeline import Cue, Reason, Status

PARTIAL_TOLERANCE_MS = 400  # heard this much less than the audio is still "played" (scheduling slack)


class PlayItem(NamedTuple):
    """One thing to play. A named tuple: a simulator makes one per "play now" on ten thousand devices."""

    id: str
    audio_sha256: str
    start_ms: int
    duration_ms: int
    priority: int
    preempt_rule: PreemptRule = PreemptRule.RESUME
    not_after_ms: int | None = None
    title: str | None = None
    volume_percent: int = 100  # of the device volume (a quieter announcement, from the manifest)
    # A live broadcast or relay: played from this URL (only ever one the signed manifest names);
    # ``audio_sha256`` is then its fallback clip ("" for silence) and ``duration_ms`` an upper bound.
    stream_url: str | None = None

    def cue(self, stop_ms: int | None = None) -> Cue:
        """The item for ``timeline.resolve``; ``stop_ms``: the operator stopped it at that instant."""
        not_after = self.not_after_ms
        if stop_ms is not None:
            not_after = stop_ms if not_after is None else min(not_after, stop_ms)
        return Cue(self.id, self.start_ms, self.duration_ms, self.priority, self.preempt_rule, not_after)


def ms_of(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def items_from_manifest(manifest: mf.Manifest) -> list[PlayItem]:
    """The items a device plays: every item with a content-addressed file, played from the cache, and
    every ``stream`` item (a live broadcast or a relay), played from its URL, which the signed
    manifest is the only source of (a command never names one). A file item is never played without
    the audio its manifest names; a stream item's optional ``sha256`` is its fallback clip, played
    from the cache while the stream is down. Audio is fetched by its hash from the device's own
    server, whatever URL the manifest names (issue 20.2: the device's credentials go to no other host)."""
    items = []
    for it in manifest.items:
        stream = it.audio.kind is mf.AudioKind.STREAM
        if not stream and it.audio.sha256 is None:
            continue
        items.append(
            PlayItem(
                id=it.id,
                audio_sha256=it.audio.sha256 or "",
                start_ms=ms_of(it.start_at),
                duration_ms=it.duration_ms,
                priority=it.priority,
                preempt_rule=it.preempt_rule,
                not_after_ms=ms_of(it.not_after_at) if it.not_after_at else None,
                title=it.title,
                volume_percent=it.volume_percent,
                stream_url=it.audio.url if stream else None,
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class Finished:
    """An item that is over, as its receipt will say."""

    item: PlayItem
    outcome: Outcome
    started_ms: int
    ended_ms: int
    detail: str | None = None
    heard_ms: int | None = None  # a stream: how long its own audio sounded
    interruptions: int | None = None  # a stream: how many times it was down while it should sound


@dataclass(slots=True)
class Heard:
    """What really sounded of one item (the plan says what should have)."""

    heard_ms: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    failure: str | None = None  # the first reason it could not sound: audio_missing, sink: …
    muted_until_ms: int | None = None  # the output failed: not again before this segment's end
    # A stream: the times it dropped or could not be reached, the time it was down, and since when
    # it is down now (the fallback clip or silence sounded instead of it).
    interruptions: int = 0
    down_ms: int = 0
    down_since_ms: int | None = None
    connecting: bool = False  # from each start until its first audio (not heard, not a drop yet)

    def stream_up(self, now: int) -> None:
        if self.down_since_ms is not None:
            self.down_ms += max(0, now - self.down_since_ms)
            self.down_since_ms = None


OPERATOR_STOP = "operator_stop"


def finished(
    item: PlayItem,
    heard: Heard,
    *,
    status: Status,
    reason: Reason | None,
    by: str | None,
    device_started_ms: int,
) -> Finished:
    """The receipt's verdict on an item, from the plan's outcome and what was heard, first rule first:

    1. it could not sound (no audio, the output failed): ``failed`` with that reason;
    2. it ended before the device started and never sounded: ``failed``, ``device_down``;
    3. the plan played it whole: ``played`` if heard whole (within ``PARTIAL_TOLERANCE_MS``), else
       ``failed``, ``partial:<ms>ms``;
    4. something took the loudspeaker (a higher item, the operator's stop): ``preempted``, ``by:<item>``;
    5. otherwise (its window closed): ``failed`` with the plan's reason.

    Started and ended are when it first and last sounded; an item that never sounded ends where it
    starts (nothing was heard)."""
    started = heard.first_ms if heard.first_ms is not None else item.start_ms
    ended = heard.last_ms if heard.last_ms is not None else started
    if item.stream_url is not None:
        return _stream_verdict(item, heard, started, ended, status=status, reason=reason, by=by,
                               device_started_ms=device_started_ms)  # fmt: skip

    def verdict(outcome: Outcome, detail: str | None = None) -> Finished:
        return Finished(item, outcome, started, ended, detail)

    if heard.failure:
        return verdict(Outcome.FAILED, heard.failure)
    if heard.first_ms is None and item.start_ms + item.duration_ms <= device_started_ms:
        return verdict(Outcome.FAILED, "device_down")
    if status is Status.PLAYED:
        if heard.heard_ms + PARTIAL_TOLERANCE_MS < item.duration_ms:
            return verdict(Outcome.FAILED, f"partial:{heard.heard_ms}ms")
        return verdict(Outcome.PLAYED)
    if reason in (Reason.PREEMPTED, Reason.BUSY) or by:
        return verdict(Outcome.PREEMPTED, f"by:{by}" if by else None)
    return verdict(Outcome.FAILED, reason.value if reason else None)


STREAM_UNAVAILABLE = "stream_unavailable"


def _stream_verdict(
    item: PlayItem,
    heard: Heard,
    started: int,
    ended: int,
    *,
    status: Status,
    reason: Reason | None,
    by: str | None,
    device_started_ms: int,
) -> Finished:
    """A stream's verdict. Its ``duration_ms`` is an upper bound: the server ends a live broadcast by
    cutting its window or withdrawing it, so a stream that closes with its window was ``played``
    (``heard_ms`` says how much). First rule first: the output failed → ``failed``; nothing of the
    stream was heard → ``failed`` (``device_down`` before the device started, else
    ``stream_unavailable``) unless something higher took the whole of it (``preempted``); taken by a
    higher item or the operator's stop → ``preempted``; otherwise ``played``."""
    heard_ms = max(0, heard.heard_ms - heard.down_ms)

    def verdict(outcome: Outcome, detail: str | None = None) -> Finished:
        return Finished(item, outcome, started, ended, detail, heard_ms, heard.interruptions)

    taken = reason in (Reason.PREEMPTED, Reason.BUSY) or by is not None
    if heard.failure:
        return verdict(Outcome.FAILED, heard.failure)
    if heard.first_ms is None and item.start_ms + item.duration_ms <= device_started_ms:
        return verdict(Outcome.FAILED, "device_down")
    if heard_ms == 0 and not (taken and heard.first_ms is None):
        return verdict(Outcome.FAILED, STREAM_UNAVAILABLE)
    if taken and status is not Status.PLAYED:
        return verdict(Outcome.PREEMPTED, f"by:{by}" if by else None)
    return verdict(Outcome.PLAYED)

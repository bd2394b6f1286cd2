"""Playout preview on the server: the resolved timeline of one device, explained in Vietnamese.

The algorithm itself lives in ``loa.protocol.timeline`` because the loudspeaker agent runs the very
same code to play; this module converts times, validates input for people and explains each outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loa.errors import InvalidInput
from loa.protocol.manifest import Manifest
from loa.protocol.priority import PreemptRule
from loa.protocol.timeline import Cue, Outcome, Reason, Status, resolve
from loa.vocab.ladder import PREEMPT_RULES, check_priority, rung_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# Predictions: what the device will do by the schedule. Only a play receipt says what it did
# (``loa.schedule.deviceday``).
STATUS_LABELS: dict[Status, str] = {
    Status.PLAYED: "Dự kiến phát đủ",
    Status.CUT: "Dự kiến bị cắt",
    Status.SKIPPED: "Dự kiến bị bỏ qua",
}


@dataclass(frozen=True)
class PlayoutItem:
    id: str
    start_at: datetime
    duration_ms: int
    priority: int
    preempt_rule: PreemptRule = PreemptRule.RESUME
    not_after_at: datetime | None = None
    title: str = ""

    @property
    def end_at(self) -> datetime:
        return self.start_at + self.duration_ms * _MS


@dataclass(frozen=True)
class PlayedSegment:
    item_id: str
    start_at: datetime
    end_at: datetime
    offset_ms: int  # where in the audio this segment starts


@dataclass(frozen=True)
class ItemResult:
    item_id: str
    status: Status
    played_ms: int
    reason: Reason | None
    by_item_id: str | None
    delay_ms: int
    interruptions: int
    restarts: int
    message: str  # Vietnamese explanation


@dataclass(frozen=True)
class Timeline:
    segments: tuple[PlayedSegment, ...]
    results: tuple[ItemResult, ...]  # one per input item, in input order

    @property
    def cut(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.status is Status.CUT)

    @property
    def skipped(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.status is Status.SKIPPED)

    def result(self, item_id: str) -> ItemResult:
        return next(r for r in self.results if r.item_id == item_id)


def to_ms(at: datetime) -> int:
    return (at - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def _check(items: Sequence[PlayoutItem]) -> None:
    seen: set[str] = set()
    for item in items:
        name = item.title or item.id
        if item.id in seen:
            raise InvalidInput(f"Mục «{name}» xuất hiện hai lần trong lịch phát.", code="playout_duplicate")
        seen.add(item.id)
        for at in (item.start_at, item.not_after_at):
            if at is not None and (at.tzinfo is None or at.utcoffset() is None):
                raise InvalidInput(f"Giờ phát của «{name}» phải có múi giờ.", code="naive_datetime")
        if item.duration_ms <= 0:
            raise InvalidInput(f"Thời lượng của «{name}» phải lớn hơn 0.", code="playout_duration")
        if item.not_after_at is not None and item.not_after_at <= item.start_at:
            raise InvalidInput(f"Khung giờ của «{name}» kết thúc trước khi bắt đầu.", code="playout_window")
        check_priority(item.priority)


def resolve_timeline(items: Sequence[PlayoutItem]) -> Timeline:
    """Resolve pre-emption for the items of one device (see ``loa.protocol.timeline`` for the rules)."""
    _check(items)
    cues = [
        Cue(
            id=i.id,
            start_ms=to_ms(i.start_at),
            duration_ms=i.duration_ms,
            priority=i.priority,
            preempt_rule=i.preempt_rule,
            not_after_ms=to_ms(i.not_after_at) if i.not_after_at is not None else None,
        )
        for i in items
    ]
    resolution = resolve(cues)
    by_id = {i.id: i for i in items}
    segments = tuple(
        PlayedSegment(s.item_id, from_ms(s.start_ms), from_ms(s.end_ms), s.offset_ms)
        for s in resolution.segments
    )
    results = tuple(
        ItemResult(
            item_id=o.item_id,
            status=o.status,
            played_ms=o.played_ms,
            reason=o.reason,
            by_item_id=o.by_item_id,
            delay_ms=o.delay_ms,
            interruptions=o.interruptions,
            restarts=o.restarts,
            message=_explain(by_id[o.item_id], o, by_id),
        )
        for o in resolution.outcomes
    )
    return Timeline(segments, results)


def items_from_manifest(manifest: Manifest) -> list[PlayoutItem]:
    return [
        PlayoutItem(
            id=i.id,
            start_at=i.start_at,
            duration_ms=i.duration_ms,
            priority=i.priority,
            preempt_rule=i.preempt_rule,
            not_after_at=i.not_after_at,
            title=i.title,
        )
        for i in manifest.items
    ]


def format_duration_vi(ms: int) -> str:
    """``150000`` → ``"2 phút 30 giây"``."""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} giờ"] if hours else []
    if minutes:
        parts.append(f"{minutes} phút")
    if secs or not parts:
        parts.append(f"{secs} giây")
    return " ".join(parts)


def _explain(item: PlayoutItem, outcome: Outcome, items: dict[str, PlayoutItem]) -> str:
    status, reason, by_id = outcome.status, outcome.reason, outcome.by_item_id
    played_ms, delay_ms = outcome.played_ms, outcome.delay_ms
    other = items.get(by_id) if by_id is not None else None
    who = f"«{other.title or other.id}» (mức {rung_of(other.priority).label})" if other else "mục khác"
    rule = PREEMPT_RULES[item.preempt_rule].lower()
    if status is Status.PLAYED:
        if reason is Reason.PREEMPTED:
            return f"Bị {who} ngắt; {rule}; đã phát đầy đủ."
        if delay_ms > 0:
            return f"Phát đầy đủ, trễ {format_duration_vi(delay_ms)} vì {who} đang phát."
        return "Phát đầy đủ, đúng giờ."
    heard = f"{format_duration_vi(played_ms)}/{format_duration_vi(item.duration_ms)}"
    if status is Status.CUT:
        if reason is Reason.PREEMPTED and item.preempt_rule is PreemptRule.SKIP:
            return f"Bị {who} ngắt sau {format_duration_vi(played_ms)}; không phát lại (quy tắc: bỏ qua)."
        if reason in (Reason.PREEMPTED, Reason.BUSY):
            return f"Bị {who} chiếm loa; chỉ phát được {heard} trước khi hết khung giờ."
        return f"Chỉ phát được {heard}: hết khung giờ trước khi phát xong."
    if reason is Reason.BUSY and item.preempt_rule is PreemptRule.SKIP:
        return f"Không phát: đến giờ thì {who} đang phát (quy tắc: bỏ qua)."
    if reason is Reason.BUSY:
        return f"Không phát: {who} chiếm loa đến hết khung giờ của mục này."
    if reason is Reason.PREEMPTED:
        return f"Không phát: bị {who} ngắt ngay khi bắt đầu."
    return "Không phát: hết khung giờ trước khi đến lượt."

"""Pre-emption on one device: never two at once, the higher plays in full, the lower per its rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loa.errors import InvalidInput
from loa.protocol.timeline import Reason, Status
from loa.schedule.playout import PlayoutItem, Timeline, format_duration_vi, resolve_timeline
from loa.vocab.ladder import PreemptRule, Priority

T0 = datetime(2023, 1, 16, 0, 0, tzinfo=UTC)  # 07:00 in Vietnam


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def item(
    ident: str,
    start_min: float,
    minutes: float,
    priority: int = Priority.SCHEDULED,
    rule: PreemptRule = PreemptRule.RESUME,
    not_after_min: float | None = None,
) -> PlayoutItem:
    return PlayoutItem(
        id=ident,
        start_at=at(start_min),
        duration_ms=round(minutes * 60_000),
        priority=priority,
        preempt_rule=rule,
        not_after_at=at(not_after_min) if not_after_min is not None else None,
        title=f"Mục {ident}",
    )


def spans(timeline: Timeline) -> list[tuple[str, float, float, float]]:
    return [
        (
            s.item_id,
            (s.start_at - T0) / timedelta(minutes=1),
            (s.end_at - T0) / timedelta(minutes=1),
            s.offset_ms / 60_000,
        )
        for s in timeline.segments
    ]


def test_an_emergency_interrupts_a_programme_which_resumes() -> None:
    timeline = resolve_timeline(
        [item("cchc", 0, 30), item("alert", 10, 5, Priority.EMERGENCY, PreemptRule.RESTART)]
    )
    assert spans(timeline) == [("cchc", 0, 10, 0), ("alert", 10, 15, 0), ("cchc", 15, 35, 10)]
    result = timeline.result("cchc")
    assert result.status is Status.PLAYED and result.interruptions == 1 and result.by_item_id == "alert"
    assert "Bị «Mục alert» (mức Khẩn cấp) ngắt" in result.message
    assert timeline.result("alert").message == "Phát đầy đủ, đúng giờ."


def test_restart_and_skip() -> None:
    timeline = resolve_timeline(
        [
            item("notice", 0, 4, Priority.PRIORITY_BULLETIN, PreemptRule.RESTART),
            item("music", 0, 20, Priority.BACKGROUND, PreemptRule.SKIP),
            item("live", 2, 3, Priority.LIVE, PreemptRule.SKIP),
        ]
    )
    assert spans(timeline) == [("notice", 0, 2, 0), ("live", 2, 5, 0), ("notice", 5, 9, 0)]
    assert timeline.result("notice").restarts == 1 and timeline.result("notice").played_ms == 6 * 60_000
    music = timeline.result("music")
    assert music.status is Status.SKIPPED and music.reason is Reason.BUSY
    assert "quy tắc: bỏ qua" in music.message
    assert [r.item_id for r in timeline.skipped] == ["music"]


def test_a_resumed_item_is_cut_at_the_end_of_its_window() -> None:
    timeline = resolve_timeline(
        [item("news", 0, 20, not_after_min=30), item("alert", 5, 20, Priority.EMERGENCY)]
    )
    assert spans(timeline) == [("news", 0, 5, 0), ("alert", 5, 25, 0), ("news", 25, 30, 5)]
    news = timeline.result("news")
    assert news.status is Status.CUT and news.played_ms == 10 * 60_000
    assert "chỉ phát được 10 phút/20 phút" in news.message
    assert [r.item_id for r in timeline.cut] == ["news"]


def test_a_restart_that_no_longer_fits_is_dropped() -> None:
    timeline = resolve_timeline(
        [
            item("notice", 0, 10, Priority.PRIORITY_BULLETIN, PreemptRule.RESTART, not_after_min=20),
            item("alert", 5, 8, Priority.EMERGENCY),
        ]
    )
    notice = timeline.result("notice")
    assert notice.status is Status.CUT and notice.played_ms == 5 * 60_000
    assert [s[0] for s in spans(timeline)] == ["notice", "alert"]


def test_equal_priority_never_interrupts_the_item_playing() -> None:
    timeline = resolve_timeline([item("a", 0, 10), item("b", 5, 10), item("c", 5, 2, rule=PreemptRule.SKIP)])
    assert spans(timeline) == [("a", 0, 10, 0), ("b", 10, 20, 0)]
    b = timeline.result("b")
    assert b.status is Status.PLAYED and b.delay_ms == 5 * 60_000
    assert b.message == "Phát đầy đủ, trễ 5 phút vì «Mục a» (mức Thông thường) đang phát."
    assert timeline.result("c").status is Status.SKIPPED


def test_bad_items_are_refused_in_vietnamese() -> None:
    with pytest.raises(InvalidInput, match="xuất hiện hai lần"):
        resolve_timeline([item("a", 0, 1), item("a", 2, 1)])
    with pytest.raises(InvalidInput, match="Thời lượng"):
        resolve_timeline([item("a", 0, 0)])
    with pytest.raises(InvalidInput, match="múi giờ"):
        resolve_timeline([PlayoutItem("a", datetime(2023, 1, 1), 1000, 300)])
    with pytest.raises(InvalidInput, match="Mức ưu tiên"):
        resolve_timeline([item("a", 0, 1, priority=5000)])


def test_format_duration() -> None:
    assert format_duration_vi(150_000) == "2 phút 30 giây"
    assert format_duration_vi(3_600_000) == "1 giờ"
    assert format_duration_vi(0) == "0 giây"


# --- properties -------------------------------------------------------------------------------------

PRIORITIES = [p.value for p in Priority if p is not Priority.SILENCE]


@st.composite
def items_of_one_device(draw: st.DrawFn) -> list[PlayoutItem]:
    count = draw(st.integers(min_value=1, max_value=12))
    out = []
    for n in range(count):
        start = draw(st.integers(min_value=0, max_value=120))
        minutes = draw(st.integers(min_value=1, max_value=40))
        window = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=90)))
        out.append(
            item(
                f"i{n}",
                start,
                minutes,
                draw(st.sampled_from(PRIORITIES)),
                draw(st.sampled_from(list(PreemptRule))),
                start + window if window is not None else None,
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(items_of_one_device())
def test_preemption_properties(items: list[PlayoutItem]) -> None:
    timeline = resolve_timeline(items)
    by_id = {i.id: i for i in items}
    # never two items at once
    ordered = sorted(timeline.segments, key=lambda s: s.start_at)
    assert all(a.end_at <= b.start_at for a, b in itertools.pairwise(ordered))
    # every segment lies within its item's audio and window, never before its start
    for s in timeline.segments:
        it = by_id[s.item_id]
        assert s.start_at >= it.start_at and s.end_at > s.start_at
        assert s.offset_ms + (s.end_at - s.start_at) // timedelta(milliseconds=1) <= it.duration_ms
        assert it.not_after_at is None or s.end_at <= it.not_after_at
    for r in timeline.results:
        it = by_id[r.item_id]
        played = sum(
            (s.end_at - s.start_at) // timedelta(milliseconds=1)
            for s in timeline.segments
            if s.item_id == it.id
        )
        assert played == r.played_ms
        if it.preempt_rule is not PreemptRule.RESTART:
            assert r.played_ms <= it.duration_ms  # resumed or skipped items never play more than their length
            assert (r.status is Status.PLAYED) == (r.played_ms == it.duration_ms)
        assert (r.status is Status.SKIPPED) == (r.played_ms == 0)
        assert r.message
    # the highest priority present plays in full at its time when its items do not overlap each other
    # (same-priority overlaps are conflicts, reported before they reach a device)
    top = max(i.priority for i in items)
    tops = sorted((i for i in items if i.priority == top), key=lambda i: i.start_at)
    if all(a.end_at <= b.start_at for a, b in itertools.pairwise(tops)):
        for i in tops:
            end = i.end_at if i.not_after_at is None else min(i.end_at, i.not_after_at)
            segs = [(s.start_at, s.end_at, s.offset_ms) for s in timeline.segments if s.item_id == i.id]
            assert segs == [(i.start_at, end, 0)]


@settings(max_examples=100, deadline=None)
@given(items_of_one_device(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(items: list[PlayoutItem], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert resolve_timeline(items).segments == resolve_timeline(shuffled).segments

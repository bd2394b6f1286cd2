"""``timeline.resolve``'s shortcut for a single cue gives exactly what the full resolver gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loa.protocol.priority import PreemptRule
from loa.protocol.timeline import Cue, _Resolver, resolve


@given(
    start=st.integers(-10_000, 10_000),
    duration=st.integers(1, 5_000),
    window=st.one_of(st.none(), st.integers(1, 8_000)),
    priority=st.integers(0, 1000),
    rule=st.sampled_from(list(PreemptRule)),
)
def test_a_lone_cue_resolves_as_the_resolver_would(
    start: int, duration: int, window: int | None, priority: int, rule: PreemptRule
) -> None:
    cue = Cue("x", start, duration, priority, rule, None if window is None else start + window)
    assert resolve([cue]) == _Resolver([cue]).run()

"""The priority ladder is data: one scale, labels, colours and the three regulated priorities."""

from __future__ import annotations

import pytest

from loa.content.catalog import Priority as ContentPriority
from loa.errors import InvalidInput
from loa.vocab.ladder import (
    BULLETIN_PRIORITIES,
    LADDER,
    PREEMPT_RULES,
    BulletinPriority,
    PreemptRule,
    Priority,
    ladder_priority,
    rung_of,
)


def test_the_order_of_the_ladder() -> None:
    order = [Priority.EMERGENCY, Priority.LIVE, Priority.PRIORITY_BULLETIN, Priority.SCHEDULED]
    order += [Priority.BACKGROUND, Priority.SILENCE]
    assert sorted(order, reverse=True) == order
    assert list(LADDER) == order
    assert all(0 <= p <= 1000 for p in Priority)


def test_every_rung_has_a_vietnamese_label_colour_and_rule() -> None:
    for priority, rung in LADDER.items():
        assert rung.priority is priority and rung.label and rung.colour and rung.description
        assert rung.default_preempt_rule in PreemptRule
    assert LADDER[Priority.EMERGENCY].label == "Khẩn cấp"
    assert set(PREEMPT_RULES) == set(PreemptRule)


def test_regulated_bulletin_priorities_map_onto_the_ladder() -> None:
    assert ladder_priority("normal") is Priority.SCHEDULED
    assert ladder_priority("priority") is Priority.PRIORITY_BULLETIN
    assert ladder_priority("emergency") is Priority.EMERGENCY
    labels = [BULLETIN_PRIORITIES[p].label for p in BulletinPriority]
    assert labels == ["Thông thường", "Ưu tiên", "Khẩn cấp"]
    # the same codes as the bulletins of loa.content
    assert {p.value for p in BulletinPriority} == {p.value for p in ContentPriority}
    with pytest.raises(InvalidInput) as err:
        ladder_priority("urgent")
    assert "thông thường, ưu tiên hoặc khẩn cấp" in err.value.message


def test_rung_of_a_number_between_rungs() -> None:
    assert rung_of(950).priority is Priority.EMERGENCY
    assert rung_of(650).priority is Priority.PRIORITY_BULLETIN
    assert rung_of(0).priority is Priority.SILENCE
    with pytest.raises(InvalidInput):
        rung_of(1001)

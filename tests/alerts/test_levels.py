"""Decision 18/2021/QĐ-TTg hazards and risk levels (``loa.alerts.levels``)."""

from __future__ import annotations

import pytest

from loa.alerts import levels
from loa.errors import InvalidInput


def test_five_levels_with_the_decisions_colours() -> None:
    assert [levels.RISK_LEVELS[n].colour_name for n in range(1, 6)] == [
        "xanh dương nhạt",
        "vàng nhạt",
        "da cam",
        "đỏ",
        "tím",
    ]


def test_a_level_the_decision_does_not_define_for_the_hazard_is_refused() -> None:
    assert levels.check("storm", 5) == ("storm", 5)
    with pytest.raises(InvalidInput) as caught:
        levels.check("flash_flood", 4)
    assert "lũ quét đến cấp độ 3" in caught.value.message


@pytest.mark.parametrize(("hazard", "level"), [("tornado", 1), ("storm", 0), ("storm", 6)])
def test_unknown_hazard_or_level_is_refused(hazard: str, level: int) -> None:
    with pytest.raises(InvalidInput):
        levels.check(hazard, level)

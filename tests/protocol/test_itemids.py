"""Item ids: every form the server or a device builds parses back to what it names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loa.protocol import itemids
from loa.protocol.itemids import ItemRef

AIRING = datetime(2024, 3, 4, 0, 0, tzinfo=UTC)
LONG = "x" * 80


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        ("p.12.20240304T0000Z.345", ItemRef(12, "20240304T0000Z", 345)),
        ("p.12.20240304T0000Z.345.1", ItemRef(12, "20240304T0000Z", 345)),  # a repeated line
        ("p.12.20240304T0000Z.rec-abcdef", ItemRef(12, "20240304T0000Z", None)),  # not a bulletin
        ("a.7", ItemRef(announcement_id=7)),
        ("a.7-hre", ItemRef(announcement_id=7)),
        ("cmd-0123456789abcdef", ItemRef(command="0123456789abcdef")),
        ("cmd-0123456789abcdef.r3", ItemRef(command="0123456789abcdef", round=3)),
        ("a.7.r2", ItemRef(announcement_id=7, round=2)),
        ("live-2024", ItemRef()),
        ("cmd-", ItemRef()),
        ("p.12.2024.345", ItemRef()),
        ("x.r1", ItemRef()),  # round 1 has no suffix: this names nothing
    ],
)
def test_parse(item_id: str, expected: ItemRef) -> None:
    assert itemids.parse(item_id) == expected


def test_builders_round_trip_through_parse() -> None:
    line = itemids.programme_item("12", AIRING, "345")
    assert line == "p.12.20240304T0000Z.345"
    assert itemids.parse(itemids.programme_item("12", AIRING, "345", 2)) == itemids.parse(line)
    assert itemids.programme_item_from_stamp(12, itemids.airing_stamp(AIRING), 345) == line
    assert itemids.parse(itemids.announcement_item("9")).announcement_id == 9
    command = itemids.command_item("c" * 40)
    assert command == "cmd-" + "c" * 24
    third = itemids.round_item(command, 3)
    assert itemids.split_round(third) == (command, 3)
    assert itemids.parse(third) == ItemRef(command="c" * 24, round=3)


def test_foreign_ids_are_hashed_into_the_grammar() -> None:
    line = itemids.programme_item("prog with spaces", AIRING, "bulletin/1")
    assert len(line) <= itemids.MAX_ITEM_ID
    assert " " not in line and "/" not in line
    assert itemids.parse(line).programme_id is None  # a hashed part is not a record id


def test_a_long_base_is_shortened_but_its_rounds_stay_within_the_protocol() -> None:
    round_id = itemids.round_item(LONG, 999_999)
    assert len(round_id) <= itemids.MAX_ITEM_ID
    assert itemids.split_round(round_id) == ("x" * 56, 999_999)
    with pytest.raises(ValueError):
        itemids.round_item("a.1", 1)

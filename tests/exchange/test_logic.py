"""The exchange's pure rules: the priority table, the order of inbox states, keys, and back-off."""

from __future__ import annotations

import pytest

from loa.exchange.logic import (
    AHEAD_OF_OWN_RUNG,
    PRIORITY_RULES,
    Handling,
    ack_key,
    moves_forward,
    new_key,
    retry_after_s,
    secret_hash,
    secret_matches,
    split_token,
    state_label,
    worth_retrying,
)
from loa.exchange.models import InboxState, Priority
from loa.protocol.priority import Priority as Rung


def test_each_regulated_priority_has_its_rule_and_rung() -> None:
    assert {p: r.handling for p, r in PRIORITY_RULES.items()} == {
        Priority.NORMAL: Handling.COMMUNE_CHOOSES,
        Priority.PRIORITY: Handling.AHEAD,
        Priority.EMERGENCY: Handling.AT_ONCE,
    }
    assert [PRIORITY_RULES[p].rung for p in Priority] == [300, 500, 900]
    # "Ahead of the commune's own priority item" stays below a live broadcast and an emergency.
    assert Rung.PRIORITY_BULLETIN < AHEAD_OF_OWN_RUNG < Rung.LIVE


@pytest.mark.parametrize(
    ("current", "new", "forward"),
    [
        ("", InboxState.RECEIVED, True),
        ("received", InboxState.SCHEDULED, True),
        ("scheduled", InboxState.AIRED, True),
        ("aired", InboxState.AIRED, True),  # a later count of plays
        ("aired", InboxState.SCHEDULED, False),  # a late, older acknowledgement
        ("needs_order", InboxState.RECEIVED, False),
        ("declined", InboxState.SCHEDULED, False),
    ],
)
def test_acknowledgements_only_move_forward(current: str, new: InboxState, forward: bool) -> None:
    assert moves_forward(current, new) is forward


def test_states_read_in_vietnamese() -> None:
    assert state_label(InboxState.NEEDS_ORDER) == "Trùng tin ưu tiên của xã, chờ sắp thứ tự"
    assert state_label("") == "Đã gửi, chưa có phản hồi"


def test_keys_are_split_and_checked_without_keeping_the_secret() -> None:
    key = new_key()
    assert key.key_id.startswith("lx_") and len(key.secret) >= 40
    assert split_token(key.token) == (key.key_id, key.secret)
    for bad in ("", "lx_abc", "loa_token.x", "lx_" + "a" * 50 + ".x", "nope.secret"):
        assert split_token(bad) is None
    assert secret_matches(key.secret, secret_hash(key.secret))
    assert not secret_matches(key.secret + "x", secret_hash(key.secret))


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (None, True),
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (413, False),
        (422, False),
    ],
)
def test_what_is_tried_again(status: int | None, retry: bool) -> None:
    assert worth_retrying(status) is retry


def test_back_off_doubles_up_to_an_hour() -> None:
    assert [retry_after_s(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_after_s(30) == 3600.0


def test_one_acknowledgement_key_per_state_and_count() -> None:
    assert ack_key(7, InboxState.AIRED, 3) == "ack:7:aired:3"
    assert len({ack_key(7, s, 0) for s in InboxState}) == len(InboxState)

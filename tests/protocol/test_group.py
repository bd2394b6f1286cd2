"""Group commands: signed, targeted, and refused when tampered with or signed by another key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.fleet.fanout import Member, plan_fanout
from loa.protocol import group
from loa.protocol import manifest as mf
from loa.protocol import messages as m
from loa.protocol.topics import Topics

KEY = Ed25519PrivateKey.generate()
PUBLIC = mf.public_key_bytes(KEY)


def command_json(**over: object) -> bytes:
    now = m.now_utc()
    raw = {
        "v": 1,
        "type": "cmd",
        "id": "abc123",
        "kind": "play_now",
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "args": {"audio_sha256": "ab" * 32},
        **over,
    }
    return json.dumps(raw).encode()


def test_sealed_command_opens_with_the_pinned_key_and_names_its_targets() -> None:
    opened = group.open_sealed(group.seal(command_json(), ["loa-a00000000001"], KEY), PUBLIC)
    assert isinstance(opened.command, m.PlayNow) and opened.command.id == "abc123"
    assert opened.addresses("loa-a00000000001") and not opened.addresses("loa-a00000000002")
    everyone = group.open_sealed(group.seal(command_json(kind="stop", args={}), None, KEY), PUBLIC)
    assert isinstance(everyone.command, m.Stop) and everyone.addresses("loa-zzzzzzzzzzzz")


def _tamper(payload: bytes, **body_over: object) -> bytes:
    envelope = json.loads(payload)
    body = json.loads(base64.b64decode(envelope["body"]))
    body.update(body_over)
    envelope["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (_tamper(group.seal(command_json(), ["loa-a00000000001"], KEY), targets=None), "signature_invalid"),
        (group.seal(command_json(), None, Ed25519PrivateKey.generate()), "signature_invalid"),
        (b"not json", "not_json"),
        (b'{"v":2,"type":"group_cmd","body":"","sig":""}', "bad_version"),
        (b'{"v":1,"type":"group_cmd","body":"!!","sig":"??"}', "invalid"),
        (b"x" * (group.MAX_GROUP_PAYLOAD_BYTES + 1), "oversized"),
    ],
)
def test_forged_or_broken_group_commands_are_refused(payload: bytes, code: str) -> None:
    with pytest.raises(m.ProtocolError) as err:
        group.open_sealed(payload, PUBLIC)
    assert err.value.code == code


def test_a_manifest_signature_cannot_be_replayed_as_a_group_command() -> None:
    body = command_json()
    envelope = {
        "v": 1,
        "type": "group_cmd",
        "body": base64.b64encode(body).decode(),
        "sig": base64.b64encode(mf.sign(body, KEY)).decode(),  # signed without the group context
    }
    with pytest.raises(m.ProtocolError, match="signature_invalid"):
        group.open_sealed(json.dumps(envelope).encode(), PUBLIC)


def test_too_many_targets_are_refused_when_sealing() -> None:
    with pytest.raises(ValueError):
        group.seal(command_json(), ["loa-a00000000001"] * (group.MAX_TARGETS + 1), KEY)
    with pytest.raises(ValueError):
        group.seal(command_json(), ["Not A Device"], KEY)


def test_group_topics() -> None:
    topics = Topics("loa")
    assert topics.group_cmd() == "loa/all/cmd" and topics.group_cmd("21484") == "loa/g/21484/cmd"
    assert topics.is_group_cmd("loa/all/cmd") and topics.is_group_cmd("loa/g/21484/cmd")
    assert not topics.is_group_cmd("loa/g/+/cmd") and not topics.is_group_cmd("loa/g/a/b/cmd")
    assert not topics.is_group_cmd("loa/d/loa-a00000000001/cmd") and topics.parse("loa/all/cmd") is None
    with pytest.raises(ValueError):
        topics.group_cmd("a/b")


def _members(code: str | None, n: int, start: int = 0) -> list[Member]:
    return [Member(start + i, f"loa-{start + i:012x}", code) for i in range(n)]


def test_fanout_plan_uses_one_message_per_whole_commune_and_lists_the_rest() -> None:
    a, b, none = _members("A", 3), _members("B", 4, 10), _members(None, 2, 20)
    whole = plan_fanout(a + b + none, active_total=9, active_by_commune={"A": 3, "B": 4})
    assert [(f.group_code, f.targets) for f in whole] == [("", None)]
    mixed = plan_fanout(a + b[:1] + none[:1], active_total=9, active_by_commune={"A": 3, "B": 4})
    assert [(f.group_code, f.targets) for f in mixed] == [
        ("", (none[0].uid,)),
        ("A", None),
        ("B", (b[0].uid,)),
    ]
    assert sum(len(f.members) for f in mixed) == 5
    split = plan_fanout(b[:3], active_total=9, active_by_commune={"B": 4}, max_targets=2)
    assert [len(f.targets or ()) for f in split] == [2, 1] and {f.group_code for f in split} == {"B"}
    assert plan_fanout([], active_total=9, active_by_commune={}) == []

"""Issue 21.1: no message from the network, whatever its content, ends the agent.

The real agent (its message handling, device core, journal on disk, file sink) gets random and hostile
payloads on every topic it subscribes to (its own ``state``, ``cmd``, ``ack``; the fleet and commune
group topics) and on topics it should ignore: bytes, broken JSON, deep nesting, huge payloads, valid
messages with fields of the wrong type, acknowledgements naming its pending receipts twice or unknown
ids, signed group commands with odd bodies. After every message the clock is advanced too (a message
that left the core in a bad state would surface there). Nothing may raise, no handling may fail
(``message_errors`` stays 0: a bad message is *refused*, counted by code), and the agent keeps working:
a valid command afterwards is still obeyed.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol import group
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.device.items import at_ms
from loa.protocol.topics import Channel
from tests.support.device_table import (
    AUDIO,
    DEVICE,
    KEY,
    OTHER,
    PUBLIC,
    SHA,
    TOPICS,
    Schedule,
    Slot,
    manifest_bytes,
)


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, bytes(payload)))

    async def subscribe(self, topic: str, qos: int = 0) -> None:
        return None


class Rig:
    """One agent in one event loop, reused by every example (as on a board: it runs for months)."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        agent = Agent(
            AgentConfig(
                server_url="http://127.0.0.1:9", data_dir=data_dir, sink="file", sink_dir=data_dir / "p"
            )
        )
        for name, (_ms, data) in AUDIO.items():
            agent.cache.partial(SHA[name]).write_bytes(data)
            agent.cache.commit(SHA[name])
        agent.adopt(
            Identity(
                device_id=DEVICE,
                secret="s",
                mqtt_host="127.0.0.1",
                mqtt_port=1,
                topic_prefix=TOPICS.prefix,
                manifest_public_key=base64.b64encode(PUBLIC).decode(),
            )
        )
        agent._client = Recorder()  # type: ignore[assignment]
        agent.connected.set()
        self.agent = agent
        t0 = now_ms()
        self.run(self._feed(s.CONNECTED))
        # A schedule whose first item is already over (a pending receipt to acknowledge), one to come.
        slots = (Slot("done", -5_000, audio="short"), Slot("later", 3_600_000))
        self.run(self._feed(s.ManifestFetched(*manifest_bytes(Schedule(0, slots), t0))))
        self.receipt_ids = [r.receipt_id for r in agent.journal.pending()]
        assert self.receipt_ids, "the rig needs a pending receipt"

    async def _feed(self, event: s.Event) -> None:
        self.agent.feed(event)

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def deliver(self, topic: str, payload: object) -> None:
        async def one() -> None:
            await self.agent._on_message(topic, payload)
            self.agent.feed(s.TICK)
            await asyncio.sleep(0)  # let its publishes run

        self.run(one())

    def close(self) -> None:
        async def stop() -> None:
            await asyncio.gather(*list(self.agent._tasks), return_exceptions=True)
            await self.agent.output.close()
            await self.agent.transfers.aclose()

        self.run(stop())
        self.agent.journal.close()
        self.loop.close()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig(tmp_path_factory.mktemp("fuzz"))
    try:
        yield rig
    finally:
        rig.close()


# --- what arrives ------------------------------------------------------------------------------------

OWN = [TOPICS.device(DEVICE, c) for c in (Channel.STATE, Channel.CMD, Channel.ACK)]
GROUPS = [TOPICS.group_cmd(), TOPICS.group_cmd("21484")]
ELSEWHERE = [
    TOPICS.device(OTHER, Channel.CMD),  # someone else's (amqtt 0.12 delivered those)
    TOPICS.device(DEVICE, Channel.STATUS),  # a device→server channel
    f"{TOPICS.prefix}/d/{DEVICE}",
    "other/prefix/cmd",
    "",
]
TOPIC = st.sampled_from(OWN + GROUPS + ELSEWHERE)

json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Field names and types the real messages have, with values of any type.
FIELDS = st.sampled_from(
    ["v", "type", "id", "kind", "issued_at", "expires_at", "args", "receipt_ids", "manifest_version",
     "sha256", "url", "groups", "level", "audio_sha256", "priority", "repeat_gap_s", "item_id", "targets"]
)  # fmt: skip


def iso(delta_s: float) -> str:
    return at_ms(now_ms() + int(delta_s * 1000)).isoformat()


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A real message (command, state, ack) with some fields replaced by anything."""
    kind = draw(st.sampled_from(["play_now", "stop", "volume", "sync", "reboot", "update", "state", "ack"]))
    if kind == "state":
        raw: dict[str, Any] = {
            "v": 1,
            "type": "state",
            "manifest_version": 9,
            "sha256": "ab" * 32,
            "url": "/x",
            "issued_at": iso(0),
            "groups": ["21484"],
        }
    elif kind == "ack":
        raw = {"v": 1, "type": "ack", "receipt_ids": ["X", "X"]}
    else:
        args: dict[str, Any] = {
            "play_now": {"audio_sha256": SHA["bulletin"], "repeat_gap_s": 0, "priority": 900},
            "volume": {"level": 30},
            "update": {"version": "9", "url": "http://x/", "sha256": "cd" * 32},
        }.get(kind, {})
        raw = {
            "v": 1,
            "type": "cmd",
            "id": draw(st.text("abc-", min_size=1, max_size=4)),
            "kind": kind,
            "issued_at": iso(-1),
            "expires_at": iso(draw(st.sampled_from([-5, 300]))),
            "args": args,
        }
    for name, value in draw(st.dictionaries(FIELDS, json_value, max_size=3)).items():
        in_args = name in ("level", "audio_sha256", "priority", "repeat_gap_s")
        target = raw["args"] if in_args and isinstance(raw.get("args"), dict) else raw
        target[name] = value
    return raw


def hostile_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        st.just(b"[" * 100_000 + b"]" * 100_000),  # deep nesting
        st.just(b'{"v":1,"type":"ack","receipt_ids":["' + b"x" * (2 << 20) + b'"]}'),  # 2 MiB
        st.just(b'{"v":1,"type":"cmd"' + b',"a":1' * 20_000 + b"}"),
        st.just("\ud800".encode("utf-8", "surrogatepass")),
        json_value.map(lambda v: json.dumps(v).encode()),
        near_valid().map(lambda raw: json.dumps(raw).encode()),
    )


@st.composite
def sealed(draw: st.DrawFn) -> bytes:
    """A group command signed by the pinned key (or by another), with any body and targets."""
    body = json.dumps(draw(near_valid())).encode()
    targets = draw(st.none() | st.lists(st.sampled_from([DEVICE, OTHER]), max_size=3))
    return group.seal(body, targets, KEY)


@st.composite
def acks(draw: st.DrawFn, known: list[str]) -> bytes:
    ids = draw(st.lists(st.sampled_from([*known, "X", "unknown", "a" * 64]), max_size=8))
    return m.ReceiptAck(receipt_ids=[*ids, *ids]).to_bytes()


def test_a_duplicated_acknowledgement_of_pending_receipts_is_harmless(rig: Rig) -> None:
    """The crash of issue 21.1: the gateway acknowledged ``["X","X"]`` after a resend."""
    pending = list(rig.receipt_ids)
    topic = TOPICS.device(DEVICE, Channel.ACK)
    rig.deliver(topic, m.ReceiptAck(receipt_ids=[pending[0], pending[0]]).to_bytes())
    rig.deliver(topic, m.ReceiptAck(receipt_ids=[pending[0], "never-sent"]).to_bytes())
    assert rig.agent.message_errors == 0
    assert pending[0] not in {r.receipt_id for r in rig.agent.journal.pending()}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_message_ends_the_agent(rig: Rig, data: st.DataObject) -> None:
    topic = data.draw(TOPIC, label="topic")
    if topic in GROUPS:
        payload: object = data.draw(st.one_of(sealed(), hostile_bytes()), label="payload")
    elif topic.endswith("/ack"):
        payload = data.draw(st.one_of(acks(rig.receipt_ids), hostile_bytes()), label="payload")
    else:
        payload = data.draw(st.one_of(hostile_bytes(), st.sampled_from(["text", None, 5])), label="payload")
    rig.deliver(topic, payload)  # raises if the agent would have died
    assert rig.agent.message_errors == 0


def test_after_the_fuzzing_the_agent_still_obeys_and_reports(rig: Rig) -> None:
    now = m.now_utc()
    volume = {
        "v": 1,
        "type": "cmd",
        "id": "final-volume",
        "kind": "volume",
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "args": {"level": 37},
    }
    rig.deliver(TOPICS.device(DEVICE, Channel.CMD), json.dumps(volume).encode())
    assert rig.agent.core.volume == 37 and rig.agent.message_errors == 0
    status = rig.agent.status(m.StatusReason.CHANGE)
    assert status.messages_refused == rig.agent.messages_refused.total() > 0
    assert status.message_errors == 0

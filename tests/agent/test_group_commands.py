"""The real agent's handling of group commands: it acts on a command signed by its pinned server key
that names it (or names nobody), ignores one for other devices, and refuses a forgery."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.agent.config import AgentConfig, Identity
from loa.agent.runtime import Agent
from loa.fleet import keys
from loa.protocol import group
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics

ME, OTHER = "loa-a00000000001", "loa-a00000000002"
KEY = Ed25519PrivateKey.generate()


def volume(level: int, command_id: str) -> bytes:
    now = m.now_utc()
    raw = {
        "v": 1,
        "type": "cmd",
        "id": command_id,
        "kind": "volume",
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "args": {"level": level},
    }
    return json.dumps(raw).encode()


def test_agent_obeys_signed_group_commands_addressed_to_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        agent = Agent(AgentConfig(server_url="http://127.0.0.1:9", data_dir=tmp_path, sink="null"))
        agent.adopt(
            Identity(
                device_id=ME,
                secret="s",
                mqtt_host="h",
                mqtt_port=1,
                manifest_public_key=keys.public_key_b64(KEY),
            )
        )
        topics = Topics()

        async def deliver(topic: str, payload: bytes) -> None:
            await agent._on_message(topic, payload)

        await deliver(topics.group_cmd(), group.seal(volume(40, "c1"), [OTHER], KEY))
        assert agent.core.volume != 40  # addressed to another device
        await deliver(topics.group_cmd("21484"), group.seal(volume(41, "c2"), [ME, OTHER], KEY))
        assert agent.core.volume == 41
        await deliver(topics.group_cmd(), group.seal(volume(42, "c3"), None, KEY))
        assert agent.core.volume == 42
        forged = group.seal(volume(5, "c4"), None, Ed25519PrivateKey.generate())
        await deliver(topics.group_cmd(), forged)
        assert agent.core.volume == 42
        # The commune learnt from ``state`` is remembered (subscribed once connected).
        ref = m.StateRef(
            manifest_version=0, sha256="ab" * 32, url="/x", issued_at=m.now_utc(), groups=["21484"]
        )
        await agent._on_message(topics.device(ME, Channel.STATE), ref.to_bytes())
        assert agent.core.groups == {"21484"}
        # Nothing on any topic ends the agent: hostile payloads are refused or ignored.
        for topic in (topics.group_cmd(), topics.device(ME, Channel.CMD), topics.device(ME, Channel.ACK)):
            for payload in (b"", b"\xff", b"[]", b'{"v":1}', b'{"v":1,"type":"ack","receipt_ids":["x","x"]}'):
                await agent._on_message(topic, payload)
        assert agent.message_errors == 0 and agent.core.volume == 42

    asyncio.run(scenario())

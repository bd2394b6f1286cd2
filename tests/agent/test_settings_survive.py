"""Issue 21.4: what the server set survives a restart of the agent (the volume is kept in its data
directory), and an announcement's ``volume_percent`` from the manifest is what the sink is told."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.topics import Channel
from tests.support.device_table import AUDIO, DEVICE, PUBLIC, SHA, TOPICS, Schedule, Slot, manifest_bytes


def agent_in(data_dir: Path) -> Agent:
    agent = Agent(
        AgentConfig(server_url="http://127.0.0.1:9", data_dir=data_dir, sink="file", sink_dir=data_dir / "p")
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
    return agent


async def close(agent: Agent) -> None:
    await asyncio.gather(*list(agent._tasks), return_exceptions=True)
    await agent.output.close()
    await agent.transfers.aclose()
    agent.journal.close()


def volume_command(level: int) -> bytes:
    now = m.now_utc()
    raw = {
        "v": 1,
        "type": "cmd",
        "id": f"vol-{level}",
        "kind": "volume",
        "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        "args": {"level": level},
    }
    return json.dumps(raw).encode()


def test_the_volume_set_from_the_server_survives_a_restart(tmp_path: Path) -> None:
    async def first() -> None:
        agent = agent_in(tmp_path)
        await agent._on_message(TOPICS.device(DEVICE, Channel.CMD), volume_command(33))
        assert agent.core.volume == 33
        await close(agent)

    async def second() -> int:
        agent = agent_in(tmp_path)
        try:
            return agent.core.volume
        finally:
            await close(agent)

    asyncio.run(first())
    assert asyncio.run(second()) == 33


def test_an_announcement_plays_at_its_share_of_the_device_volume(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, object]]:
        agent = agent_in(tmp_path)
        recorded = asyncio.Event()  # its receipt is journaled: it has played
        journal_add = agent.journal.add

        def add(receipt: m.Receipt) -> None:
            journal_add(receipt)
            recorded.set()

        agent.journal.add = add  # type: ignore[method-assign]
        clock = asyncio.create_task(agent._clock_loop())
        try:
            await agent._on_message(TOPICS.device(DEVICE, Channel.CMD), volume_command(80))
            t0 = now_ms()
            slots = (Slot("nho", 200, audio="short", volume_percent=50),)
            agent.feed(s.ManifestFetched(*manifest_bytes(Schedule(0, slots), t0)))
            await asyncio.wait_for(recorded.wait(), 10)
        finally:
            clock.cancel()
            await close(agent)
        lines = (tmp_path / "p" / "played.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    played = asyncio.run(scenario())
    assert [(p["item_id"], p["volume"]) for p in played] == [("nho", 40)]

"""The device scenario table (tests/support/device_table.py) through the real agent: its message
handling (the bytes a broker would deliver), its audio cache (the table's WAV files, measured by the
agent), its file sink, journal and clock, on the wall clock. What it publishes is read back off the
wire. One scenario at a time: agents side by side in one event loop would delay each other (each
receipt is fsync'd) by more than the table's tolerance."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path

import pytest

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol.device import signals as s
from tests.support.device_table import (
    AUDIO,
    BOOT_LEAD_MS,
    DEVICE,
    PUBLIC,
    SHA,
    TOPICS,
    AckAll,
    Observed,
    Scenario,
    Schedule,
    manifest_bytes,
    mismatches,
    observe_wire,
    scenarios_for,
    wire_of,
)

TOLERANCE_MS = 150


class Recorder:
    """Stands in for the aiomqtt client: keeps what the agent publishes."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, bytes(payload)))

    async def subscribe(self, topic: str, qos: int = 0) -> None:
        return None


async def sleep_until(at_ms: int) -> None:
    await asyncio.sleep(max(0.0, (at_ms - now_ms()) / 1000))


def new_agent(sc: Scenario, data_dir: Path) -> Agent:
    """An enrolled agent with the table's audio in its cache, its broker a ``Recorder``."""
    agent = Agent(
        AgentConfig(
            server_url="http://127.0.0.1:9",  # never reached: the audio is in the cache
            data_dir=data_dir,
            sink="file",
            sink_dir=data_dir / "played",
            resend_receipts_after_s=60,
        )
    )
    for name, (_ms, data) in AUDIO.items():
        if name not in sc.missing:
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
            release_public_key=base64.b64encode(PUBLIC).decode(),
        )
    )
    agent._client = Recorder()  # type: ignore[assignment]
    agent.connected.set()
    return agent


async def run_agent(sc: Scenario, agent: Agent, t0: int) -> Observed:
    wire = agent._client
    assert isinstance(wire, Recorder)
    clock = asyncio.create_task(agent._clock_loop())
    try:
        agent.feed(s.CONNECTED)
        for step in sorted(sc.steps, key=lambda st: st.at):
            await sleep_until(t0 + step.at)
            if isinstance(step, Schedule):
                agent.feed(s.ManifestFetched(*manifest_bytes(step, t0)))  # as ``sync_manifest`` does
            else:
                topic, payload = wire_of(step, now_ms(), wire.published)
                await agent._on_message(topic, payload)
                if not isinstance(step, AckAll):
                    await asyncio.sleep(0)
        await sleep_until(t0 + sc.until)
    finally:
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock
        await asyncio.gather(*list(agent._tasks), return_exceptions=True)
        await agent.output.close()
        agent.journal.close()
    receipts, results = observe_wire(wire.published, t0)
    assert agent.message_errors == 0
    return Observed(receipts, results, len(agent.journal.pending()), agent.core.volume)


@pytest.mark.parametrize("scenario", scenarios_for("agent"), ids=lambda sc: sc.name)
def test_the_agent_does_what_the_table_says(scenario: Scenario, tmp_path: Path) -> None:
    async def run() -> Observed:
        agent = new_agent(scenario, tmp_path)
        return await run_agent(scenario, agent, now_ms() + BOOT_LEAD_MS)

    assert mismatches(scenario, asyncio.run(run()), TOLERANCE_MS) == []
    if scenario.name.startswith("scheduled item"):  # the file sink has the item's bytes, from the start
        (played,) = (tmp_path / "played").glob("*.audio")
        assert played.name.startswith("tin-sang-") and played.read_bytes() == AUDIO["programme"][1]

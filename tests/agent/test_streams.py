"""Issue 14.3 on the real agent: stream items (live broadcasts, relays) of its signed manifest play
from a real HTTP stream server (real Ogg/Opus, WebM/Opus and MP3, sent at real-time pace), decoded by
PyAV into the file sink, where the tone put into the source is found again (Goertzel). The ladder:
a programme pre-empted by a live item resumes after it; a stream that drops plays the fallback clip,
reconnects and says so in its receipt; a dead URL; a URL the manifest does not carry never plays.

The broker is a recorder (as in ``test_device_table``): what the agent publishes is read back off
the wire format; ``test_stream_broker`` runs one through a real broker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import pytest

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from tests.agent.test_device_table import Recorder, sleep_until
from tests.support.device_table import AUDIO, DEVICE, PUBLIC, SHA, TOPICS, command_wire, Cmd
from tests.support.streams import (
    StreamServer,
    StreamSlot,
    encode,
    free_port,
    read_wav,
    signed_manifest,
    tone_onsets,
    tone_pcm,
)

PORTS = (18100, 18150)
TONE_AT_S = 1.0


def new_agent(data_dir: Path, **config: Any) -> Agent:
    agent = Agent(
        AgentConfig(
            server_url="http://127.0.0.1:9",
            data_dir=data_dir,
            sink="file",
            sink_dir=data_dir / "played",
            resend_receipts_after_s=60,
            **config,
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
    return agent


Step = tuple[int, Callable[[Agent, int], Coroutine[Any, Any, None]]]


async def run(agent: Agent, t0: int, steps: Sequence[Step], until: int) -> list[m.Receipt]:
    clock = asyncio.create_task(agent._clock_loop())
    try:
        agent.feed(s.CONNECTED)
        for at, step in sorted(steps, key=lambda st: st[0]):
            await sleep_until(t0 + at)
            await step(agent, t0)
        await sleep_until(t0 + until)
    finally:
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock
        await asyncio.gather(*list(agent._tasks), return_exceptions=True)
        await agent.output.close()
        agent.journal.close()
    wire = agent._client
    assert isinstance(wire, Recorder)
    receipts = []
    for topic, payload in wire.published:
        if topic.endswith("/receipts"):
            receipts += m.ReceiptBatch.model_validate_json(payload).receipts
    return receipts


def manifest(slots: Sequence[StreamSlot], version: int = 1) -> Callable[[Agent, int], Coroutine[Any, Any, None]]:
    async def step(agent: Agent, t0: int) -> None:
        agent.feed(s.ManifestFetched(*signed_manifest(slots, t0, version)))

    return step


def stream_server(fmt: str = "ogg", seconds: float = 6.0, **kw: Any) -> StreamServer:
    chunks = encode(tone_pcm(seconds, tone_at_s=TONE_AT_S), fmt)
    types = {"ogg": "audio/ogg", "webm": "audio/webm", "mp3": "audio/mpeg"}
    return StreamServer(chunks, free_port(*PORTS), content_type=types[fmt], **kw).start()


def stream_files(data_dir: Path) -> list[tuple[dict[str, Any], Path]]:
    log = data_dir / "played" / "played.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [(r, data_dir / "played" / r["path"]) for r in rows if r.get("stream")]


def tone_sounded_at(row: dict[str, Any], path: Path) -> list[float]:
    """Wall times at which the tone began in the sink."""
    pcm, rate = read_wav(path)
    return [row["started_at"] + t for t in tone_onsets(pcm, rate)]


@pytest.mark.parametrize("fmt", ["ogg", "webm", "mp3"])
def test_a_stream_item_plays_and_its_tone_is_in_the_sink(fmt: str, tmp_path: Path) -> None:
    server = stream_server(fmt)
    try:
        agent = new_agent(tmp_path)
        t0 = now_ms() + 300
        slot = StreamSlot("live.1", start=200, duration=3500, url=server.url())
        receipts = asyncio.run(run(agent, t0, [(0, manifest([slot]))], until=4200))
    finally:
        server.stop()
    assert len(server.connections) == 1 and "token=tok" in server.connections[0][1]
    ((row, path),) = stream_files(tmp_path)
    onsets = tone_sounded_at(row, path)
    assert len(onsets) == 1, onsets
    latency = onsets[0] - (server.connections[0][0] + TONE_AT_S)
    assert 0 < latency < 2.0  # the jitter buffer (0.5 s) and decoding, far below the 2 s
    (receipt,) = receipts
    assert receipt.kind is m.ReceiptKind.STREAM and receipt.audio_sha256 is None
    assert receipt.outcome is m.Outcome.PLAYED and receipt.interruptions == 0
    assert receipt.heard_ms is not None and 3000 <= receipt.heard_ms <= 3600

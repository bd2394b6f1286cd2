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
from tests.support.device_table import AUDIO, DEVICE, PUBLIC, SHA, TOPICS, Cmd, command_wire
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


def manifest(
    slots: Sequence[StreamSlot], version: int = 1
) -> Callable[[Agent, int], Coroutine[Any, Any, None]]:
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
    assert receipt.heard_ms is not None and 2700 <= receipt.heard_ms <= 3500  # from its first audio


def wav_clip(seconds: float, hz: float) -> bytes:
    """A cached clip (WAV, 22.05 kHz) of a steady sine: a programme, or a stream's fallback."""
    import io
    import wave

    import numpy as np

    t = np.arange(int(seconds * 22050)) / 22050
    pcm = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def cache_clip(agent: Agent, data: bytes) -> tuple[str, int]:
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    agent.cache.partial(sha).write_bytes(data)
    agent.cache.commit(sha)
    agent.core.playout.ready_audio.add(sha)
    return sha, len(data)


def file_segments(data_dir: Path, item_id: str) -> list[dict[str, Any]]:
    log = data_dir / "played" / "played.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return [r for r in rows if r["item_id"] == item_id and not r.get("stream")]


def test_a_live_item_preempts_the_programme_which_resumes_when_the_server_withdraws_it(
    tmp_path: Path,
) -> None:
    server = stream_server("ogg", seconds=8)
    try:
        agent = new_agent(tmp_path)
        sha, size = cache_clip(agent, wav_clip(3.0, 440))
        t0 = now_ms() + 300
        programme = StreamSlot("p.tin-sang", start=0, duration=3000, priority=300, sha256=sha, size=size)
        live = StreamSlot("live.2", start=1000, duration=600_000, url=server.url())
        steps: list[Step] = [
            (0, manifest([programme, live])),
            (3500, manifest([programme], version=2)),  # the operator ends the broadcast
        ]
        receipts = asyncio.run(run(agent, t0, steps, until=6300))
    finally:
        server.stop()
    by_item = {r.item_id: r for r in receipts}
    assert set(by_item) == {"p.tin-sang", "live.2"}
    stream = by_item["live.2"]
    assert stream.outcome is m.Outcome.PLAYED and stream.kind is m.ReceiptKind.STREAM
    assert stream.heard_ms is not None and 1500 <= stream.heard_ms <= 2600  # from its first audio
    ended = stream.ended_at.timestamp() * 1000 - t0
    assert 3400 <= ended <= 3700  # cut when the newer manifest arrived, not at its upper bound
    prog = by_item["p.tin-sang"]
    assert prog.outcome is m.Outcome.PLAYED  # heard whole: before and after the broadcast
    first, resumed = file_segments(tmp_path, "p.tin-sang")
    assert 800 <= first["played_ms"] <= 1200  # the plan gives the loudspeaker to the live item at 1 s
    assert 800 <= resumed["offset_ms"] <= 1200  # where it stopped, not from the start
    assert resumed["started_at"] * 1000 - t0 >= 3400
    ((row, path),) = stream_files(tmp_path)
    assert len(tone_sounded_at(row, path)) == 1


def test_a_stream_that_drops_plays_the_fallback_reconnects_and_counts_the_interruption(
    tmp_path: Path,
) -> None:
    server = stream_server("mp3", seconds=8, drop_after_s=2.0)
    try:
        agent = new_agent(tmp_path)
        sha, size = cache_clip(agent, wav_clip(2.0, 600))
        t0 = now_ms() + 300
        relay = StreamSlot(
            "relay.vov1", start=100, duration=6000, priority=400, url=server.url(), sha256=sha, size=size
        )
        receipts = asyncio.run(run(agent, t0, [(0, manifest([relay]))], until=6600))
    finally:
        server.stop()
    assert len(server.connections) == 2  # the drop, then one reconnection that held
    (receipt,) = receipts
    assert receipt.outcome is m.Outcome.PLAYED and receipt.interruptions == 1
    # heard: 6 s less two buffer fills and the time down (the drain, the backoff, the refill)
    assert receipt.heard_ms is not None and 3000 <= receipt.heard_ms <= 5000
    ((row, path),) = stream_files(tmp_path)
    pcm, rate = read_wav(path)
    tones = tone_onsets(pcm, rate)
    assert len(tones) == 2  # the source's tone, heard on each connection
    fallback = tone_onsets(pcm, rate, hz=600)
    assert len(fallback) >= 1 and tones[0] < fallback[0] < tones[1]  # the clip filled the gap
    reconnect_at = server.connections[1][0] - row["started_at"]
    assert fallback[0] < reconnect_at


def test_a_dead_url_at_slot_time_is_retried_until_the_source_comes(tmp_path: Path) -> None:
    port = free_port(*PORTS)
    url = f"http://127.0.0.1:{port}/live/xa-ba-to?token=tok"
    late: list[StreamServer] = []

    async def source_comes(agent: Agent, t0: int) -> None:
        chunks = encode(tone_pcm(6, tone_at_s=TONE_AT_S), "ogg")
        late.append(StreamServer(chunks, port).start())

    try:
        agent = new_agent(tmp_path, stream_retry_max_s=1.0)
        t0 = now_ms() + 300
        relay = StreamSlot("relay.tinh", start=0, duration=5000, priority=400, url=url)
        steps: list[Step] = [(0, manifest([relay])), (1500, source_comes)]
        receipts = asyncio.run(run(agent, t0, steps, until=5600))
    finally:
        for server in late:
            server.stop()
    (receipt,) = receipts
    assert receipt.outcome is m.Outcome.PLAYED and receipt.interruptions == 1
    assert receipt.heard_ms is not None and 1500 <= receipt.heard_ms <= 3700
    ((_row, path),) = stream_files(tmp_path)
    pcm, rate = read_wav(path)
    (onset,) = tone_onsets(pcm, rate)
    assert onset > 1.5  # silence while the URL was dead, then the source
    assert float(abs(pcm[: int(rate * 1.4)]).max()) < 0.001


def test_a_url_dead_for_the_whole_item_fails_it(tmp_path: Path) -> None:
    port = free_port(*PORTS)
    agent = new_agent(tmp_path, stream_retry_max_s=0.5)
    t0 = now_ms() + 300
    relay = StreamSlot(
        "relay.dead", start=0, duration=2000, priority=400, url=f"http://127.0.0.1:{port}/x?token=t"
    )
    (receipt,) = asyncio.run(run(agent, t0, [(0, manifest([relay]))], until=2500))
    assert receipt.outcome is m.Outcome.FAILED and receipt.detail == "stream_unavailable"
    assert receipt.heard_ms == 0 and receipt.interruptions == 1


def test_a_url_the_manifest_does_not_carry_never_plays(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from loa.protocol import manifest as mf

    server = stream_server("ogg")
    try:
        agent = new_agent(tmp_path)
        t0 = now_ms() + 300

        async def injected_command(agent: Agent, t0: int) -> None:  # a command naming a stream URL
            args: dict[str, object] = {
                "audio_sha256": SHA["bulletin"],
                "item_id": "cmd-x",
                "url": server.url(),
                "stream_url": server.url(),
            }
            topic, payload = command_wire(Cmd(0, "c-inject", "play_now", args), now_ms())
            await agent._on_message(topic, payload)

        async def forged_manifest(agent: Agent, t0: int) -> None:  # signed by another key
            body, _ = signed_manifest(
                [StreamSlot("live.forged", start=0, duration=2000, url=server.url())], t0, 5
            )
            agent.feed(s.ManifestFetched(body, mf.sign(body, Ed25519PrivateKey.generate())))

        steps: list[Step] = [(0, injected_command), (600, forged_manifest)]
        receipts = asyncio.run(run(agent, t0, steps, until=2500))
    finally:
        server.stop()
    assert server.connections == []
    assert stream_files(tmp_path) == []
    assert agent.core.manifest_error == "signature_invalid"
    assert [(r.item_id, r.kind) for r in receipts] == [("cmd-x", m.ReceiptKind.FILE)]  # the file only

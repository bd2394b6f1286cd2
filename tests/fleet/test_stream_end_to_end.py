"""Issue 14.3 end to end: two real agents, a real broker (embedded amqtt and Mosquitto), the real app
over HTTP, the gateway and a real database, and a real HTTP stream server sending Ogg/Opus with a tone.
A live item in each device's signed manifest (its URL with that device's token) pre-empts the
programme; the tone is found in both sinks; the server withdraws the item (a newer manifest) and the
programme resumes; the stream receipts are recorded once, with their heard time."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.agent.runtime import Agent
from loa.app import create_app
from loa.db import make_session_factory
from loa.protocol.topics import Topics
from tests.fleet.harness import (
    ServerThread,
    Slot,
    broker,
    make_gateway,
    new_device,
    publish_manifest,
    receipts_of,
    running,
    store_audio,
    unique_prefix,
    wait_event,
    wait_until,
    wav_bytes,
)
from tests.fleet.test_end_to_end import agent_config, make_settings
from tests.support.streams import StreamServer, encode, free_port, read_wav, tone_onsets, tone_pcm

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
TONE_AT_S = 1.0


def test_two_agents_play_a_live_item_and_the_programme_resumes(
    tmp_path: Path, engine: Engine, broker_kind: str
) -> None:
    server = StreamServer(encode(tone_pcm(30, tone_at_s=TONE_AT_S), "ogg"), free_port(18120, 18199)).start()
    try:
        asyncio.run(_live(tmp_path, engine, broker_kind, server))
    finally:
        server.stop()


async def _live(tmp_path: Path, engine: Engine, broker_kind: str, stream: StreamServer) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    audio = wav_bytes(4.0, 440.0)
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, audio)
        devices = [new_device(factory, "Cụm loa thôn 1"), new_device(factory, "Cụm loa thôn 2")]
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as web:
            async with running(gateway.run, "gateway"):
                await wait_event(gateway.ready, "ready")
                agents = [
                    Agent(agent_config(tmp_path, n, web.url, code))
                    for n, (_u, code) in zip("ab", devices, strict=True)
                ]
                async with running(agents[0].run, "agent-a"), running(agents[1].run, "agent-b"):
                    await wait_until(lambda: all(a.connected.is_set() for a in agents), 15, "agents connect")
                    start = datetime.now(UTC) + timedelta(seconds=2)
                    programme = Slot("tin-sang", sha, len(audio), start, 4000)
                    for uid, _code in devices:
                        live = Slot("live.1", "", 0, start + timedelta(seconds=1), 600_000, priority=700,
                                    stream_url=stream.url(token=uid))  # fmt: skip
                        publish_manifest(factory, settings.data_dir, uid, 1, [programme, live])
                    await wait_until(lambda: len(stream.connections) == 2, 15, "both listen")
                    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 4.0)
                    for uid, _code in devices:  # the operator ends the broadcast
                        publish_manifest(factory, settings.data_dir, uid, 2, [programme])
                    await wait_until(
                        lambda: all(len(receipts_of(factory, u)) == 2 for u, _c in devices), 25, "receipts"
                    )
    assert sorted(path.split("token=")[1] for _at, path in stream.connections) == sorted(
        u for u, _c in devices
    )
    for (uid, _code), name in zip(devices, "ab", strict=True):
        receipts = {r.item_id: r for r in receipts_of(factory, uid)}
        live_r, prog = receipts["live.1"], receipts["tin-sang"]
        assert live_r.kind == "stream" and live_r.audio_sha256 is None and live_r.outcome.value == "played"
        assert live_r.heard_ms is not None and 1500 <= live_r.heard_ms <= 5000 and live_r.priority == 700
        assert prog.outcome.value == "played"  # heard whole: before and after the broadcast
        played = tmp_path / name / "played"
        rows = [json.loads(line) for line in (played / "played.jsonl").read_text().splitlines()]
        (wav,) = [played / r["path"] for r in rows if r.get("stream")]
        pcm, rate = read_wav(wav)
        assert len(tone_onsets(pcm, rate)) == 1  # the source's tone, in this loudspeaker's sink
        segments = [r for r in rows if r["item_id"] == "tin-sang"]
        assert len(segments) == 2 and 700 <= segments[1]["offset_ms"] <= 1300  # resumed where it stopped

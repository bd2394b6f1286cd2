"""Faults: a device cut off for its whole slot, tampered manifests, wrong audio, malformed payloads,
interrupted downloads, a restarted broker and a restarted gateway."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from loa.agent.fetch import DataBudget, ServerClient
from loa.agent.runtime import Agent
from loa.agent.storage import AudioCache
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import service
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    ServerThread,
    Slot,
    TcpProxy,
    broker,
    make_gateway,
    new_device,
    publish_manifest,
    receipts_of,
    running,
    settle,
    store_audio,
    unique_prefix,
    wait_event,
    wait_until,
    wav_bytes,
)
from tests.fleet.test_end_to_end import agent_config, make_settings

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def device_row(engine: Engine, uid: str) -> tuple[bool, str | None, int | None]:
    with make_session_factory(engine)() as s:
        d = service.get_device(s, uid=uid)
        return d.online, d.manifest_error, d.manifest_version


def test_agent_cut_off_for_its_slot_still_plays_and_delivers_once(
    tmp_path: Path, engine: Engine, broker_kind: str
) -> None:
    asyncio.run(_cut_off(tmp_path, engine, broker_kind))


async def _cut_off(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    audio = wav_bytes(1.0)
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, audio)
        uid, code = new_device(factory, "Cụm loa chợ")
        proxy = TcpProxy(handle.host, handle.port)
        await proxy.start()
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            agent = Agent(
                agent_config(tmp_path, "a", server.url, code, mqtt_host="127.0.0.1", mqtt_port=proxy.port)
            )
            async with running(gateway.run), running(agent.run):
                await wait_until(agent.connected.is_set, 15, "agent connects")
                await wait_until(lambda: device_row(engine, uid)[0], 10, "device online")
                start = datetime.now(UTC) + timedelta(seconds=2.5)
                publish_manifest(
                    factory, settings.data_dir, uid, 1, [Slot("tin-trua", sha, len(audio), start, 1000)]
                )
                await wait_until(
                    lambda: agent.manifest is not None and agent.cache.has(sha), 10, "manifest+audio"
                )
                proxy.cut()
                await wait_until(lambda: not device_row(engine, uid)[0], 15, "device seen offline")
                await wait_until(lambda: bool(agent.journal.pending()), 10, "played while offline")
                assert receipts_of(factory, uid) == []
                proxy.restore()
                await wait_until(lambda: len(receipts_of(factory, uid)) == 1, 20, "receipt delivered")
                await wait_until(lambda: not agent.journal.pending(), 10, "receipt acked")
                await settle(lambda: gateway.stats.statuses, 3, "heartbeats")  # a resend would show
            await proxy.stop()
    receipts = receipts_of(factory, uid)
    assert len(receipts) == 1 and receipts[0].outcome.value == "played"


def test_tampered_manifest_and_wrong_audio_are_refused_and_reported(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_tampered(tmp_path, engine))


async def _tampered(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    good = wav_bytes(1.0)
    async with broker("amqtt", engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, good)
        uid, code = new_device(factory, "Cụm loa UBND")
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            agent = Agent(agent_config(tmp_path, "a", server.url, code))
            async with running(gateway.run), running(agent.run):
                await wait_until(agent.connected.is_set, 15, "agent connects")
                later = datetime.now(UTC) + timedelta(minutes=5)
                publish_manifest(
                    factory, settings.data_dir, uid, 1, [Slot("tin-1", sha, len(good), later, 1000)]
                )
                await wait_until(lambda: device_row(engine, uid)[2] == 1, 10, "version 1 reported")
                publish_manifest(
                    factory,
                    settings.data_dir,
                    uid,
                    2,
                    [Slot("tin-2", sha, len(good), later, 1000)],
                    tamper=True,
                )
                await wait_until(
                    lambda: device_row(engine, uid)[1] == "signature_invalid", 10, "refusal reported"
                )
                assert agent.manifest is not None and agent.manifest.manifest_version == 1
                assert [i.id for i in agent.core.items().values()] == ["tin-1"]
                # Audio whose bytes do not match the hash the manifest promises.
                fake_sha = hashlib.sha256(b"what the manifest promised").hexdigest()
                (settings.audio_dir / f"{fake_sha}.wav").write_bytes(good)
                publish_manifest(
                    factory, settings.data_dir, uid, 3, [Slot("tin-3", fake_sha, len(good), later, 1000)]
                )
                await wait_until(
                    lambda: device_row(engine, uid)[1] == "audio_hash_mismatch", 10, "bad audio reported"
                )
                assert not agent.cache.has(fake_sha) and agent.audio_errors >= 1


def test_malformed_and_oversized_payloads_are_dropped_and_counted(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_malformed(engine))


async def _malformed(engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    uid, _code = new_device(factory, "Cụm loa 1")
    async with broker("amqtt", engine, topics) as handle:
        gateway = make_gateway(handle, engine, topics)
        async with running(gateway.run) as task:
            await wait_event(gateway.ready, "ready")
            async with aiomqtt.Client(
                handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
            ) as c:
                status_topic = topics.device(uid, Channel.STATUS)
                await c.publish(status_topic, b"\xff\xfe not json", qos=1)
                await c.publish(status_topic, b'{"v": 1, "type": "status"' + b" " * 20_000 + b"}", qos=1)
                await c.publish(status_topic, b'{"v": 2, "type": "status"}', qos=1)
                await c.publish(
                    status_topic, b'{"v": 1, "type": "status", "sent_at": "x", "volume": 900}', qos=1
                )
                await c.publish(status_topic, b"[1, 2, 3]", qos=1)
                await c.publish(topics.device(uid, Channel.RECEIPTS), b'{"v": 1, "receipts": []}', qos=1)
                await c.publish(status_topic, m.Status(sent_at=m.now_utc(), volume=42).to_bytes(), qos=1)
            await wait_until(lambda: gateway.stats.statuses == 1, 10, "valid status written")
            assert not task.done()
            assert gateway.stats.dropped["not_json"] == 1
            assert gateway.stats.dropped["oversized"] == 1
            assert gateway.stats.dropped["bad_version"] == 1
            assert gateway.stats.dropped["invalid"] == 3
    with factory() as s:
        assert service.get_device(s, uid=uid).volume == 42


def test_interrupted_download_resumes_with_range(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_resume(tmp_path, engine))


async def _resume(tmp_path: Path, engine: Engine) -> None:
    factory = make_session_factory(engine)
    settings = make_settings(tmp_path, "loa", "127.0.0.1", 1)
    audio = wav_bytes(3.0)
    sha = store_audio(settings.audio_dir, audio)
    uid, code = new_device(factory, "Cụm loa 2")
    with factory() as s, s.begin():
        secret = service.enrol(s, code=code).secret
        # A device downloads only audio it was told to play (issue 20, point 8).
        device = service.get_device(s, uid=uid)
        service.issue_command(s, devices=[device], kind="play_now", args={"audio_sha256": sha})
    cache = AudioCache(tmp_path / "agent")
    half = len(audio) // 2
    cache.partial(sha).write_bytes(audio[:half])  # what a power cut left behind
    budget = DataBudget(tmp_path / "agent" / "budget.json", None)
    with ServerThread(create_app(settings, engine=engine)) as server:
        client = ServerClient(server.url, uid, secret)
        try:
            path = await client.download(sha, cache, budget, urgent=False)
        finally:
            await client.aclose()
    assert path.read_bytes() == audio
    assert budget.used == len(audio) - half  # only the missing half crossed the network
    assert not cache.partial(sha).exists()


def test_broker_and_gateway_restarts_lose_nothing(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_restarts(tmp_path, engine))


async def _restarts(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    audio = wav_bytes(1.0)
    async with broker("amqtt", engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, audio)
        uid, code = new_device(factory, "Cụm loa bến đò")
        with ServerThread(create_app(settings, engine=engine)) as server:
            agent = Agent(agent_config(tmp_path, "a", server.url, code))
            async with running(agent.run):
                async with running(make_gateway(handle, engine, topics).run):
                    await wait_until(agent.connected.is_set, 15, "agent connects")
                    start = datetime.now(UTC) + timedelta(seconds=2.5)
                    slots = [Slot("tin-1", sha, len(audio), start, 1000)]
                    publish_manifest(factory, settings.data_dir, uid, 1, slots)
                    await wait_until(lambda: agent.cache.has(sha), 10, "audio cached")
                # Gateway down for the slot; then the broker restarts (amqtt forgets every session).
                await wait_until(lambda: bool(agent.journal.pending()), 10, "played, receipt pending")
                await handle.restart()
                gateway = make_gateway(handle, engine, topics)
                async with running(gateway.run):
                    await wait_until(
                        lambda: len(receipts_of(factory, uid)) == 1, 20, "receipt after restarts"
                    )
                    await wait_until(lambda: not agent.journal.pending(), 10, "acked")
                    await settle(lambda: gateway.stats.statuses, 3, "heartbeats")  # a resend would show
    assert len(receipts_of(factory, uid)) == 1

"""Two real agents, a real broker (embedded amqtt and Mosquitto), the real app over HTTP, the gateway
and a real database: manifests arrive, audio is fetched and played on time, receipts recorded once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from loa.agent.config import AgentConfig
from loa.agent.runtime import Agent
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet.models import Device, DeviceStatusLog, StatusEvent
from loa.protocol.topics import Topics
from loa.settings import Settings
from tests.fleet.harness import (
    ServerThread,
    Slot,
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

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def make_settings(tmp_path: Path, prefix: str, host: str, port: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        demo=True,
        data_dir=tmp_path / "server",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        mqtt_topic_prefix=prefix,
        mqtt_host=host,
        mqtt_port=port,
    )


def agent_config(tmp_path: Path, name: str, server_url: str, code: str, **extra: object) -> AgentConfig:
    return AgentConfig(
        server_url=server_url,
        data_dir=tmp_path / name,
        enrol_code=code,
        sink="file",
        sink_dir=tmp_path / name / "played",
        heartbeat_s=1,
        resend_receipts_after_s=1.0,
        reconnect_max_s=1.0,
        **extra,  # type: ignore[arg-type]
    )


def played_files(sink_dir: Path) -> list[Path]:
    return sorted(sink_dir.glob("*.audio"))


def test_two_agents_play_on_time_and_receipts_are_recorded_once(
    tmp_path: Path, engine: Engine, broker_kind: str
) -> None:
    asyncio.run(_two_agents(tmp_path, engine, broker_kind))


async def _two_agents(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    audio = wav_bytes(1.0, 523.0)
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, audio)
        (uid_a, code_a), (uid_b, code_b) = (
            new_device(factory, "Cụm loa thôn 1"),
            new_device(factory, "Cụm loa thôn 2"),
        )
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            async with running(gateway.run, "gateway"):
                await wait_event(gateway.ready, "ready")
                agents = [
                    Agent(agent_config(tmp_path, "a", server.url, code_a)),
                    Agent(agent_config(tmp_path, "b", server.url, code_b)),
                ]
                async with running(agents[0].run, "agent-a"), running(agents[1].run, "agent-b"):
                    await wait_until(lambda: all(a.connected.is_set() for a in agents), 15, "agents connect")
                    start = datetime.now(UTC) + timedelta(seconds=1.5)
                    for uid in (uid_a, uid_b):
                        publish_manifest(
                            factory,
                            settings.data_dir,
                            uid,
                            1,
                            [Slot("tin-sang", sha, len(audio), start, 1000)],
                        )
                    await wait_until(
                        lambda: all(receipts_of(factory, u) for u in (uid_a, uid_b)), 20, "receipts recorded"
                    )
                    await wait_until(
                        lambda: all(not a.journal.pending() for a in agents), 10, "receipts acked"
                    )
                    # A few more heartbeats and resend windows: nothing may be recorded twice.
                    await settle(lambda: gateway.stats.statuses, 4, "heartbeats")

        for uid, name in ((uid_a, "a"), (uid_b, "b")):
            receipts = receipts_of(factory, uid)
            assert len(receipts) == 1
            receipt = receipts[0]
            assert receipt.item_id == "tin-sang" and receipt.outcome.value == "played"
            assert receipt.audio_sha256 == sha
            # Played at its time (within the sink's scheduling slack), and for its length.
            assert abs((receipt.started_at - start).total_seconds()) < 0.5
            assert 0.8 < (receipt.ended_at - receipt.started_at).total_seconds() < 1.6
            files = played_files(tmp_path / name / "played")
            assert len(files) == 1
            assert hashlib.sha256(files[0].read_bytes()).hexdigest() == sha
            with wave.open(str(files[0])) as w:
                assert w.getnframes() / w.getframerate() == pytest.approx(1.0, abs=0.01)
            log = [
                json.loads(line)
                for line in (tmp_path / name / "played" / "played.jsonl").read_text().splitlines()
            ]
            assert [entry["item_id"] for entry in log] == ["tin-sang"]
            assert not log[0]["interrupted"]

        with factory() as s:
            devices = {d.uid: d for d in s.scalars(select(Device))}
            assert devices[uid_a].manifest_version == 1 and devices[uid_a].enrolled_at is not None
            events = [
                e.event
                for e in s.scalars(
                    select(DeviceStatusLog).where(DeviceStatusLog.device_id == devices[uid_a].id)
                )
            ]
            assert StatusEvent.ENROLLED in events and StatusEvent.ONLINE in events

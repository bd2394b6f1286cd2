"""Commands reaching a real agent through the embedded broker and the gateway: a "play now" pre-empts
the scheduled programme (the interrupted item resumes or is skipped by its rule, and the receipts say
so), a command replayed after its expiry is dropped by the agent and reported as expired, and
"reboot" makes the agent exit with the code its supervisor restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine, select

from loa.agent.runtime import Agent, RestartRequested
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import service
from loa.fleet.models import DeviceCommand
from loa.protocol.priority import PreemptRule
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
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
    wait_until,
    wav_bytes,
)
from tests.fleet.test_end_to_end import agent_config, make_settings

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def play_now(engine: Engine, uid: str, sha: str, item_id: str) -> str:
    with make_session_factory(engine)() as s, s.begin():
        device = service.get_device(s, uid=uid)
        (row,) = service.issue_command(
            s, devices=[device], kind="play_now", args={"audio_sha256": sha, "item_id": item_id}
        )
        return row.id


def command_row(engine: Engine, command_id: str) -> DeviceCommand:
    with make_session_factory(engine)() as s:
        row = s.scalar(select(DeviceCommand).where(DeviceCommand.id == command_id))
        assert row is not None
        return row


def test_play_now_preempts_the_programme_late_commands_are_dropped_reboot_restarts(
    tmp_path: Path, engine: Engine
) -> None:
    asyncio.run(_scenario(tmp_path, engine))


async def _scenario(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    programme, bulletin = wav_bytes(3.0, 330.0), wav_bytes(1.0, 660.0)
    async with broker("amqtt", engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha_programme = store_audio(settings.audio_dir, programme)
        sha_bulletin = store_audio(settings.audio_dir, bulletin)
        uid, code = new_device(factory, "Cụm loa thôn 4")
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            agent = Agent(agent_config(tmp_path, "a", server.url, code))
            async with running(gateway.run), running(agent.run) as agent_task:
                await wait_until(agent.connected.is_set, 15, "agent connects")
                t0 = datetime.now(UTC) + timedelta(seconds=2)
                slots = [
                    Slot("ct-skip", sha_programme, len(programme), t0, 3000, rule=PreemptRule.SKIP),
                    Slot(
                        "ct-resume", sha_programme, len(programme), t0 + timedelta(seconds=5), 3000
                    ),  # RESUME
                ]
                publish_manifest(factory, settings.data_dir, uid, 1, slots)
                await wait_until(lambda: agent.cache.has(sha_programme), 10, "programme cached")

                def playing() -> str | None:
                    return agent.core.playing.id if agent.core.playing else None

                await wait_until(lambda: playing() == "ct-skip", 10, "programme A plays")
                await asyncio.sleep(0.5)
                play_now(engine, uid, sha_bulletin, "bt-1")
                await wait_until(lambda: playing() == "bt-1", 5, "play-now pre-empts A")
                await wait_until(lambda: playing() == "ct-resume", 10, "programme B plays")
                await asyncio.sleep(0.5)
                play_now(engine, uid, sha_bulletin, "bt-2")
                await wait_until(lambda: playing() == "bt-2", 5, "play-now pre-empts B")
                await wait_until(lambda: playing() == "ct-resume", 5, "B resumes")
                await wait_until(lambda: len(receipts_of(factory, uid)) == 4, 15, "four receipts")

                # A command replayed by the broker after its expiry (e.g. QoS 1 redelivery to a
                # device that was away): the gateway never sends it, the agent refuses it.
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    (late,) = service.issue_command(
                        s,
                        devices=[device],
                        kind="play_now",
                        args={"audio_sha256": sha_bulletin, "item_id": "bt-late"},
                        now=datetime.now(UTC) - timedelta(minutes=20),
                    )
                    late_id, late_payload = late.id, late.payload
                await asyncio.sleep(0.3)  # a few outbox rounds: an expired row is never sent
                assert command_row(engine, late_id).sent_at is None
                async with aiomqtt.Client(
                    handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
                ) as backend:
                    await backend.publish(topics.device(uid, Channel.CMD), late_payload.encode(), qos=1)
                await wait_until(
                    lambda: command_row(engine, late_id).result == "expired", 10, "expiry reported"
                )
                assert "bt-late" not in agent.core.items() and playing() != "bt-late"

                # "reboot": the agent answers, then leaves with the exit code its supervisor restarts.
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    (reboot,) = service.issue_command(s, devices=[device], kind="reboot", args={})
                    reboot_id = reboot.id
                await wait_until(agent_task.done, 10, "agent exits for a restart")
                assert isinstance(agent_task.exception(), RestartRequested)
                await wait_until(lambda: command_row(engine, reboot_id).result == "done", 10, "reboot acked")

    receipts = {r.item_id: r for r in receipts_of(factory, uid)}
    assert set(receipts) == {"ct-skip", "bt-1", "ct-resume", "bt-2"}
    skipped = receipts["ct-skip"]
    assert skipped.outcome.value == "preempted" and skipped.detail == "by:bt-1"
    assert 0.3 < (skipped.ended_at - skipped.started_at).total_seconds() < 2.9  # cut, never resumed
    resumed = receipts["ct-resume"]
    assert resumed.outcome.value == "played"  # its whole content was heard around bt-2
    assert (resumed.ended_at - resumed.started_at).total_seconds() > 3.5  # 3 s of audio + 1 s of bt-2
    for item in ("bt-1", "bt-2"):
        assert receipts[item].outcome.value == "played" and receipts[item].audio_sha256 == sha_bulletin
    # The play-now commands were acknowledged as done; their priority was the bulletin rung (500).
    with factory() as s:
        rows = list(s.scalars(select(DeviceCommand).where(DeviceCommand.result.is_not(None))))
    done = [r for r in rows if r.result == "done" and r.kind == "play_now"]
    assert len(done) == 2 and all(json.loads(r.payload)["args"].get("priority", 500) == 500 for r in done)


def test_a_repeated_emergency_message_comes_round_until_stopped(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_repeat_scenario(tmp_path, engine))


async def _repeat_scenario(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    alert = wav_bytes(1.0, 880.0)
    async with broker("amqtt", engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        sha = store_audio(settings.audio_dir, alert)
        uid, code = new_device(factory, "Cụm loa ven sông")
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            agent = Agent(agent_config(tmp_path, "r", server.url, code))
            async with running(gateway.run), running(agent.run):
                await wait_until(agent.connected.is_set, 15, "agent connects")
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    service.issue_command(
                        s,
                        devices=[device],
                        kind="play_now",
                        args={"audio_sha256": sha, "item_id": "lu-1", "priority": 900, "repeat_gap_s": 0},
                    )

                def played() -> list[str]:
                    return sorted(r.item_id for r in receipts_of(factory, uid) if r.outcome.value == "played")

                await wait_until(lambda: len(played()) >= 3, 20, "three rounds played")
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    service.issue_command(s, devices=[device], kind="stop", args={})
                await wait_until(lambda: agent.core.playing is None, 10, "silence after the stop")

                def stopped() -> bool:  # the round that was sounding, cut by the stop
                    return any(r.detail == "by:operator_stop" for r in receipts_of(factory, uid))

                await wait_until(stopped, 10, "the cut round's receipt")
                settled = len(receipts_of(factory, uid))
                await asyncio.sleep(2.5)  # more than two rounds of 1 s with no gap
                assert len(receipts_of(factory, uid)) == settled, "it came round again after the stop"
                assert agent.core.playing is None

                # Again, and this time the stop reaches the loudspeaker late (it was away when it was
                # sent; the broker session hands it over expired): it still ends the repetition.
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    service.issue_command(
                        s,
                        devices=[device],
                        kind="play_now",
                        args={"audio_sha256": sha, "item_id": "lu-2", "priority": 900, "repeat_gap_s": 0},
                    )
                await wait_until(lambda: "lu-2.r2" in played(), 20, "the second alert comes round")
                with factory() as s, s.begin():
                    device = service.get_device(s, uid=uid)
                    (late,) = service.issue_command(
                        s,
                        devices=[device],
                        kind="stop",
                        args={},
                        now=datetime.now(UTC) - timedelta(hours=2),
                    )
                    late_payload = late.payload
                async with aiomqtt.Client(
                    handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
                ) as backend:
                    await backend.publish(topics.device(uid, Channel.CMD), late_payload.encode(), qos=1)
                await wait_until(lambda: agent.core.playing is None, 10, "silence after the late stop")

                def cut_twice() -> bool:  # each stop cut the round that was sounding
                    return sum(r.detail == "by:operator_stop" for r in receipts_of(factory, uid)) == 2

                await wait_until(cut_twice, 10, "the second cut round's receipt")
                settled = len(receipts_of(factory, uid))
                await asyncio.sleep(2.5)
                assert len(receipts_of(factory, uid)) == settled, "it came round again after a late stop"
    receipts = receipts_of(factory, uid)
    ids = [r.item_id for r in receipts]
    assert len(ids) == len(set(ids))  # every round is its own receipt
    assert {"lu-1", "lu-1.r2", "lu-1.r3"} <= set(ids)
    assert all(r.audio_sha256 == sha for r in receipts)

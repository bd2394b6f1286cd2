"""The outbox wakes the gateway at commit (in this process through the doorbell ``loa.wiring``
subscribes, and through PostgreSQL's NOTIFY for a gateway elsewhere); a rolled-back transaction wakes
nobody; a gateway polling once an hour still sends a command at once."""

from __future__ import annotations

import asyncio
import threading

import aiomqtt
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.fleet import outbox, service
from loa.fleet.gateway import Gateway
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from loa.settings import Settings
from loa.wiring import wire
from tests.fleet.harness import (
    SAFETY_NET_S,
    broker,
    make_gateway,
    new_device,
    running,
    unique_prefix,
    wait_event,
    wait_until,
)

SHA = "ef" * 32


def queue_play_now(engine: Engine | sessionmaker[Session], uid: str, *, commit: bool = True) -> str:
    factory = engine if isinstance(engine, sessionmaker) else make_session_factory(engine)
    with factory() as s:
        (row,) = service.issue_command(
            s, devices=[service.get_device(s, uid=uid)], kind="play_now", args={"audio_sha256": SHA}
        )
        if commit:
            s.commit()
        else:
            s.rollback()
        return row.id


def test_a_commit_rings_the_processs_doorbell_and_a_rollback_does_not(
    engine: Engine, settings: Settings
) -> None:
    process = wire(engine, settings)
    uid, _ = new_device(process.sessions, "Cụm loa thôn 3")
    woken: list[str] = []

    def wake() -> None:
        woken.append(threading.current_thread().name)

    process.doorbell.hold(wake)
    try:
        queue_play_now(process.sessions, uid, commit=False)
        assert woken == []
        queue_play_now(process.sessions, uid)
        assert woken == [threading.current_thread().name]  # once, in the committing thread
        queue_play_now(engine, uid)  # a session factory nobody wired rings no bell
        assert len(woken) == 1
    finally:
        process.doorbell.release(wake)
    queue_play_now(process.sessions, uid)
    assert len(woken) == 1  # released: not called again


def test_postgresql_notify_reaches_a_listener_in_another_session(engine: Engine) -> None:
    uid, _ = new_device(make_session_factory(engine), "Cụm loa thôn 4")
    url = engine.url.render_as_string(hide_password=False)

    async def scenario() -> None:
        woken = asyncio.Event()
        if engine.dialect.name != "postgresql":
            # SQLite has no NOTIFY (the embedded setup runs the gateway in the web process, above).
            await asyncio.wait_for(outbox.listen(url, woken.set), 1)
            assert not woken.is_set()
            return
        async with running(lambda: outbox.listen(url, woken.set), "listen"):
            await wait_event(woken, "woken")  # the first wake-up: on (re)connecting
            woken.clear()
            await asyncio.to_thread(queue_play_now, engine, uid, commit=False)
            await asyncio.sleep(0.5)
            assert not woken.is_set()  # nothing is announced by a rolled-back command
            await asyncio.to_thread(queue_play_now, engine, uid)
            await wait_event(woken, "woken")

    asyncio.run(scenario())


@pytest.mark.mqtt
def test_a_gateway_polling_hourly_sends_a_command_at_once(engine: Engine, settings: Settings) -> None:
    topics = Topics(unique_prefix())
    process = wire(engine, settings)
    factory = process.sessions
    _, code = new_device(factory, "Cụm loa thôn 5")
    with factory() as s, s.begin():
        enrolment = service.enrol(s, code=code)
    uid, secret = enrolment.device_uid, enrolment.secret

    async def scenario() -> None:
        async with broker("amqtt", engine, topics) as handle:
            polling = make_gateway(handle, engine, topics, outbox_interval_s=3600.0)
            gateway = Gateway(polling.config, process.sessions, process.doorbell)  # as ``run_fleet`` does
            async with running(gateway.run, "gateway"):
                await wait_event(gateway.ready, "ready")
                async with aiomqtt.Client(handle.host, handle.port, username=uid, password=secret) as device:
                    await device.subscribe(topics.device(uid, Channel.CMD), qos=1)
                    await asyncio.sleep(0.3)
                    command_id = await asyncio.to_thread(queue_play_now, factory, uid)
                    async with asyncio.timeout(SAFETY_NET_S):
                        async for message in device.messages:
                            parsed = m.parse(Channel.CMD, bytes(message.payload))  # type: ignore[arg-type]
                            assert parsed.id == command_id
                            break
                await wait_until(lambda: gateway.stats.commands_sent == 1, 5, "counted as sent")

    asyncio.run(scenario())

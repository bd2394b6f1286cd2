"""A device may publish only under its own topics, on both brokers. The Mosquitto case runs a private
Mosquitto with the files ``loa broker config`` writes (PBKDF2 ``$7$`` passwords, pattern ACL)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import credentials, mosquitto, service
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    MOSQUITTO,
    SAFETY_NET_S,
    broker,
    free_port,
    new_device,
    unique_prefix,
    wait_for_port,
)

pytestmark = pytest.mark.mqtt


def enrolled(engine: Engine, count: int) -> list[tuple[str, str]]:
    factory = make_session_factory(engine)
    out = []
    for i in range(count):
        _uid, code = new_device(factory, f"Cụm loa {i}")
        with factory() as s, s.begin():
            e = service.enrol(s, code=code)
        out.append((e.device_uid, e.secret))
    return out


async def check_isolation(host: str, port: int, topics: Topics, devices: list[tuple[str, str]]) -> None:
    (uid_a, secret_a), (uid_b, _secret_b) = devices
    status = m.Status(sent_at=m.now_utc()).to_bytes()
    async with aiomqtt.Client(host, port, username=BACKEND_USER, password=BACKEND_PASSWORD) as backend:
        await backend.subscribe(topics.all_devices(Channel.STATUS), qos=1)
        async with aiomqtt.Client(host, port, username=uid_a, password=secret_a, identifier=uid_a) as dev_a:
            # Forged: A pretends to be B. Then A's own report, which must be the first to arrive.
            await dev_a.publish(topics.device(uid_b, Channel.STATUS), status, qos=1)
            await dev_a.publish(topics.device(uid_a, Channel.CMD), b"{}", qos=1)  # server-only channel
            await dev_a.publish(topics.device(uid_a, Channel.STATUS), status, qos=1)
            got = await asyncio.wait_for(anext(aiter(backend.messages)), SAFETY_NET_S)
            assert str(got.topic) == topics.device(uid_a, Channel.STATUS)
            # A cannot listen to B's commands (refused subscription or nothing delivered).
            await dev_a.subscribe(topics.device(uid_b, Channel.CMD), qos=1)
            await backend.publish(topics.device(uid_b, Channel.CMD), b"secret-for-b", qos=1)
            await dev_a.subscribe(topics.device(uid_a, Channel.CMD), qos=1)
            await backend.publish(topics.device(uid_a, Channel.CMD), b"for-a", qos=1)
            first = await asyncio.wait_for(anext(aiter(dev_a.messages)), SAFETY_NET_S)
            assert first.payload == b"for-a"
            # Group commands: every device may read them; none may publish one (the forgery would
            # otherwise reach A itself first).
            group_topic = topics.group_cmd("21484")
            await dev_a.subscribe(group_topic, qos=1)
            await dev_a.subscribe(topics.group_cmd(), qos=1)
            await dev_a.publish(group_topic, b"forged-by-a", qos=1)
            await dev_a.publish(topics.group_cmd(), b"forged-by-a", qos=1)
            await backend.publish(group_topic, b"from-server", qos=1)
            got_group = await asyncio.wait_for(anext(aiter(dev_a.messages)), SAFETY_NET_S)
            assert (str(got_group.topic), got_group.payload) == (group_topic, b"from-server")
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(host, port, username=uid_a, password="wrong-secret"):
            pass


def test_embedded_broker_enforces_device_topics(engine: Engine) -> None:
    topics = Topics(unique_prefix())
    devices = enrolled(engine, 2)

    async def scenario() -> None:
        async with broker("amqtt", engine, topics) as handle:
            await check_isolation(handle.host, handle.port, topics, devices)

    asyncio.run(scenario())


def test_generated_mosquitto_config_enforces_device_topics(engine: Engine, tmp_path: Path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    topics = Topics(unique_prefix())
    devices = enrolled(engine, 2)
    factory = make_session_factory(engine)
    with factory() as s:
        hashes = [(uid, service.get_device(s, uid=uid).mqtt_password_hash or "") for uid, _ in devices]
    port = free_port()
    mosquitto.write_config(
        tmp_path / "mqtt",
        topics=topics,
        options=mosquitto.MosquittoOptions(bind_host="127.0.0.1", port=port, run_as_user="root"),
        passwords=[*hashes, (BACKEND_USER, credentials.mosquitto_hash(BACKEND_PASSWORD))],
        backend_users=[BACKEND_USER],
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "mqtt" / "mosquitto.conf")], stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, proc)
        asyncio.run(check_isolation("127.0.0.1", port, topics, devices))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_mosquitto_hash_matches_reference_vector() -> None:
    # Produced by `mosquitto_passwd -b pw alice secret` (Mosquitto 2.0.11).
    ref = (
        "$7$101$Rd9gaAa8WPP7UXY1$"
        "mkLv0VJr+bQSPagMyJi7FDICQ7zNNCRvDk/6P+rAKQwDijx956ibU7GBB5OVkGtIrFc7bqH6gRNvENAA2K4lcA=="
    )
    assert credentials.verify_mosquitto_hash("secret", ref)
    assert not credentials.verify_mosquitto_hash("Secret", ref)
    import base64

    salt = base64.b64decode("Rd9gaAa8WPP7UXY1")
    assert credentials.mosquitto_hash("secret", salt=salt) == ref

"""A device's credentials cannot take over another device's MQTT session (issue 20, point 7).

The client id must be the username: both brokers replace it (``use_username_as_clientid`` in the
generated Mosquitto config; the embedded broker's auth plugin, which also checks the password before
the broker touches any session). Each scenario runs with a real client (aiomqtt) against the
embedded broker and a private Mosquitto started with the files ``loa broker config`` writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import credentials, mosquitto, service
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

Address = tuple[str, int]


def enrolled(engine: Engine, count: int) -> list[tuple[str, str]]:
    factory = make_session_factory(engine)
    out = []
    for i in range(count):
        _uid, code = new_device(factory, f"Cụm loa {i}")
        with factory() as s, s.begin():
            e = service.enrol(s, code=code)
        out.append((e.device_uid, e.secret))
    return out


@contextlib.contextmanager
def private_mosquitto(
    engine: Engine, tmp_path: Path, topics: Topics, devices: list[tuple[str, str]]
) -> Iterator[Address]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("the fleet tests need /usr/sbin/mosquitto")
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
        yield ("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.asynccontextmanager
async def broker_at(
    kind: str, engine: Engine, tmp_path: Path, topics: Topics, devices: list[tuple[str, str]]
) -> AsyncIterator[Address]:
    if kind == "amqtt":
        async with broker("amqtt", engine, topics) as handle:
            yield (handle.host, handle.port)
    else:
        with private_mosquitto(engine, tmp_path, topics, devices) as address:
            yield address


async def intrude(address: Address, *, username: str, password: str, identifier: str, clean: bool) -> bool:
    """Connect with another device's client id, linger, leave; True when the broker accepted."""
    try:
        async with aiomqtt.Client(
            *address,
            username=username,
            password=password,
            identifier=identifier,
            clean_session=clean,
            timeout=5,
        ):
            await asyncio.sleep(0.5)
            return True
    except aiomqtt.MqttError:
        return False


async def first_message(client: aiomqtt.Client) -> aiomqtt.Message:
    return await asyncio.wait_for(anext(aiter(client.messages)), SAFETY_NET_S)


async def live_session_survives(address: Address, topics: Topics, devices: list[tuple[str, str]]) -> None:
    (uid_a, secret_a), (uid_b, secret_b) = devices
    inbox_b = topics.device(uid_b, Channel.CMD)
    async with (
        aiomqtt.Client(*address, username=BACKEND_USER, password=BACKEND_PASSWORD) as backend,
        aiomqtt.Client(
            *address, username=uid_b, password=secret_b, identifier=uid_b, clean_session=False
        ) as dev_b,
    ):
        await dev_b.subscribe(inbox_b, qos=1)
        # A's real credentials with B's client id, then a wrong password with B's client id.
        await intrude(address, username=uid_a, password=secret_a, identifier=uid_b, clean=True)
        assert not await intrude(address, username=uid_b, password="wrong", identifier=uid_b, clean=True)
        await backend.publish(inbox_b, b"for-b", qos=1)
        got = await first_message(dev_b)  # B was never disconnected
        assert got.payload == b"for-b"


async def stored_session_stays_with_its_device(
    address: Address, topics: Topics, devices: list[tuple[str, str]]
) -> None:
    """B is away with a persistent session; A resumes "B's" session: B must still get its queued
    command when it comes back (the intruder neither receives nor deletes it)."""
    (uid_a, secret_a), (uid_b, secret_b) = devices
    inbox_b = topics.device(uid_b, Channel.CMD)
    async with aiomqtt.Client(
        *address, username=uid_b, password=secret_b, identifier=uid_b, clean_session=False
    ) as dev_b:
        await dev_b.subscribe(inbox_b, qos=1)
    async with aiomqtt.Client(*address, username=BACKEND_USER, password=BACKEND_PASSWORD) as backend:
        await backend.publish(inbox_b, b"queued-for-b", qos=1)
    await intrude(address, username=uid_a, password=secret_a, identifier=uid_b, clean=False)
    await intrude(address, username=uid_a, password=secret_a, identifier=uid_b, clean=True)
    await intrude(address, username=uid_b, password="wrong", identifier=uid_b, clean=True)
    async with aiomqtt.Client(
        *address, username=uid_b, password=secret_b, identifier=uid_b, clean_session=False
    ) as dev_b:
        got = await first_message(dev_b)
        assert got.payload == b"queued-for-b"


@pytest.mark.parametrize("kind", ["amqtt", "mosquitto"])
def test_a_device_cannot_take_over_another_devices_live_session(
    kind: str, engine: Engine, tmp_path: Path
) -> None:
    topics = Topics(unique_prefix())
    devices = enrolled(engine, 2)

    async def scenario() -> None:
        async with broker_at(kind, engine, tmp_path, topics, devices) as address:
            await live_session_survives(address, topics, devices)

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["amqtt", "mosquitto"])
def test_a_device_cannot_resume_or_wipe_another_devices_stored_session(
    kind: str, engine: Engine, tmp_path: Path
) -> None:
    topics = Topics(unique_prefix())
    devices = enrolled(engine, 2)

    async def scenario() -> None:
        async with broker_at(kind, engine, tmp_path, topics, devices) as address:
            await stored_session_stays_with_its_device(address, topics, devices)

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["amqtt", "mosquitto"])
def test_a_device_s_session_is_kept_under_its_username_whatever_id_it_sends(
    kind: str, engine: Engine, tmp_path: Path
) -> None:
    topics = Topics(unique_prefix())
    devices = enrolled(engine, 2)
    (uid_a, secret_a), (uid_b, _) = devices
    inbox_a = topics.device(uid_a, Channel.CMD)

    async def scenario() -> None:
        async with broker_at(kind, engine, tmp_path, topics, devices) as address:
            # A asks for B's id (and then a random one); its subscription lands in A's own session.
            for other_id in (uid_b, "tram-bom-so-3"):
                async with aiomqtt.Client(
                    *address, username=uid_a, password=secret_a, identifier=other_id, clean_session=False
                ) as dev_a:
                    await dev_a.subscribe(inbox_a, qos=1)
                async with aiomqtt.Client(
                    *address, username=BACKEND_USER, password=BACKEND_PASSWORD
                ) as backend:
                    await backend.publish(inbox_a, other_id.encode(), qos=1)
                async with aiomqtt.Client(
                    *address, username=uid_a, password=secret_a, identifier=uid_a, clean_session=False
                ) as dev_a:
                    assert (await first_message(dev_a)).payload == other_id.encode()

    asyncio.run(scenario())


def test_generated_mosquitto_config_ties_client_ids_to_usernames() -> None:
    conf = mosquitto.conf_text(
        mosquitto.MosquittoOptions(tls_port=8883, certfile=Path("/c.pem"), keyfile=Path("/k.pem")),
        password_file=Path("/p"),
        acl_file=Path("/a"),
    )
    listeners = conf.split("\nlistener ")[1:]
    assert len(listeners) == 2
    for listener in listeners:  # a listener setting: every device-facing listener carries it
        assert "\nuse_username_as_clientid true" in listener.split("\n# ", 1)[0] + "\n"
    acl = mosquitto.acl_text(Topics("loa"), ["loa_backend"])
    device_rules = [line for line in acl.splitlines() if line.startswith("pattern") and "/d/" in line]
    assert device_rules and all("/d/%u/" in line and "%c" not in line for line in device_rules)

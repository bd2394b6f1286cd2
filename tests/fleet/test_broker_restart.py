"""Issue 21.2: commune commands after a broker restart. Two real agents of one commune, the gateway
(signing group commands) and the real app; the broker restarts and the agents restart after it: a
command to the commune still reaches both (they know their group from enrolment and the manifest, not
only from the retained ``state``). When the broker comes back without its retained messages, the
gateway sees a new session and publishes every device's ``state`` again.

Both brokers: Debian's Mosquitto started from the files of ``loa broker config`` (persistent), and
the embedded amqtt broker (which forgets everything on restart)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from loa.agent.runtime import Agent
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import keys, service
from loa.fleet.models import Device, DeviceCommand, DeviceManifest
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Channel, Topics
from loa.units.models import AdminUnit, UnitKind
from tests.fleet.debian import debian_mosquitto, keep_passwords
from tests.fleet.harness import (
    BrokerHandle,
    ServerThread,
    broker,
    make_gateway,
    publish_manifest,
    running,
    unique_prefix,
    wait_event,
    wait_until,
)
from tests.fleet.test_end_to_end import agent_config, make_settings

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

COMMUNE = "21484"


def commune_with_devices(engine: Engine, names: list[str]) -> list[tuple[str, str]]:
    """One commune and its devices: (device id, enrolment code) each."""
    with make_session_factory(engine)() as s, s.begin():
        unit = AdminUnit(
            code=COMMUNE, kind=UnitKind.COMMUNE, name="Ba Tơ", name_folded="ba to", path=f"/51/{COMMUNE}/"
        )
        s.add(unit)
        s.flush()
        out = []
        for name in names:
            device = service.create_device(s, name=name, commune_id=unit.id)
            out.append((device.uid, service.issue_enrol_code(s, device=device)))
        return out


def set_volume(engine: Engine, uids: list[str], level: int) -> list[str]:
    with make_session_factory(engine)() as s, s.begin():
        devices = [service.get_device(s, uid=u) for u in uids]
        issued = service.issue_command(s, devices=devices, kind="volume", args={"level": level})
        assert all(c.batch_id is not None for c in issued)  # one signed message on the commune's topic
        return [c.id for c in issued]


def results(engine: Engine, command_ids: list[str]) -> dict[str, str | None]:
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(Device.uid, DeviceCommand.result)
            .join(Device, Device.id == DeviceCommand.device_id)
            .where(DeviceCommand.id.in_(command_ids))
        ).all()
        return {uid: result for uid, result in rows}


async def retained_state(handle: BrokerHandle, topics: Topics, uid: str, secret: str) -> m.StateRef:
    """What a device connecting now finds retained on its ``state`` topic."""
    got: asyncio.Queue[bytes] = asyncio.Queue()
    client = LiteClient(uid, on_message=lambda topic, payload: got.put_nowait(bytes(payload)))
    await client.connect(handle.host, handle.port, username=uid, password=secret, clean_session=True)
    try:
        await client.subscribe([(topics.device(uid, Channel.STATE), 1)])
        async with asyncio.timeout(30):
            parsed = m.parse_server_message(Channel.STATE, await got.get())
    finally:
        client.abort()
    assert isinstance(parsed, m.StateRef)
    return parsed


@pytest.mark.parametrize("kind", ["debian", "amqtt"])
def test_commune_command_reaches_agents_restarted_after_a_broker_restart(
    kind: str,
    tmp_path: Path,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topics = Topics(unique_prefix())
    devices = commune_with_devices(engine, ["Cụm loa thôn 1", "Cụm loa chợ"])

    @contextlib.asynccontextmanager
    async def start_broker() -> AsyncIterator[tuple[BrokerHandle, Callable[[bool], None]]]:
        if kind == "amqtt":
            async with broker("amqtt", engine, topics) as handle:
                yield handle, lambda lose: None  # a restart loses everything anyway
            return
        with debian_mosquitto(monkeypatch, capsys, engine, prefix=topics.prefix) as mosq:
            passwords = asyncio.create_task(keep_passwords(engine, mosq))

            def restart(lose_persistence: bool) -> None:
                mosq.stop()
                if lose_persistence:
                    (mosq.conf.parent / "data" / "mosquitto.db").unlink(missing_ok=True)
                mosq.start()

            try:
                yield BrokerHandle("mosquitto", "127.0.0.1", mosq.port, shared=True), restart
            finally:
                passwords.cancel()

    async def scenario() -> None:
        async with start_broker() as (handle, restart_debian):

            async def restart_broker(lose_persistence: bool = False) -> None:
                if handle.embedded is not None:
                    await handle.restart()
                else:
                    await asyncio.to_thread(restart_debian, lose_persistence)

            await _restart_story(tmp_path, engine, topics, handle, devices, restart_broker)

    asyncio.run(scenario())


async def _restart_story(
    tmp_path: Path,
    engine: Engine,
    topics: Topics,
    handle: BrokerHandle,
    devices: list[tuple[str, str]],
    restart_broker: Callable[..., object],
) -> None:
    factory = make_session_factory(engine)
    uids = [uid for uid, _ in devices]
    settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
    gateway = make_gateway(
        handle, engine, topics, signing_key=keys.load_or_create_signing_key(settings.data_dir)
    )
    configs = [agent_config(tmp_path, f"agent{i}", "", code) for i, (_, code) in enumerate(devices)]
    with ServerThread(create_app(settings, engine=engine)) as server:
        configs = [c.model_copy(update={"server_url": server.url}) for c in configs]
        async with running(gateway.run, "gateway"):
            await wait_event(gateway.ready, "ready")
            first = [Agent(c) for c in configs]
            async with running(first[0].run), running(first[1].run):
                await wait_until(lambda: all(a.connected.is_set() for a in first), 60, "agents connect")
                assert all(a.core.groups == {COMMUNE} for a in first)  # from enrolment
                publish_manifest(factory, settings.data_dir, uids[0], 1, [])
                await wait_until(lambda: first[0].core.manifest_version == 1, 60, "manifest reaches agent 0")
            # Broker restart, then the agents restart (the order of the reliability run).
            await restart_broker()
            await wait_until(lambda: gateway.stats.connects >= 2, 60, "gateway reconnects")
            again = [Agent(c) for c in configs]
            async with running(again[0].run), running(again[1].run):
                await wait_until(lambda: all(a.connected.is_set() for a in again), 60, "agents reconnect")
                command_ids = set_volume(engine, uids, 37)
                await wait_until(lambda: all(a.core.volume == 37 for a in again), 60, "the commune command")
                await wait_until(
                    lambda: set(results(engine, command_ids).values()) == {"done"}, 60, "both answers"
                )
                assert sorted(results(engine, command_ids)) == sorted(uids)
            # The broker comes back without its retained messages: the gateway publishes them again.
            republished = gateway.stats.states_republished
            await restart_broker(lose_persistence=True)
            await wait_until(lambda: gateway.stats.states_republished > republished, 60, "states republished")
            secret = json.loads((configs[0].data_dir / "identity.json").read_text())["secret"]
            ref = await retained_state(handle, topics, uids[0], secret)
            assert ref.manifest_version == 1 and ref.groups == [COMMUNE]
    with factory() as s:
        published = s.scalars(select(DeviceManifest.published_at)).all()
        assert published and all(at is not None for at in published)

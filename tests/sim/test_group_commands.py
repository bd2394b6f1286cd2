"""Group fan-out end to end: the gateway publishes one signed message per commune (or for the fleet),
simulated devices learn their commune from ``state``, verify the signature, act only when targeted,
answer on their own topic, and the results land on each device's command row."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from loa.db import make_session_factory
from loa.fleet import keys, service
from loa.fleet.models import Device, DeviceCommand
from loa.protocol import group
from loa.protocol import manifest as mf
from loa.protocol.topics import Topics
from loa.sim.device import SimConfig
from loa.sim.fleet import SimFleet, provision, server_public_key
from loa.units.models import AdminUnit, UnitKind
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    SAFETY_NET_S,
    broker,
    make_gateway,
    running,
    unique_prefix,
    wait_event,
    wait_until,
)

pytestmark = pytest.mark.mqtt
SHA = "cd" * 32


@pytest.fixture(params=["amqtt", "mosquitto"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_group_commands_reach_exactly_the_targeted_devices(engine: Engine, kind: str) -> None:
    asyncio.run(_scenario(engine, kind))


async def _scenario(engine: Engine, kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    key = Ed25519PrivateKey.generate()
    with factory() as s, s.begin():
        province = AdminUnit(
            code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="x", path="/51/"
        )
        s.add(province)
        s.flush()
        for code in ("21484", "21487"):
            s.add(
                AdminUnit(
                    code=code, kind=UnitKind.COMMUNE, name=code, name_folded=code, parent_id=province.id,
                    path=f"/51/{code}/",
                )
            )  # fmt: skip
        s.flush()
        a = provision(s, count=3, commune_code="21484", centre=None)
        b = provision(s, count=3, commune_code="21487", centre=None)
        loose = provision(s, count=2, commune_code=None, centre=None)
        for ident in a + b:  # a manifest, so the gateway publishes ``state`` naming the commune
            device = service.get_device(s, uid=ident.uid)
            service.set_manifest(s, device=device, version=1, body=b"{}", signature=b"x")
    async with broker(kind, engine, topics) as handle:
        gateway = make_gateway(handle, engine, topics, signing_key=key)
        config = SimConfig(
            host=handle.host, port=handle.port, topics=topics, heartbeat_s=5.0, play_s=0.2,
            server_public_key=mf.public_key_bytes(key),
        )  # fmt: skip
        fleet = SimFleet(a + b + loose, config)
        by_uid = {d.identity.uid: d for d in fleet.devices}
        async with running(gateway.run):
            await wait_event(gateway.ready, "ready")
            await fleet.start()
            try:
                await fleet.wait_connected(timeout_s=SAFETY_NET_S)
                await wait_until(
                    lambda: (
                        all(by_uid[i.uid].groups == {"21484"} for i in a)
                        and all(by_uid[i.uid].groups == {"21487"} for i in b)
                    ),
                    15,
                    "devices learnt their commune group",
                )
                # All of commune A, one device of B, one without commune: three group messages.
                chosen = [*a, b[0], loose[0]]
                with factory() as s, s.begin():
                    devices = [service.get_device(s, uid=i.uid) for i in chosen]
                    issued = service.issue_command(
                        s, devices=devices, kind="play_now", args={"audio_sha256": SHA}
                    )
                batch_ids = {c.batch_id for c in issued}
                assert len(issued) == 5 and len(batch_ids) == 3

                def results() -> dict[str, str | None]:
                    with factory() as s:
                        rows = s.execute(
                            select(Device.uid, DeviceCommand.result)
                            .join(Device, Device.id == DeviceCommand.device_id)
                            .where(DeviceCommand.batch_id.in_(batch_ids))
                        ).all()
                    return {uid: result for uid, result in rows}

                expected = {i.uid: "done" for i in chosen}  # and no row for anyone else
                await wait_until(lambda: results() == expected, 15, "results recorded")
                await wait_until(lambda: gateway.stats.group_messages_sent == 3, 5, "three messages")
                executed = {uid for uid, d in by_uid.items() if d.seen_commands & batch_ids}
                assert executed == {i.uid for i in chosen}  # the others ignored what was not for them
                with factory() as s:
                    unsent = s.scalars(
                        select(DeviceCommand.id).where(
                            DeviceCommand.batch_id.in_(batch_ids), DeviceCommand.sent_at.is_(None)
                        )
                    ).all()
                assert unsent == []

                # A forgery on the fleet topic (signed by another key) is refused by every device.
                forged = group.seal(
                    issued[0].payload.replace(next(iter(batch_ids)), "forged1").encode(),
                    None,
                    Ed25519PrivateKey.generate(),
                )
                async with aiomqtt.Client(
                    handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
                ) as backend:
                    await backend.publish(topics.group_cmd(), forged, qos=1)
                    await wait_until(lambda: fleet.stats.group_refused >= 1, 10, "forgery refused")
                assert not any("forged1" in d.seen_commands for d in fleet.devices)

                # The whole fleet: one message on the fleet topic, without a target list.
                with factory() as s, s.begin():
                    everyone = list(s.scalars(select(Device)))
                    stops = service.issue_command(s, devices=everyone, kind="stop", args={})
                assert len({c.batch_id for c in stops}) == 1 and len(stops) == 8
                stop_id = stops[0].batch_id
                await wait_until(
                    lambda: all(stop_id in d.seen_commands for d in fleet.devices), 10, "every device stops"
                )
                await wait_until(lambda: gateway.stats.group_messages_sent == 4, 5, "counted after PUBACK")
            finally:
                await fleet.stop()


def test_simulators_take_the_servers_public_key_from_its_data_dir(tmp_path: Path) -> None:
    assert server_public_key(tmp_path) is None  # another server's simulator: no key invented
    created = server_public_key(tmp_path, create=True)
    assert created == mf.public_key_bytes(keys.load_or_create_signing_key(tmp_path))
    assert server_public_key(tmp_path) == created

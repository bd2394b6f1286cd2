"""The simulator's MQTT client and simulated devices against real brokers (embedded amqtt with Loa's
auth and ACL; Mosquitto when configured), with the real gateway and database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.fleet import service
from loa.fleet.models import Device, DeviceCommand, DeviceStatusLog, PlayReceipt, StatusEvent
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient, MqttLiteError, Will
from loa.protocol.topics import Channel, Topics
from loa.sim.device import SimConfig
from loa.sim.fleet import SimFleet, provision, read_credentials, write_credentials
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


@pytest.fixture(params=["amqtt", "mosquitto"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_lite_client_speaks_mqtt_to_both_brokers(engine: Engine, kind: str) -> None:
    asyncio.run(_lite(engine, kind))


async def _lite(engine: Engine, kind: str) -> None:
    topics = Topics(unique_prefix())
    with make_session_factory(engine)() as s, s.begin():
        (ident,) = provision(s, count=1, commune_code=None, centre=None)
    async with broker(kind, engine, topics) as handle:
        got: list[tuple[str, bytes]] = []
        arrived = asyncio.Event()

        def on_message(topic: str, payload: bytes) -> None:
            got.append((topic, payload))
            arrived.set()

        async with aiomqtt.Client(
            handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
        ) as backend:
            for channel in (Channel.STATUS, Channel.BIRTH, Channel.LWT):
                await backend.subscribe(topics.all_devices(channel), qos=1)
            device = LiteClient(ident.uid, on_message=on_message)
            will = Will(topics.device(ident.uid, Channel.LWT), m.Lwt().to_bytes())
            await device.connect(
                handle.host, handle.port, username=ident.uid, password=ident.secret, keepalive_s=5, will=will
            )
            granted = await device.subscribe([(topics.device(ident.uid, Channel.CMD), 1)])
            assert granted == [1]
            await device.publish(topics.device(ident.uid, Channel.STATUS), b"qos0", qos=0)
            await device.publish(topics.device(ident.uid, Channel.BIRTH), b"qos1", qos=1)  # PUBACK awaited
            device.ping()
            # Server → device at QoS 1 (the client answers PUBACK) and QoS 0.
            await backend.publish(topics.device(ident.uid, Channel.CMD), b"cmd-1", qos=1)
            await wait_event(arrived, "arrived")
            assert got == [(topics.device(ident.uid, Channel.CMD), b"cmd-1")]
            seen = []
            async for message in backend.messages:
                seen.append(bytes(message.payload))  # type: ignore[arg-type]
                if len(seen) == 2:
                    break
            assert sorted(seen) == [b"qos0", b"qos1"]
            # A power cut: the broker publishes the will.
            device.abort()
            message = await asyncio.wait_for(anext(aiter(backend.messages)), SAFETY_NET_S)
            assert str(message.topic) == topics.device(ident.uid, Channel.LWT)
            assert m.parse_device_message(Channel.LWT, message.payload) == m.Lwt()  # type: ignore[arg-type]
    if kind == "amqtt":
        async with broker(kind, engine, topics) as handle:
            intruder = LiteClient(ident.uid)
            with pytest.raises(MqttLiteError, match=r"refused|closed"):
                await intruder.connect(handle.host, handle.port, username=ident.uid, password="wrong")


def offline_logged(factory: sessionmaker[Session], uid: str) -> bool:
    with factory() as s:
        found = s.scalar(
            select(func.count())
            .select_from(DeviceStatusLog)
            .join(Device, Device.id == DeviceStatusLog.device_id)
            .where(Device.uid == uid, DeviceStatusLog.event == StatusEvent.OFFLINE)
        )
        return bool(found)


def test_simulated_fleet_reports_plays_and_gets_receipts_acked(
    tmp_path: Path, engine: Engine, kind: str
) -> None:
    asyncio.run(_fleet(tmp_path, engine, kind))


async def _fleet(tmp_path: Path, engine: Engine, kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        identities = provision(s, count=20, commune_code=None, seed=1)
    path = tmp_path / "sim.json"
    write_credentials(path, identities)
    assert read_credentials(path) == identities and (path.stat().st_mode & 0o777) == 0o600
    async with broker(kind, engine, topics) as handle:
        gateway = make_gateway(handle, engine, topics)
        config = SimConfig(
            host=handle.host, port=handle.port, topics=topics, heartbeat_s=1.0, play_s=0.3,
            resend_receipts_after_s=1.0,
        )  # fmt: skip
        fleet = SimFleet(identities, config)
        async with running(gateway.run):
            await wait_event(gateway.ready, "ready")
            await fleet.start()
            try:
                await fleet.wait_connected(timeout_s=SAFETY_NET_S)

                def online() -> int:
                    with factory() as s:
                        return int(s.scalar(select(func.count()).where(Device.online.is_(True))) or 0)

                await wait_until(lambda: online() == 20, 15, "all online")
                with factory() as s, s.begin():
                    devices = list(s.scalars(select(Device)))
                    service.issue_command(
                        s, devices=devices, kind="play_now", args={"audio_sha256": "ab" * 32}
                    )

                def receipts() -> int:
                    with factory() as s:
                        return int(s.scalar(select(func.count()).select_from(PlayReceipt)) or 0)

                await wait_until(lambda: receipts() == 20, 15, "receipts recorded")
                await wait_until(lambda: fleet.stats.receipts_acked == 20, 10, "receipts acked")
                with factory() as s:
                    results = list(s.scalars(select(DeviceCommand.result)))
                assert results == ["done"] * 20
                # One device loses power: its will (or the missed heartbeats) mark it offline. It
                # reconnects within two seconds, so the event waited for is the "offline" row of the
                # status log (an online count of 19 may last less than one look at it).
                lost = fleet.devices[0].identity.uid
                fleet.devices[0].client.abort()
                await wait_until(lambda: offline_logged(factory, lost), 10, "one offline")
            finally:
                await fleet.stop()
    with factory() as s:
        rows = list(s.scalars(select(PlayReceipt)))
    assert len(rows) == 20 and {r.outcome.value for r in rows} == {"played"} and {r.seq for r in rows} == {0}

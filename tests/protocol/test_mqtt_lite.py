"""The lite MQTT client's duties as the gateway's connection: keep-alive against a broker that went
silent, packet identifiers that never collide with one still waiting, and a failing message handler
that does not take the connection down. The peer here is a scripted TCP server on loopback (the
misbehaviour under test cannot be asked of a real broker); speaking to real brokers is covered in
tests/sim and tests/fleet."""

from __future__ import annotations

import asyncio
import struct

from loa.protocol.mqtt_lite import (
    CONNACK,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBLISH,
    LiteClient,
    MqttLiteError,
    packet,
    publish_packet,
)
from tests.fleet.harness import wait_until


class ScriptedBroker:
    """Answers CONNECT with CONNACK; answers PINGREQ only while ``answer_pings``; records packets."""

    def __init__(self) -> None:
        self.answer_pings = True
        self.received: list[int] = []
        self.writer: asyncio.StreamWriter | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        try:
            while True:
                first = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                await reader.readexactly(length)
                kind = first >> 4
                self.received.append(kind)
                if kind == 1:  # CONNECT
                    writer.write(packet(CONNACK, 0, b"\x00\x00"))
                elif kind == PINGREQ and self.answer_pings:
                    writer.write(packet(PINGRESP, 0, b""))
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def test_keep_alive_pings_and_drops_a_silent_broker() -> None:
    async def scenario() -> None:
        peer = ScriptedBroker()
        port = await peer.start()
        client = LiteClient("gw")
        await client.connect("127.0.0.1", port, keepalive_s=1)
        pinger = asyncio.create_task(client.keep_alive(1))
        # Wait for the pings themselves (a loaded machine may take longer than their period).
        await wait_until(lambda: peer.received.count(PINGREQ) >= 3, what="three pings answered")
        assert client.connected  # answered pings keep it up
        peer.answer_pings = False  # the broker goes silent (a half-open connection)
        await asyncio.wait_for(client.closed.wait(), 60)
        assert not client.connected
        await asyncio.wait_for(pinger, 60)  # the keep-alive ends with the connection
        await peer.stop()

    asyncio.run(scenario())


def test_packet_ids_skip_those_still_waiting_and_are_bounded() -> None:
    client = LiteClient("ids")
    loop = asyncio.new_event_loop()
    try:
        client._next_id = 65534
        client._waiting[65535] = loop.create_future()
        client._waiting[1] = loop.create_future()
        assert client._packet_id() == 2  # 65535 and 1 are in flight: wrapped past both
        client._waiting.update({i: loop.create_future() for i in range(1, 65536)})
        try:
            client._packet_id()
        except MqttLiteError:
            pass
        else:
            raise AssertionError("an identifier was reused while every one is in flight")
    finally:
        loop.close()


def test_a_failing_handler_keeps_the_connection_and_still_acknowledges() -> None:
    async def scenario() -> None:
        peer = ScriptedBroker()
        port = await peer.start()
        seen: list[bytes] = []

        def handler(topic: str, payload: bytes) -> None:
            seen.append(payload)
            if payload == b"bad":
                raise ValueError("handler bug")

        client = LiteClient("h", on_message=handler)
        await client.connect("127.0.0.1", port)
        assert peer.writer is not None
        peer.writer.write(publish_packet("t/a", b"bad", qos=1, retain=False, packet_id=7))
        peer.writer.write(publish_packet("t/a", b"good", qos=1, retain=False, packet_id=8))
        for _ in range(100):
            if peer.received.count(PUBACK) == 2:
                break
            await asyncio.sleep(0.02)
        assert seen == [b"bad", b"good"]
        assert peer.received.count(PUBACK) == 2
        assert client.connected
        assert PUBLISH not in peer.received
        await client.disconnect()
        await peer.stop()

    asyncio.run(scenario())


def test_publish_packet_layout() -> None:
    data = publish_packet("a/b", b"xy", qos=1, retain=True, packet_id=258)
    assert data[0] == (PUBLISH << 4) | 0x03
    assert data[1] == len(data) - 2
    assert data[2:7] == struct.pack("!H", 3) + b"a/b"
    assert data[7:9] == b"\x01\x02" and data[9:] == b"xy"

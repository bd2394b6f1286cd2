"""A minimal MQTT 3.1.1 client on an asyncio protocol: the server's gateway and the simulator's
thousands of devices in one process.

Why not a maintained client: ``make bench BENCH_ARGS=libs`` (``benchmarks/libs.py``) measures this
client beside gmqtt 0.8 and aiomqtt (paho) in the same run, each in its own process on a private
Mosquitto, with Mosquitto's own C clients as the baseline. On the 2-core CI machine (2026-12-07,
20,000 QoS 1 messages, medians of 3):

=====================================  ============  ==========  ===========
CPU                                    this client   gmqtt       aiomqtt
=====================================  ============  ==========  ===========
per message received (mosquitto_sub:   15.0 µs       20.0 µs     53.7 µs
14.0 µs) — the gateway's intake
per message published, PUBACK          32.7 µs       13.0 µs     125.9 µs
awaited, 1,000 in flight (8.6 µs if
written without waiting, as the sim)
2,000 connections made and subscribed  0.64 s        1.02 s      1.33 s
(the simulator's fleet)
=====================================  ============  ==========  ===========

Memory per connection was the same for all three (about 65 kB: asyncio's buffers). The gateway's
load is the intake and the simulator's is connections, where this client costs 0.75× and 0.63× of
gmqtt's CPU, so it stays. gmqtt publishes cheaper because it never waits for the PUBACK (it keeps
the message to resend); where the gateway awaits each PUBACK the broker's round trip, not CPU,
bounds it.

What it does: CONNECT (will, username/password, clean session or not), SUBSCRIBE, PUBLISH at QoS 0/1
in both directions, PUBACK, keep-alive (``keep_alive``: PINGREQ when due, the connection dropped
when the broker has been silent for one and a half periods) and DISCONNECT. No QoS 2, no automatic
reconnect (the caller decides), no MQTT 5, no TLS (the brokers listen on loopback or a private
network; see docs/operations.md).

Packets are parsed straight out of ``data_received`` (no reader task and no awaits per packet); what
is sent while a read is handled leaves in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14

CONNACK_REFUSALS = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}

MessageHandler = Callable[[str, bytes], None]

log = logging.getLogger(__name__)


class MqttLiteError(Exception):
    pass


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([(kind << 4) | flags]) + _remaining_length(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    username: str | None,
    password: str | None,
    keepalive_s: int,
    clean_session: bool,
    will: Will | None,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _string(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += _string(will.topic) + _string(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
    if password is not None:
        flags |= 0x40
        payload += _string(password)
    header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s)
    return packet(CONNECT, 0, header + payload)


def publish_packet(topic: str, payload: bytes, *, qos: int, retain: bool, packet_id: int = 0) -> bytes:
    body = _string(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return packet(PUBLISH, (qos << 1) | (1 if retain else 0), body)


class LiteClient:
    """One MQTT connection. ``on_message(topic, payload)`` is called for every PUBLISH received."""

    def __init__(self, client_id: str, *, on_message: MessageHandler | None = None) -> None:
        self.client_id = client_id
        self.on_message = on_message
        self._transport: asyncio.Transport | None = None
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self._connack: asyncio.Future[int] | None = None
        self._corked: list[bytes] | None = None  # writes held while a read is being handled
        self.closed = asyncio.Event()
        self.closed.set()
        self.last_received = 0.0  # time.monotonic() of the last bytes from the broker
        # CONNACK's flag: False when the broker holds no session for this client id (a first connect, a
        # clean session, or a broker restarted without persistence: its retained messages are gone too).
        self.session_present = False

    @property
    def connected(self) -> bool:
        return not self.closed.is_set()

    async def connect(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        keepalive_s: int = 60,
        clean_session: bool = True,
        will: Will | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self), host, port), timeout_s
        )
        self._transport = transport
        self._connack = loop.create_future()
        self.closed.clear()
        self.last_received = time.monotonic()
        transport.write(
            connect_packet(
                self.client_id,
                username=username,
                password=password,
                keepalive_s=keepalive_s,
                clean_session=clean_session,
                will=will,
            )
        )
        try:
            code = await asyncio.wait_for(self._connack, timeout_s)
        except BaseException:
            self.abort()
            raise
        if code != 0:
            self.abort()
            raise MqttLiteError(f"connection refused: {CONNACK_REFUSALS.get(code, code)}")

    def _packet_id(self) -> int:
        """The next identifier not waiting for an answer (at most 65,535 may be in flight)."""
        if len(self._waiting) >= 65535:
            raise MqttLiteError("too many messages in flight")
        while True:
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._waiting:
                return self._next_id

    def _send(self, data: bytes) -> None:
        if self._transport is None or self.closed.is_set():
            raise MqttLiteError("not connected")
        if self._corked is not None:
            self._corked.append(data)
        else:
            self._transport.write(data)

    def _cork(self) -> None:
        self._corked = []

    def _uncork(self) -> None:
        """One write (one system call) for everything sent while handling a read: the PUBACK of a
        command and the answer to it leave together."""
        held, self._corked = self._corked, None
        if held and self._transport is not None and not self.closed.is_set():
            self._transport.write(b"".join(held))

    async def _acked(self, packet_id: int, data: bytes, timeout_s: float) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[packet_id] = future
        try:
            self._send(data)
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiting.pop(packet_id, None)

    async def subscribe(self, filters: list[tuple[str, int]], timeout_s: float = 15.0) -> list[int]:
        """Granted QoS per filter (0x80 = refused)."""
        packet_id = self._packet_id()
        body = struct.pack("!H", packet_id) + b"".join(_string(f) + bytes([q]) for f, q in filters)
        granted = await self._acked(packet_id, packet(SUBSCRIBE, 0x02, body), timeout_s)
        return list(granted)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False, timeout_s: float = 15.0
    ) -> None:
        """QoS 1 waits for the broker's PUBACK (``TimeoutError`` / ``MqttLiteError`` otherwise)."""
        if qos == 0:
            self.publish_nowait(topic, payload, retain=retain)
            return
        if qos != 1:
            raise ValueError("only QoS 0 and 1 are supported")
        packet_id = self._packet_id()
        data = publish_packet(topic, payload, qos=1, retain=retain, packet_id=packet_id)
        await self._acked(packet_id, data, timeout_s)

    def publish_nowait(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Written to the socket buffer at once. At QoS 1 the broker still acknowledges, but nobody
        waits: the caller keeps its own copy until an answer on the application level (a command
        result is repeated if the server asks again; receipts wait for the server's ``ack``)."""
        if qos == 0:
            self._send(publish_packet(topic, payload, qos=0, retain=retain))
        elif qos == 1:
            self._send(publish_packet(topic, payload, qos=1, retain=retain, packet_id=self._packet_id()))
        else:
            raise ValueError("only QoS 0 and 1 are supported")

    def ping(self) -> None:
        self._send(packet(PINGREQ, 0, b""))

    async def keep_alive(self, keepalive_s: float) -> None:
        """Run beside a connection made with ``keepalive_s``: a PINGREQ every half period, and the
        connection aborted when nothing came from the broker for one and a half periods (a dead
        broker or a half-open TCP connection), so the caller sees ``closed`` and reconnects."""
        interval = max(0.5, keepalive_s / 2)
        while self.connected:
            await asyncio.sleep(interval)
            if not self.connected:
                return
            if time.monotonic() - self.last_received > keepalive_s * 1.5:
                log.warning(
                    "%s: no answer from the MQTT broker for %.0f s", self.client_id, keepalive_s * 1.5
                )
                self.abort()
                return
            with contextlib.suppress(MqttLiteError):
                self.ping()

    async def disconnect(self) -> None:
        """A clean goodbye: the broker discards the will."""
        transport = self._transport
        if transport is not None and not self.closed.is_set():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write(packet(DISCONNECT, 0, b""))
                transport.close()  # flushes what is buffered, then closes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), 5)
        self.abort()

    def abort(self) -> None:
        """Drop the connection without DISCONNECT (as a power cut would): the broker sends the will."""
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.abort()
        self._closed()

    def _closed(self) -> None:
        self.closed.set()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(MqttLiteError("connection closed"))
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(MqttLiteError("connection closed"))

    def _handle(self, kind: int, flags: int, body: bytes) -> None:
        if kind == PUBLISH:
            qos = (flags >> 1) & 0x03
            (topic_len,) = struct.unpack_from("!H", body)
            topic = body[2 : 2 + topic_len].decode()
            offset = 2 + topic_len
            if qos:
                (packet_id,) = struct.unpack_from("!H", body, offset)
                offset += 2
                self._send(packet(PUBACK, 0, struct.pack("!H", packet_id)))
            if self.on_message is not None:
                try:
                    self.on_message(topic, body[offset:])
                except MqttLiteError:
                    raise
                except Exception:  # one bad handler call must not take the connection down
                    log.exception("%s: message handler failed on %s", self.client_id, topic)
        elif kind in (PUBACK, SUBACK):
            (packet_id,) = struct.unpack_from("!H", body)
            future = self._waiting.get(packet_id)
            if future is not None and not future.done():
                future.set_result(body[2:])
        elif kind == CONNACK and self._connack is not None and not self._connack.done():
            self.session_present = bool(body[0] & 0x01) if body else False
            self._connack.set_result(body[1] if len(body) > 1 else 255)


MAX_REMAINING_LENGTH_BYTES = 4


class _Protocol(asyncio.Protocol):
    """Cuts the byte stream into packets inside ``data_received``."""

    def __init__(self, client: LiteClient) -> None:
        self.client = client
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.client.last_received = time.monotonic()
        self.client._cork()
        try:
            self._parse(data)
        finally:
            self.client._uncork()

    def _parse(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos, end = 0, len(buf)
        while end - pos >= 2:
            length, shift, i = 0, 0, pos + 1
            complete = False
            while i < end and i - pos <= MAX_REMAINING_LENGTH_BYTES:
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    complete = True
                    break
            if not complete:
                if i - pos > MAX_REMAINING_LENGTH_BYTES:  # a malformed length: not MQTT
                    self.client.abort()
                    return
                break
            if end - i < length:
                break
            first = buf[pos]
            try:
                self.client._handle(first >> 4, first & 0x0F, bytes(buf[i : i + length]))
            except MqttLiteError:
                return  # the connection closed while handling
            pos = i + length
        if pos:
            del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._closed()

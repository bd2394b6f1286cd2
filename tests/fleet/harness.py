"""Real pieces for fleet tests: a uvicorn server thread, brokers (embedded amqtt; Mosquitto), a TCP
proxy that can cut a device off, WAV audio, signed manifests, and an event-driven wait."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import socket
import subprocess
import threading
import time
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.fleet import keys, service
from loa.fleet.broker import DeviceCredentials, EmbeddedBroker, StaticCredentials
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.fleet.models import Device, PlayReceipt
from loa.protocol import manifest as mf
from loa.protocol.priority import PreemptRule
from loa.protocol.topics import Topics
from tests.support.databases import services_required

MQTT_ENV = "LOA_TEST_MQTT_URL"
BACKEND_USER = "loa_backend"
BACKEND_PASSWORD = "backend-test-password"
MOSQUITTO = "/usr/sbin/mosquitto"
# Every wait in these tests is for an event (a row written, a message received, a flag set); a time
# limit is only a safety net against a hang, never a guess of how long the event takes: a loaded
# machine (or CI) makes things slower, not wrong. ``LOA_TEST_SAFETY_NET_S`` changes it.
SAFETY_NET_S = float(os.environ.get("LOA_TEST_SAFETY_NET_S", "180"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_prefix() -> str:
    return "t" + uuid.uuid4().hex[:10]


def wav_bytes(seconds: float, freq: float = 440.0, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.4 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def store_audio(audio_dir: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    audio_dir.mkdir(parents=True, exist_ok=True)
    (audio_dir / f"{sha}.wav").write_bytes(data)
    return sha


class ServerThread:
    """The real app over HTTP on a free port (agents need a real server)."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + SAFETY_NET_S
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def mosquitto_url() -> tuple[str, int] | None:
    url = os.environ.get(MQTT_ENV, "")
    if not url:
        return None
    rest = url.split("://", 1)[-1]
    host, _, port = rest.partition(":")
    return host, int(port or 1883)


def broker_kinds() -> list[str]:
    return ["amqtt", "mosquitto"] if os.environ.get(MQTT_ENV) else ["amqtt"]


def require_mosquitto() -> tuple[str, int]:
    import pytest

    found = mosquitto_url()
    if found is None:
        pytest.skip("Mosquitto not configured (set LOA_TEST_MQTT_URL)")
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(found)
        except OSError:
            if services_required():
                pytest.fail(f"Mosquitto required but not reachable at {found}")
            pytest.skip("Mosquitto not reachable")
    return found


@dataclass
class BrokerHandle:
    kind: str
    host: str
    port: int
    shared: bool
    embedded: EmbeddedBroker | None = None

    async def restart(self) -> None:
        if self.embedded is not None:
            await self.embedded.stop()
            await self.embedded.start()


@contextlib.asynccontextmanager
async def broker(kind: str, engine: Engine, topics: Topics) -> AsyncIterator[BrokerHandle]:
    if kind == "amqtt":
        port = free_port()
        store = DeviceCredentials(engine, StaticCredentials({BACKEND_USER: BACKEND_PASSWORD}))
        embedded = EmbeddedBroker(
            host="127.0.0.1", port=port, store=store, topics=topics, backend_users=[BACKEND_USER]
        )
        await embedded.start()
        try:
            yield BrokerHandle("amqtt", "127.0.0.1", port, shared=False, embedded=embedded)
        finally:
            await embedded.stop()
    else:
        host, port = require_mosquitto()
        yield BrokerHandle("mosquitto", host, port, shared=True)


def make_gateway(handle: BrokerHandle, engine: Engine, topics: Topics, **overrides: object) -> Gateway:
    fast: dict[str, object] = {"flush_interval_s": 0.05, "outbox_interval_s": 0.1, "sweep_interval_s": 0.5}
    config = GatewayConfig(
        host=handle.host,
        port=handle.port,
        username=BACKEND_USER,
        password=BACKEND_PASSWORD,
        topics=topics,
        shared_subscriptions=handle.shared,
        client_id=f"gw-{topics.prefix}",
        **{**fast, **overrides},  # type: ignore[arg-type]
    )
    return Gateway(config, make_session_factory(engine))


@contextlib.asynccontextmanager
async def running(coro_fn: Callable[[], object], name: str = "task") -> AsyncIterator[asyncio.Task[object]]:
    task: asyncio.Task[object] = asyncio.create_task(coro_fn(), name=name)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def wait_until(predicate: Callable[[], bool], limit_s: float = 15.0, what: str = "") -> None:
    """Until ``predicate()`` holds (polled every 50 ms). ``limit_s`` is what it takes on a quiet
    machine (it documents the call); the wait gives up only after the longer of it and
    ``SAFETY_NET_S``, so that load cannot fail a test that waits for something that does happen."""
    deadline = time.monotonic() + max(limit_s, SAFETY_NET_S)
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


async def wait_event(event: asyncio.Event, what: str) -> None:
    """Until ``event`` is set (``SAFETY_NET_S`` as the safety net)."""
    try:
        async with asyncio.timeout(SAFETY_NET_S):
            await event.wait()
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def settle(count: Callable[[], int], more: int, what: str = "messages") -> None:
    """Let the system run on until ``count()`` has grown by ``more`` (e.g. heartbeats the gateway
    wrote): "nothing else happens" is then checked over real activity, not over a sleep that a
    loaded machine may spend doing nothing."""
    target = count() + more
    await wait_until(lambda: count() >= target, what=f"{more} more {what}")


def receipts_of(factory: sessionmaker[Session], uid: str) -> list[PlayReceipt]:
    with factory() as s:
        return list(
            s.scalars(
                select(PlayReceipt).join(Device, Device.id == PlayReceipt.device_id).where(Device.uid == uid)
            )
        )


def receipt_total(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(PlayReceipt)) or 0)


@dataclass
class Slot:
    item_id: str
    sha256: str
    size: int
    start_at: datetime
    duration_ms: int
    priority: int = 300
    rule: PreemptRule = PreemptRule.RESUME
    stream_url: str | None = None  # a stream item (live, relay): played from this URL


def publish_manifest(
    factory: sessionmaker[Session],
    data_dir: Path,
    uid: str,
    version: int,
    slots: list[Slot],
    *,
    tamper: bool = False,
) -> bytes:
    now = datetime.now(UTC)
    items = [
        mf.ManifestItem(
            id=s.item_id,
            title=f"Bản tin {s.item_id}",
            source_id="test",
            start_at=s.start_at,
            start_local=s.start_at.isoformat(),
            duration_ms=s.duration_ms,
            priority=s.priority,
            preempt_rule=s.rule,
            audio=mf.AudioSource(
                url=f"/api/v1/devices/{uid}/audio/{s.sha256}", sha256=s.sha256, size_bytes=s.size
            )
            if s.stream_url is None
            else mf.AudioSource(kind=mf.AudioKind.STREAM, url=s.stream_url),
        )
        for s in slots
    ]
    manifest = mf.build_manifest(
        device_id=uid,
        manifest_version=version,
        generated_at=now,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(hours=1),
        items=items,
    )
    body = manifest.canonical_bytes()
    signature = mf.sign(body, keys.load_or_create_signing_key(data_dir))
    if tamper:
        body = body.replace(b"test", b"tesT")
    with factory() as s, s.begin():
        device = service.get_device(s, uid=uid)
        service.set_manifest(s, device=device, version=version, body=body, signature=signature)
    return body


def new_device(factory: sessionmaker[Session], name: str) -> tuple[str, str]:
    with factory() as s, s.begin():
        device = service.create_device(s, name=name)
        code = service.issue_enrol_code(s, device=device)
        return device.uid, code


@dataclass
class TcpProxy:
    """Forwards a local port to the broker; ``cut()`` drops every connection and refuses new ones."""

    target_host: str
    target_port: int
    port: int = field(default_factory=free_port)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _open: bool = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self._open = False
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self._open = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def start_private_mosquitto(config_dir: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([MOSQUITTO, "-c", str(config_dir / "mosquitto.conf")], stderr=subprocess.PIPE)
    return proc


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str = "mosquitto") -> None:
    """Until ``proc`` accepts connections on ``port`` (its stderr in the failure if it exits)."""
    deadline = time.monotonic() + SAFETY_NET_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.stderr.read() if proc.stderr else b''!r}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not start")

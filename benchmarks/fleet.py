"""Fleet: "play now" to N simulated devices through Mosquitto beside the raw broker fan-out, the same on
the embedded amqtt broker (1,000 devices), ingest of statuses and receipts into PostgreSQL, and the
agent's memory and idle CPU.

Processes as in production: with Mosquitto, the gateway runs in its own process
(``benchmarks.fleet_gateway``, as ``loa gateway run``) and learns of the command from PostgreSQL's
NOTIFY; with the embedded amqtt broker, broker and gateway share this process (``loa run``) and the
commit wakes the gateway directly. The devices run in another process (``benchmarks.fleet_sim``,
the lite MQTT client, heartbeats every 30 s throughout). Gateway and simulator run on
``loa.eventloop`` (uvloop), as ``loa gateway run`` and ``loa sim`` do. On the 2-core CI machine all
of them share two cores: the simulated devices, which would each have their own board, cost as
much CPU as the broker and the gateway together (``LOA_BENCH_DEBUG=1`` prints CPU seconds per
process per round).

The clock starts before the operator's request is handled (``commands.send_commands``: scope check,
batch row, audit, commit). "Acknowledged playing" = 99 % of the devices' ``cmd_result`` (sent when
they start playing) parsed by the gateway: the server holds the answer (no extra subscriber at the
broker: an instrument there would take its own share of the two cores). Each round starts once the
gateway has taken in the previous burst. Raw fan-out = one plain QoS 0 publish to a topic all N devices
subscribe to, time until 99 % received (the ratio's baseline); the same at QoS 1, the commands' QoS,
is printed beside it (measured: no slower than QoS 0, so the gap to "play now" is the answers' way
back through the broker, not the command's QoS). Raw round trip = the broker alone doing what "play
now" asks of it: one QoS 1 publish to all N devices, each answering with a plain QoS 1 message to a
server-side subscriber, time until 99 % of the answers; "play now" over it is what Loa adds (the
request, the database, the gateway, the signed group message, the devices' real answers).

Environment: ``LOA_BENCH_DEVICES`` (default 10,000), ``LOA_BENCH_AMQTT_DEVICES`` (1,000),
``LOA_BENCH_POSTGRES_URL`` (a server where a scratch database may be created), ``LOA_BENCH_DEBUG``,
``LOA_BENCH_PER_DEVICE=1`` (no group messages: the old path, for comparison).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, insert, select

from benchmarks.common import ChildProcess, Result, scratch_database
from loa import eventloop
from loa.accounts.principal import Principal, Role
from loa.accounts.service import create_user, principal_for
from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import commands, keys
from loa.fleet.broker import DeviceCredentials, EmbeddedBroker, StaticCredentials
from loa.fleet.gateway import Gateway, GatewayConfig
from loa.fleet.models import Device, DeviceManifest
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Channel, Topics
from loa.sim.device import SimIdentity
from loa.sim.fleet import write_credentials
from loa.speech.models import AudioAsset, AudioSourceKind

DEVICES = int(os.environ.get("LOA_BENCH_DEVICES", "10000"))
AMQTT_DEVICES = int(os.environ.get("LOA_BENCH_AMQTT_DEVICES", "1000"))
ROUNDS = 3
SIM_HEARTBEAT_S = 30.0  # the simulated devices' heartbeat (the agent's default)
BACKEND_USER, BACKEND_PASSWORD = "loa_backend", secrets.token_hex(16)
SHA = hashlib.sha256(b"bench").hexdigest()
# LOA_BENCH_PER_DEVICE=1 measures the old path (one QoS 1 publish per device) for comparison.
PER_DEVICE = os.environ.get("LOA_BENCH_PER_DEVICE", "") == "1"
DEBUG = os.environ.get("LOA_BENCH_DEBUG", "") == "1"  # phases of each round on stderr
MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_operator(engine: Engine) -> Principal:
    """The person who presses "play now" (an administrator: the whole fleet is in scope)."""
    with make_session_factory(engine)() as s, s.begin():
        user = create_user(s, username="bench-admin", password=secrets.token_urlsafe(16), role=Role.ADMIN)
        return principal_for(s, user)


def seed_audio(engine: Engine) -> None:
    """The file "play now" names (``SHA``) in the audio store: ``commands.send_commands`` refuses audio
    that is not there (an administrator may play any that is)."""
    with make_session_factory(engine)() as s, s.begin():
        s.add(
            AudioAsset(
                sha256=SHA,
                format="mp3",
                size_bytes=1000,
                duration_ms=65_000,
                loudness_lufs=-16.0,
                true_peak_dbtp=-1.5,
                sample_rate=22050,
                source_kind=AudioSourceKind.UPLOAD,
                original_filename="bench.mp3",
            )
        )


def seed_devices(engine: Engine, count: int) -> list[SimIdentity]:
    now = utcnow()
    identities = [SimIdentity(f"loa-{i:012x}", secrets.token_urlsafe(16)) for i in range(count)]
    rows = [
        {
            "uid": ident.uid,
            "name": f"Cụm loa {i}",
            "secret_sha256": hashlib.sha256(ident.secret.encode()).hexdigest(),
            "enrolled_at": now,
            "village": "",
            "online": False,
            "heartbeat_s": 30,
            "firmware": "",
            "pending_receipts": 0,
            "active": True,
            "created_at": now,
        }
        for i, ident in enumerate(identities)
    ]
    with make_session_factory(engine)() as s, s.begin():
        for start in range(0, len(rows), 2000):
            s.execute(insert(Device), rows[start : start + 2000])
    return identities


@contextlib.contextmanager
def private_mosquitto(workdir: Path) -> Iterator[int]:
    """Anonymous, loopback only, with the options of ``loa broker config`` that bear on speed: the
    queue limits a fleet needs (the gateway's subscription) and ``allow_duplicate_messages true``
    (Mosquitto 2.0's default false makes a fan-out to N devices quadratic)."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                "allow_anonymous true",
                "max_connections -1",
                "max_queued_messages 1000000",
                "max_inflight_messages 0",
                "persistence false",
                "allow_duplicate_messages true",
                "log_dest none",
            ]
        )
        + "\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s, contextlib.suppress(OSError):
                s.connect(("127.0.0.1", port))
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


class SimProcess(ChildProcess):
    """The devices, in a child process; see ``benchmarks.fleet_sim``."""

    @property
    def connect_s(self) -> float:
        return float(self.ready.split()[1])

    @classmethod
    async def start(
        cls, *, port: int, prefix: str, credentials: Path, devices: int, fanout: str | None, server_key: str
    ) -> SimProcess:
        args = ["-m", "benchmarks.fleet_sim", "--port", str(port), "--prefix", prefix]
        args += ["--credentials", str(credentials), "--devices", str(devices)]
        args += ["--server-key", server_key, "--heartbeat-s", str(SIM_HEARTBEAT_S)]
        if fanout:
            args += ["--fanout", fanout]
        return await cls.spawn(args, what="simulator", ready_timeout_s=600)

    async def report(self) -> dict[str, object]:
        report: dict[str, object] = await self.ask("REPORT")
        return report


class GatewayProcess(ChildProcess):
    """The gateway, in a child process; see ``benchmarks.fleet_gateway``."""

    def __init__(self, proc: asyncio.subprocess.Process, ready: str) -> None:
        super().__init__(proc, ready)
        self.clock = ResultClock()
        self._fetched = 0  # answers taken from the child so far

    @classmethod
    async def start(
        cls, *, port: int, prefix: str, database_url: str, data_dir: Path, extra: tuple[str, ...] = ()
    ) -> GatewayProcess:
        args = ["-m", "benchmarks.fleet_gateway", "--port", str(port), "--prefix", prefix]
        args += ["--database-url", database_url, "--data-dir", str(data_dir), *extra]
        if PER_DEVICE:
            args.append("--per-device")
        return await cls.spawn(args, what="gateway", ready_timeout_s=60)

    async def refresh(self) -> None:
        """Fetch the answers the child parsed since the last call (its clock is the same
        CLOCK_MONOTONIC as ``time.perf_counter`` here)."""
        rows = await self.ask(f"ARRIVALS {self._fetched}")
        self._fetched += len(rows)
        for uid, command_id, at in rows:
            self.clock.add(uid, command_id, at)

    async def reset_clock(self) -> None:
        await self.refresh()
        self.clock.reset()

    async def received(self) -> int:
        return int((await self.ask("STATS"))["received"])


class GatewayLike(Protocol):
    clock: ResultClock

    async def received(self) -> int: ...
    async def refresh(self) -> None: ...
    async def reset_clock(self) -> None: ...


class InProcessGateway:
    """The embedded setup's gateway, in this process: answers timed as it parses them."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.clock = ResultClock()
        gateway.on_message = self.clock.record

    async def received(self) -> int:
        return self.gateway.stats.received

    async def refresh(self) -> None:
        return None

    async def reset_clock(self) -> None:
        self.clock.reset()


class ResultClock:
    """When the gateway parsed each command result (the server holds the answer), keyed by (device
    id, command id); the first arrival counts (QoS 1 may deliver twice). Answers may come before
    the issuer knows the ids."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], float] = {}
        self.order: list[tuple[str, str]] = []  # the same keys, in order of arrival

    def reset(self) -> None:
        self.arrivals, self.order = {}, []

    def record(self, uid: str, message: m.DeviceMessage) -> None:
        if isinstance(message, m.CommandResult):
            self.add(uid, message.command_id, time.perf_counter())

    def add(self, uid: str, command_id: str, at: float) -> None:
        key = (uid, command_id)
        if key not in self.arrivals:
            self.arrivals[key] = at
            self.order.append(key)

    async def wait_for(
        self,
        expected: set[tuple[str, str]],
        count: int,
        refresh: Callable[[], Awaitable[None]],
        timeout_s: float = 60.0,
    ) -> float:
        """When the ``count``-th of the expected answers arrived (each arrival is scanned once)."""
        deadline = time.monotonic() + timeout_s
        times: list[float] = []
        scanned = 0
        while True:
            await refresh()
            fresh = self.order[scanned:]
            scanned += len(fresh)
            times += [self.arrivals[key] for key in fresh if key in expected]
            if len(times) >= count:
                return sorted(times)[count - 1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(times)}/{count} results arrived")
            await asyncio.sleep(0.05)


async def settle(
    received: Callable[[], Awaitable[int]], devices: int, heartbeat_s: float, limit_s: float = 60.0
) -> None:
    """Wait until the gateway has taken in the previous burst (a second with no more than twice the
    heartbeats' rate): each round measures a fleet at rest, not one still digesting 20,000 answers
    and statuses. The heartbeats themselves go on during the measurement, as in a real fleet."""
    background = 2 * devices / heartbeat_s
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = await received()
        await asyncio.sleep(1.0)
        if await received() - before <= background:
            return


def p99_count(n: int) -> int:
    return max(1, math.ceil(n * 0.99))


async def play_now_round(
    engine: Engine,
    gateway: GatewayLike,
    uids: list[str],
    tag: str,
    operator: Principal,
) -> float:
    """The operator's path: the selection's ids in, permission and scope checked, the batch and the
    audit written and committed (``commands.send_commands``, as the API does); the commit wakes the
    gateway (PostgreSQL NOTIFY to its own process, or the in-process listener), which publishes."""
    factory = make_session_factory(engine)
    uid_of = await asyncio.to_thread(_device_ids, engine, uids)

    def issue() -> set[tuple[str, str]]:
        with factory() as s, s.begin():
            rows = commands.send_commands(
                s,
                principal=operator,
                device_uids=uids,
                kind="play_now",
                args={"audio_sha256": SHA, "item_id": tag},
            )
        # A device answers with the id it received: the group message's, or its own command's.
        return {(uid_of[r.device_id], r.batch_id or r.id) for r in rows}

    await settle(gateway.received, len(uids), SIM_HEARTBEAT_S)
    await gateway.reset_clock()
    cpu_before = _cpu_by_process()
    started = time.perf_counter()
    expected = await asyncio.to_thread(issue)
    issued = time.perf_counter()
    count = p99_count(len(uids))
    acknowledged = await gateway.clock.wait_for(expected, count, gateway.refresh)
    cpu_after = _cpu_by_process()
    if DEBUG:
        times = sorted(at for key, at in gateway.clock.arrivals.items() if key in expected)
        sys.stderr.write(
            f"{tag}: committed {issued - started:.3f} s, first answer {times[0] - started:.3f} s, "
            f"median {times[len(times) // 2] - started:.3f} s, p99 {acknowledged - started:.3f} s; "
            "CPU s until p99: "
            + ", ".join(f"{n} {cpu - cpu_before.get(n, 0):.2f}" for n, cpu in cpu_after.items())
            + "\n"
        )
    return acknowledged - started


def _cpu_by_process() -> dict[str, float]:
    """CPU seconds so far of the processes in play, by name (for LOA_BENCH_DEBUG)."""
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, tail = stat.read_text().rsplit(")", 1)
            name = head.split("(", 1)[1]
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "fleet_sim" in cmdline:
                name = "sim"
            elif "fleet_gateway" in cmdline:
                name = "gateway"
            elif stat.parent.name == str(os.getpid()):
                name = "bench"
            elif name not in ("mosquitto", "postgres"):
                continue
            fields = tail.split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _device_ids(engine: Engine, uids: list[str]) -> dict[int, str]:
    """Device id → uid, to recognise each answer (not part of the measured path)."""
    with make_session_factory(engine)() as s:
        return {r.id: r.uid for r in s.execute(select(Device.id, Device.uid).where(Device.uid.in_(uids)))}


async def raw_fanout_round(
    publisher: LiteClient, sim: SimProcess, topic: str, n: int, *, qos: int = 0
) -> float:
    """One plain publish to a topic every device subscribes to: time until 99 % received."""
    await sim.report()  # reset
    publisher.publish_nowait(topic, repr(time.time()).encode(), qos=qos)
    latencies: list[float] = []
    deadline = time.monotonic() + 30
    while len(latencies) < p99_count(n) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        fanout = (await sim.report())["fanout"]
        assert isinstance(fanout, list)
        latencies += fanout
    if len(latencies) < p99_count(n):
        raise TimeoutError(f"raw fan-out reached only {len(latencies)}/{n}")
    latencies.sort()
    if DEBUG:
        sys.stderr.write(
            f"raw fan-out QoS {qos}: first {latencies[0]:.3f} s, "
            f"median {latencies[len(latencies) // 2]:.3f} s, p99 {latencies[p99_count(n) - 1]:.3f} s\n"
        )
    return latencies[p99_count(n) - 1]


class EchoCounter:
    """The server side of the raw round trip: arrival times of the devices' plain echoes."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.wanted = 0
        self.enough = asyncio.Event()

    def expect(self, count: int) -> None:
        self.times, self.wanted = [], count
        self.enough.clear()

    def on_message(self, topic: str, payload: bytes) -> None:
        if "/echo/" in topic:
            self.times.append(time.perf_counter())
            if len(self.times) >= self.wanted:
                self.enough.set()


async def raw_round_trip_round(publisher: LiteClient, echoes: EchoCounter, topic: str, n: int) -> float:
    """The broker alone doing what "play now" asks of it: one QoS 1 publish to every device, each
    answering with a QoS 1 message to a server-side subscriber. Time until 99 % of the answers."""
    echoes.expect(p99_count(n))
    started = time.perf_counter()
    publisher.publish_nowait(topic, b"echo", qos=1)
    try:
        await asyncio.wait_for(echoes.enough.wait(), 30)
    except TimeoutError:
        raise TimeoutError(f"raw round trip reached only {len(echoes.times)}/{n}") from None
    return sorted(echoes.times)[p99_count(n) - 1] - started


async def mosquitto_bench(
    engine: Engine, workdir: Path, creds: Path, uids: list[str], operator: Principal, server_dir: Path
) -> list[Result]:
    """Mosquitto with the gateway in its own process (``loa gateway run`` in production)."""
    topics = Topics(f"b{uuid.uuid4().hex[:6]}")
    fanout = f"{topics.prefix}/bench/fanout"
    server_key = keys.public_key_b64(keys.load_or_create_signing_key(server_dir))
    with private_mosquitto(workdir) as port:
        url = engine.url.render_as_string(hide_password=False)
        gateway = await GatewayProcess.start(
            port=port, prefix=topics.prefix, database_url=url, data_dir=server_dir
        )
        sim: SimProcess | None = None
        try:
            echoes = EchoCounter()
            publisher = LiteClient(f"bench-publisher-{uuid.uuid4().hex[:6]}", on_message=echoes.on_message)
            await publisher.connect("127.0.0.1", port)
            await publisher.subscribe([(f"{fanout}/echo/+", 1)])
            sim = await SimProcess.start(
                port=port,
                prefix=topics.prefix,
                credentials=creds,
                devices=DEVICES,
                fanout=fanout,
                server_key=server_key,
            )
            raw: list[float] = []
            raw_qos1: list[float] = []
            round_trip: list[float] = []
            play: list[float] = []
            for i in range(ROUNDS):
                await settle(gateway.received, DEVICES, SIM_HEARTBEAT_S)
                raw.append(await raw_fanout_round(publisher, sim, fanout, DEVICES))
                await settle(gateway.received, DEVICES, SIM_HEARTBEAT_S)
                raw_qos1.append(await raw_fanout_round(publisher, sim, fanout, DEVICES, qos=1))
                await settle(gateway.received, DEVICES, SIM_HEARTBEAT_S)
                round_trip.append(await raw_round_trip_round(publisher, echoes, fanout, DEVICES))
                if DEBUG:
                    sys.stderr.write(f"raw round trip: p99 {round_trip[-1]:.3f} s\n")
                play.append(await play_now_round(engine, gateway, uids[:DEVICES], f"bench-{i}", operator))
            raw_s = statistics.median(raw)
            play_s = statistics.median(play)
            return [
                Result(f"fleet.mosquitto.connect_{DEVICES}_devices", sim.connect_s, "s"),
                Result(f"fleet.mosquitto.raw_fanout_p99_{DEVICES}", raw_s, "s"),
                Result(f"fleet.mosquitto.raw_fanout_qos1_p99_{DEVICES}", statistics.median(raw_qos1), "s"),
                Result(f"fleet.mosquitto.play_now_p99_{DEVICES}", play_s, "s", target=0.5),
                Result(f"fleet.mosquitto.play_now_vs_raw_{DEVICES}", play_s / raw_s, "ratio", target=2.0),
                Result(f"fleet.mosquitto.raw_round_trip_p99_{DEVICES}", statistics.median(round_trip), "s"),
                Result(
                    f"fleet.mosquitto.play_now_vs_raw_round_trip_{DEVICES}",
                    play_s / statistics.median(round_trip),
                    "ratio",
                ),
            ]
        finally:
            if sim is not None:
                await sim.stop()
            await gateway.stop()


async def amqtt_bench(
    engine: Engine, creds: Path, uids: list[str], operator: Principal, server_dir: Path
) -> list[Result]:
    """The embedded setup: broker, gateway and web application in one process (``loa run``)."""
    topics = Topics(f"a{uuid.uuid4().hex[:6]}")
    port = free_port()
    broker = EmbeddedBroker(
        host="127.0.0.1",
        port=port,
        store=DeviceCredentials(engine, StaticCredentials({BACKEND_USER: BACKEND_PASSWORD})),
        topics=topics,
        backend_users=[BACKEND_USER],
    )
    await broker.start()
    key = keys.load_or_create_signing_key(server_dir)
    config = GatewayConfig(
        host="127.0.0.1",
        port=port,
        username=BACKEND_USER,
        password=BACKEND_PASSWORD,
        topics=topics,
        client_id=f"bench-gw-{topics.prefix}",
        signing_key=None if PER_DEVICE else key,
    )
    gateway = Gateway(config, make_session_factory(engine))
    timed = InProcessGateway(gateway)
    gw_task = asyncio.create_task(gateway.run())

    sim: SimProcess | None = None
    try:
        await asyncio.wait_for(gateway.ready.wait(), 20)
        sim = await SimProcess.start(
            port=port,
            prefix=topics.prefix,
            credentials=creds,
            devices=AMQTT_DEVICES,
            fanout=None,
            server_key=keys.public_key_b64(key),
        )
        play = [
            await play_now_round(engine, timed, uids[:AMQTT_DEVICES], f"amqtt-{i}", operator)
            for i in range(ROUNDS)
        ]
        return [
            Result(f"fleet.amqtt.connect_{AMQTT_DEVICES}_devices", sim.connect_s, "s"),
            Result(f"fleet.amqtt.play_now_p99_{AMQTT_DEVICES}", statistics.median(play), "s", target=1.0),
        ]
    finally:
        if sim is not None:
            await sim.stop()
        gw_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await gw_task
        await broker.stop()


def receipt(receipt_id: str, seq: int, at: datetime) -> m.Receipt:
    return m.Receipt(
        receipt_id=receipt_id,
        seq=seq,
        item_id="tin-sang",
        audio_sha256=SHA,
        started_at=at,
        ended_at=at,
        outcome=m.Outcome.PLAYED,
    )


def seed_manifests(engine: Engine, identities: list[SimIdentity]) -> None:
    """Version 1 of every device's manifest names "tin-sang": the gateway accepts receipts only for
    items a device was given (``loa.fleet.provenance``), so the bench's receipts must be for one."""
    body = b'{"items":[{"id":"tin-sang"}],"manifest_version":1}'
    with make_session_factory(engine)() as s, s.begin():
        ids = dict(s.execute(select(Device.uid, Device.id)).tuples().all())
        rows = [
            {"device_id": ids[i.uid], "version": 1, "sha256": "0" * 64, "body": body, "signature": b""}
            for i in identities
        ]
        for start in range(0, len(rows), 2000):
            s.execute(insert(DeviceManifest), rows[start : start + 2000])


def ingest_bench(engine: Engine, identities: list[SimIdentity]) -> Result:
    """Status heartbeats and receipt batches (4:1, 5 receipts each) parsed, screened (the item must
    be the device's) and written in batches."""
    seed_manifests(engine, identities)
    topics = Topics("ingest")
    config = GatewayConfig(host="127.0.0.1", port=1, username="x", password="x", topics=topics)
    gateway = Gateway(config, make_session_factory(engine))
    uids = [i.uid for i in identities]
    total = 20_000
    rates = []
    for round_no in range(ROUNDS):
        messages = []
        for k in range(total):
            uid = uids[k % len(uids)]
            if k % 5 == 4:
                now = m.now_utc()
                receipts = [
                    m.Receipt(
                        receipt_id=f"r{round_no}x{k}x{j}",
                        seq=j,
                        item_id="tin-sang",
                        audio_sha256=SHA,
                        started_at=now,
                        ended_at=now,
                        outcome=m.Outcome.PLAYED,
                        manifest_version=1,
                    )
                    for j in range(5)
                ]
                payload = m.ReceiptBatch(sent_at=now, receipts=receipts).to_bytes()
                messages.append((topics.device(uid, Channel.RECEIPTS), payload))
            else:
                status = m.Status(sent_at=m.now_utc(), volume=k % 100, uptime_s=k)
                messages.append((topics.device(uid, Channel.STATUS), status.to_bytes()))
        started = time.perf_counter()
        refused = 0
        batch = config.flush_max
        for start in range(0, total, batch):
            for topic, payload in messages[start : start + batch]:
                gateway.accept(topic, payload)
            events, gateway._pending = gateway._pending, []
            refused += sum(len(ids) for ids in gateway._write(events).refused.values())
        rates.append(total / (time.perf_counter() - started))
        assert refused == 0, "the bench's receipts must be accepted"
    return Result(
        "fleet.ingest_status_and_receipts_postgres", statistics.median(rates), "msg/s", 5000, "higher"
    )


class _Server:
    def __init__(self, engine: Engine, data_dir: Path) -> None:
        import uvicorn

        from loa.app import create_app
        from loa.settings import Settings

        settings = Settings(  # type: ignore[call-arg]
            demo=True,
            data_dir=data_dir,
            secret_key="bench-secret-key-0123456789",  # type: ignore[arg-type]
        )
        self.port = free_port()
        app = create_app(settings, engine=engine)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def agent_bench(engine: Engine, workdir: Path, identity: SimIdentity) -> list[Result]:
    """One real agent (``python -m loa.agent``) connected to Mosquitto and the server, idle."""
    server_dir = workdir / "server"
    with private_mosquitto(workdir) as port, _Server(engine, server_dir) as server:
        agent_dir = workdir / "agent"
        agent_dir.mkdir()
        key = keys.public_key_b64(keys.load_or_create_signing_key(server_dir))
        (agent_dir / "identity.json").write_text(
            json.dumps(
                {
                    "device_id": identity.uid,
                    "secret": identity.secret,
                    "mqtt_host": "127.0.0.1",
                    "mqtt_port": port,
                    "topic_prefix": "loa",
                    "manifest_public_key": key,
                }
            )
        )
        config = agent_dir / "agent.toml"
        config.write_text(
            f'server_url = "http://127.0.0.1:{server.port}"\ndata_dir = "{agent_dir}"\nsink = "null"\n'
            "heartbeat_s = 30\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa.agent", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(6)  # start, connect, first sync
            if proc.poll() is not None:
                raise RuntimeError("the agent exited")
            rss = _proc_rss_mb(proc.pid)
            cpu0, t0 = _proc_cpu_s(proc.pid), time.monotonic()
            time.sleep(10)
            cpu = (_proc_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            rss = max(rss, _proc_rss_mb(proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    return [
        Result("fleet.agent_rss", rss, "MB", target=60),
        Result("fleet.agent_idle_cpu", cpu, "% of a core"),
    ]


def run() -> Iterable[Result]:
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" notices
    with tempfile.TemporaryDirectory(prefix="loa-bench-fleet-") as tmp, scratch_database("fleet") as engine:
        workdir = Path(tmp)
        identities = seed_devices(engine, max(DEVICES, AMQTT_DEVICES))
        creds = workdir / "sim.json"
        write_credentials(creds, identities)
        uids = [i.uid for i in identities]
        seed_audio(engine)
        operator = seed_operator(engine)
        server_dir = workdir / "server-keys"
        yield from eventloop.run(mosquitto_bench(engine, workdir, creds, uids, operator, server_dir))
        yield from eventloop.run(amqtt_bench(engine, creds, uids, operator, server_dir))
        yield ingest_bench(engine, identities)
        agent_dir = workdir / "agent-run"
        agent_dir.mkdir()
        yield from agent_bench(engine, agent_dir, identities[0])


if __name__ == "__main__":
    for result in run():
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")

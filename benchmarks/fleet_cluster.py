"""The clustered option beside single Mosquitto, in the same run, with the same simulated devices:
a three-node NATS cluster (MQTT + JetStream, ``loa.fleet.nats``: per-device accounts, sessions and
retained state replicated on three nodes) and one Mosquitto (``benchmarks.fleet``'s).

For each: the time for every device to connect (on the cluster, a third of them to each node), the
memory per device on the broker side (the brokers' resident memory after connecting, less before,
over the devices) and on the device side (the simulator's, over its devices: a Python process
holding them all, not a loudspeaker's agent), "play now" p99 (``benchmarks.fleet``'s round: the
operator's request to 99 % of the devices' answers parsed by the gateway; median of three), and
ingest: receipt messages (QoS 1) published as fast as one publisher can, until the gateway has parsed
them all (on the cluster they travel through the JetStream work queue the gateways share).

Environment: ``LOA_BENCH_CLUSTER_DEVICES`` (default 300: at 2,000 the cluster did not get "play now"
through on this 2-core machine; figures and reading in docs/operations.md), ``LOA_BENCH_POSTGRES_URL``.
A "play now" round whose answers do not reach 99 % within 60 s is reported as the share that did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, update

from benchmarks.common import Result, scratch_database
from benchmarks.fleet import (
    SIM_HEARTBEAT_S,
    GatewayProcess,
    SimProcess,
    _proc_rss_mb,
    play_now_round,
    private_mosquitto,
    receipt,
    seed_audio,
    seed_devices,
    seed_manifests,
    seed_operator,
    settle,
)
from loa import eventloop
from loa.accounts.principal import Principal
from loa.db import make_session_factory
from loa.fleet import credentials, keys, nats
from loa.fleet.models import Device, DeviceManifest
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Channel, Topics
from loa.sim.device import SimIdentity
from loa.sim.fleet import write_credentials

DEVICES = int(os.environ.get("LOA_BENCH_CLUSTER_DEVICES", "300"))
ROUNDS = 3
INGEST_MESSAGES = 20_000
NATS_SERVER = "/usr/sbin/nats-server"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"
BACKEND_PASSWORD = secrets.token_hex(16)


@contextlib.contextmanager
def nats_cluster(
    workdir: Path, topics: Topics, identities: list[SimIdentity]
) -> Iterator[list[nats.NatsNode]]:
    first = 18200  # this bench's own ports (four per node)
    nodes = nats.same_host_nodes(3, host="127.0.0.1", first_port=first)
    devices = [(i.uid, credentials.bcrypt_hash(i.secret)) for i in identities]
    backend = [("loa_backend", credentials.bcrypt_hash(BACKEND_PASSWORD))]
    out = workdir / "nats"
    paths = nats.write_cluster_config(out, topics=topics, nodes=nodes, devices=devices, backend=backend)
    procs = [
        subprocess.Popen(
            [NATS_SERVER, "-c", str(paths[n.name])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for n in nodes
    ]
    try:
        for node in nodes:
            deadline = time.monotonic() + 60
            probe = [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(node.mqtt_port), "-q", "1", "-t", "probe"]
            probe += ["-m", "1", "-u", "loa_backend", "-P", BACKEND_PASSWORD]
            while subprocess.run(probe, capture_output=True, timeout=20).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"NATS node {node.name} did not start")
                time.sleep(0.2)
        yield nodes
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)


def rss_mb(pids: list[int]) -> float:
    return sum(_proc_rss_mb(pid) for pid in pids)


def pids_of(command: str) -> list[int]:
    done = subprocess.run(["pgrep", "-f", command], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


async def ingest_round(
    port: int, topics: Topics, identities: list[SimIdentity], gateway: GatewayProcess
) -> float:
    """Receipt messages per second, published by one backend connection, parsed by the gateway."""
    publisher = LiteClient(f"bench-ingest-{uuid.uuid4().hex[:6]}")
    await publisher.connect("127.0.0.1", port, username="loa_backend", password=BACKEND_PASSWORD)
    at = datetime.now(UTC)
    payloads = [
        (
            topics.device(identities[k % len(identities)].uid, Channel.RECEIPTS),
            m.ReceiptBatch(sent_at=at, receipts=[receipt(uuid.uuid4().hex, k, at)]).to_bytes(),
        )
        for k in range(INGEST_MESSAGES)
    ]
    await settle(gateway.received, len(identities), SIM_HEARTBEAT_S)
    before = await gateway.received()
    started = time.perf_counter()
    for start in range(0, len(payloads), 100):
        await asyncio.gather(*(publisher.publish(t, p, qos=1) for t, p in payloads[start : start + 100]))
    while await gateway.received() - before < INGEST_MESSAGES * 0.99:  # noqa: ASYNC110 - another process
        await asyncio.sleep(0.05)
    took = time.perf_counter() - started
    publisher.abort()
    return INGEST_MESSAGES / took


async def measure(
    kind: str,
    engine: Engine,
    ports: list[int],
    broker_pids: list[int],
    topics: Topics,
    identities: list[SimIdentity],
    operator: Principal,
    workdir: Path,
    gateway_extra: tuple[str, ...],
) -> list[Result]:
    server_dir = workdir / "server-keys"
    server_key = keys.public_key_b64(keys.load_or_create_signing_key(server_dir))
    url = engine.url.render_as_string(hide_password=False)
    gateway = await GatewayProcess.start(
        port=ports[0], prefix=topics.prefix, database_url=url, data_dir=server_dir, extra=gateway_extra
    )
    sims: list[SimProcess] = []
    try:
        broker_before = rss_mb(broker_pids)
        share = [identities[k :: len(ports)] for k in range(len(ports))]
        started = time.perf_counter()
        starting = []
        for k, port in enumerate(ports):
            creds = workdir / f"sim-{kind}-{k}.json"
            write_credentials(creds, share[k])
            starting.append(
                SimProcess.start(
                    port=port,
                    prefix=topics.prefix,
                    credentials=creds,
                    devices=len(share[k]),
                    fanout=None,
                    server_key=server_key,
                )
            )
        sims = list(await asyncio.gather(*starting))
        connect_s = time.perf_counter() - started
        broker_mb = rss_mb(broker_pids) - broker_before
        sim_mb = rss_mb([s.proc.pid for s in sims])
        uids = [i.uid for i in identities]
        play: list[float] = []
        answered = 1.0
        for i in range(ROUNDS):
            try:
                play.append(await play_now_round(engine, gateway, uids, f"{kind}-{i}", operator))
            except TimeoutError as err:  # "only X/Y results arrived": the share answered within 60 s
                got, _, want = str(err).split()[1].partition("/")
                answered = min(answered, int(got) / int(want))
        rate = await ingest_round(ports[-1], topics, identities, gateway)
        n = len(identities)
        return [
            Result(f"fleet.{kind}.connect_{n}_devices", connect_s, "s"),
            Result(f"fleet.{kind}.broker_memory_per_device_{n}", broker_mb * 1024 / n, "KiB"),
            Result(f"fleet.{kind}.sim_memory_per_device_{n}", sim_mb * 1024 / n, "KiB"),
            *(
                [Result(f"fleet.{kind}.play_now_p99_{n}", statistics.median(play), "s", target=1.5)]
                if len(play) == ROUNDS
                else [
                    Result(f"fleet.{kind}.play_now_answered_in_60s_{n}", answered, "ratio", better="higher")
                ]
            ),
            Result(f"fleet.{kind}.ingest_receipt_messages", rate, "msg/s", better="higher"),
        ]
    finally:
        for sim in sims:
            await sim.stop()
        await gateway.stop()


def run() -> Iterable[Result]:
    with (
        tempfile.TemporaryDirectory(prefix="loa-bench-cluster-") as tmp,
        scratch_database("cluster") as engine,
    ):
        workdir = Path(tmp)
        identities = seed_devices(engine, DEVICES)
        seed_manifests(engine, identities)
        with make_session_factory(engine)() as s, s.begin():
            s.execute(update(Device).values(commune_id=None))
            # Counted as published: the gateway would otherwise start by publishing every device's
            # retained ``state``; on the cluster each is a replicated JetStream write, and 2,000 of
            # them at once timed the gateway's publishes out here (docs/operations.md).
            s.execute(update(DeviceManifest).values(published_at=datetime.now(UTC)))
        seed_audio(engine)
        operator = seed_operator(engine)
        topics = Topics(f"c{uuid.uuid4().hex[:6]}")
        with nats_cluster(workdir, topics, identities) as nodes:
            urls = ",".join(f"nats://127.0.0.1:{n.client_port}" for n in nodes)
            extra: tuple[str, ...] = (
                "--password",
                BACKEND_PASSWORD,
                "--ingest",
                "jetstream",
                "--nats-urls",
                urls,
            )
            pids = pids_of(str(workdir / "nats"))
            yield from eventloop.run(
                measure(
                    "nats_cluster",
                    engine,
                    [n.mqtt_port for n in nodes],
                    pids,
                    topics,
                    identities,
                    operator,
                    workdir,
                    extra,
                )
            )
        topics = Topics(f"m{uuid.uuid4().hex[:6]}")
        with private_mosquitto(workdir) as port:
            pids = pids_of(str(workdir / "mosquitto.conf"))
            extra = ("--password", BACKEND_PASSWORD)
            yield from eventloop.run(
                measure(
                    "mosquitto_single", engine, [port], pids, topics, identities, operator, workdir, extra
                )
            )


if __name__ == "__main__":
    for result in run():
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")

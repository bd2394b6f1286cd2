"""The README's production path, as processes: Debian's Mosquitto started from the files of ``loa broker
config``, ``loa serve``, ``loa gateway run`` (external broker, keeping Mosquitto's password file in
step) and real agents (``python -m loa.agent``) playing into file sinks, all on one database. Each
part can be stopped, killed and started again; the test process only writes the schedule (signed
manifests) and reads the database.

Every wait is for an event (a row, a file, a port); ``SAFETY_NET_S`` only guards against a hang. The
one wall-clock assumption is the schedule itself: a slot starts ``LEAD_S`` after the agents hold its
audio and the manifest that names it is published (a loudspeaker plays at a time, by design)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from loa.agent.storage import AudioCache
from loa.db import make_session_factory
from loa.fleet import keys, service
from loa.fleet.models import Device, DeviceManifest, PlayReceipt
from tests.fleet.debian import DebianMosquitto, generate_config, reachable_dir
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    SAFETY_NET_S,
    Slot,
    free_port,
    publish_manifest,
    store_audio,
    unique_prefix,
    wav_bytes,
)
from tests.fleet.nats_cluster import NatsCluster, nats_cluster

LEAD_S = 4.0  # from "every agent holds the new manifest" to the first slot
SECRET_KEY = "5f1c0e9a7b3d48e2a6c4b8f0d2e7a9c13b5d7f9e1a3c5e7b9d1f3a5c7e9b1d3f"  # 32 random bytes (hex)
LOA = "from loa.cli import main; main()"


_WATCHED: list[Proc] = []  # processes that must not exit while a wait is on


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SAFETY_NET_S
    while not predicate():
        for proc in _WATCHED:
            if proc.proc is not None and proc.proc.poll() is not None and proc.expected_up:
                raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Proc:
    """One process of the installation, its output in ``log``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    expected_up: bool = False  # started and not stopped on purpose

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} already runs"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.expected_up = True
        if self not in _WATCHED:
            _WATCHED.append(self)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.expected_up = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=SAFETY_NET_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop on signal {sig}") from None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class AgentProc(Proc):
    uid: str = ""
    data_dir: Path = field(default_factory=Path)

    def holds(self, sha: str) -> bool:
        return AudioCache(self.data_dir / "audio").has(sha)


@dataclass
class Production:
    base: Path
    engine: Engine
    prefix: str
    broker: DebianMosquitto | None  # None: the embedded broker, inside the gateway's process
    server: Proc
    gateway: Proc
    agents: list[AgentProc]
    data_dir: Path
    cluster: NatsCluster | None = None  # kind "cluster": three NATS nodes (MQTT + JetStream)
    more_gateways: list[Proc] = field(default_factory=list)  # gateways 2, 3… sharing the ingest
    sha: str = ""
    audio_len: int = 0
    expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    http_port: int = 0

    @property
    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    # --- the schedule ------------------------------------------------------------------------

    def latest_version(self, uid: str) -> int:
        with self.factory() as s:
            device = service.get_device(s, uid=uid)
            return int(
                s.scalar(
                    select(func.max(DeviceManifest.version)).where(DeviceManifest.device_id == device.id)
                )
                or 0
            )

    def reported_version(self, uid: str) -> int | None:
        with self.factory() as s:
            return s.scalar(select(Device.manifest_version).where(Device.uid == uid))

    def schedule(
        self,
        names: list[str],
        *,
        gap_s: float = 1.0,
        duration_ms: int = 1000,
        sha: str | None = None,
        held: bool = True,
    ) -> list[str]:
        """Publish to every agent a manifest of ``names`` (one slot each, ``gap_s`` apart, playing
        ``sha``, by default the suite's audio) starting ``LEAD_S`` after every agent reports the new
        version (and holds the audio, unless ``held`` is false: audio it cannot have); returns the
        item ids. Each item is expected once per agent in the ledger."""
        sha = sha or self.sha
        first = datetime.now(UTC) + timedelta(hours=1)  # placeholder until the agents hold it
        versions = {}
        for agent in self.agents:
            versions[agent.uid] = self.latest_version(agent.uid) + 1
        # Publish with a far start, wait until every agent runs that version, then publish the real
        # times as the next version: only a small manifest fetch stands before the slots.
        for agent in self.agents:
            self._publish(agent.uid, versions[agent.uid], names, first, gap_s, duration_ms, sha)
        wait_for(
            lambda: all(
                self.reported_version(a.uid) == versions[a.uid] and (a.holds(sha) or not held)
                for a in self.agents
                if a.running
            ),
            "the placeholder manifest and its audio on every agent",
        )
        start = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        for agent in self.agents:
            self._publish(agent.uid, versions[agent.uid] + 1, names, start, gap_s, duration_ms, sha)
            for name in names:
                self.expected[(agent.uid, name)] += 1
        wait_for(
            lambda: all(
                self.reported_version(a.uid) == versions[a.uid] + 1 for a in self.agents if a.running
            ),
            "the manifest of the slots on every agent",
        )
        return names

    def _publish(
        self,
        uid: str,
        version: int,
        names: list[str],
        start: datetime,
        gap_s: float,
        duration_ms: int,
        sha: str,
        *,
        tamper: bool = False,
    ) -> None:
        slots = [
            Slot(
                name,
                sha,
                self.audio_len,
                start + timedelta(seconds=i * (duration_ms / 1000 + gap_s)),
                duration_ms,
            )
            for i, name in enumerate(names)
        ]
        publish_manifest(self.factory, self.data_dir, uid, version, slots, tamper=tamper)

    # --- the ledger --------------------------------------------------------------------------

    def recorded(self) -> Counter[tuple[str, str]]:
        with self.factory() as s:
            rows = s.execute(
                select(Device.uid, PlayReceipt.item_id).join(Device, Device.id == PlayReceipt.device_id)
            ).all()
        return Counter((uid, item) for uid, item in rows)

    def outcomes(self) -> dict[tuple[str, str], str]:
        with self.factory() as s:
            rows = s.execute(
                select(Device.uid, PlayReceipt.item_id, PlayReceipt.outcome).join(
                    Device, Device.id == PlayReceipt.device_id
                )
            ).all()
        return {(uid, item): outcome.value for uid, item, outcome in rows}

    def wait_ledger(self) -> None:
        """Until every expected receipt is recorded, then over a few more heartbeats (a resend or a
        double would show): expected = recorded, none doubled; every agent still running."""
        wait_for(lambda: set(self.recorded()) >= set(self.expected), "every expected receipt")
        wait_for(lambda: all(not pending_receipts(a) for a in self.agents), "every receipt acknowledged")
        since = datetime.now(UTC) + timedelta(seconds=3)
        wait_for(lambda: self.all_seen_after(since), "a few more heartbeats from every agent")
        assert self.recorded() == self.expected, self.diagnosis()
        for agent in self.agents:
            assert agent.running, f"{agent.name} exited:\n{agent.output()}"

    def all_seen_after(self, at: datetime) -> bool:
        with self.factory() as s:
            seen = dict(s.execute(select(Device.uid, Device.last_seen_at)).all())
        return all(seen.get(a.uid) is not None and seen[a.uid] >= at for a in self.agents)

    def diagnosis(self) -> str:
        parts = [f"expected {dict(self.expected)}", f"recorded {dict(self.recorded())}"]
        for proc in (*self.gateways, *self.agents):
            parts.append(f"--- {proc.name}:\n{proc.output()}")
        for agent in self.agents:
            parts.append(f"--- {agent.name} journal pending: {sorted(journal_pending(agent))}")
        if self.cluster is not None:
            parts.append(f"mqtt ports {self.cluster.mqtt_ports}, nodes {list(self.cluster.procs)}")
            parts.append(subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout)
            parts += [(self.base / f"{a.name}.toml").read_text() for a in self.agents]
            parts.append(self.cluster.logs(1500))
        return "\n".join(parts)

    # --- lifecycle ---------------------------------------------------------------------------

    def wait_online(self) -> None:
        def online() -> bool:
            with self.factory() as s:
                rows = s.execute(select(Device.uid, Device.online)).all()
            state = dict(rows)
            return all(state.get(a.uid) for a in self.agents)

        try:
            wait_for(online, "every agent online")
        except AssertionError as err:
            raise AssertionError(f"{err}\n{self.diagnosis()}") from None

    @property
    def gateways(self) -> list[Proc]:
        return [self.gateway, *self.more_gateways]

    def stop_all(self) -> None:
        for proc in [*self.agents, *self.gateways, self.server]:
            proc.stop()
        if self.broker is not None:
            self.broker.stop()

    def stop_broker(self) -> None:
        """Mosquitto stopped; the embedded broker stops with its gateway."""
        if self.broker is not None:
            self.broker.stop()
        else:
            self.gateway.stop()

    def start_broker(self) -> None:
        if self.broker is not None:
            self.broker.start()
        else:
            self.start_gateway()

    def start_server(self) -> None:
        self.server.start()
        wait_for(lambda: _healthy(self.http_port), "the server")

    def manifest_error(self, uid: str) -> str | None:
        """What the agent's last status said of the manifests it refused (``None``: none)."""
        with self.factory() as s:
            return s.scalar(select(Device.manifest_error).where(Device.uid == uid))

    def start_gateway(self) -> None:
        """Start ``loa gateway run`` and wait for its first compilation: it replaces the test's own
        manifests (signed by hand, no schedule behind them) by the schedule's, an empty one."""
        self.gateway.start()
        wait_for(self.compiled, "the gateway's compilation at start")

    def compiled(self) -> bool:
        with self.factory() as s:
            for agent in self.agents:
                device = service.get_device(s, uid=agent.uid)
                newest = s.scalar(
                    select(DeviceManifest.content_hash)
                    .where(DeviceManifest.device_id == device.id)
                    .order_by(DeviceManifest.version.desc())
                    .limit(1)
                )
                if newest is None:  # hand-made (``publish_manifest`` stores no content hash)
                    return False
        return True


def journal_pending(agent: AgentProc) -> set[str]:
    """Item ids of the receipts the agent's journal holds unacknowledged (read only, as the agent's
    own replay reads it: ``loa.agent.journal``)."""
    path = agent.data_dir / "receipts.jsonl"
    if not path.exists():
        return set()
    pending: dict[str, str] = {}
    for raw in path.read_bytes().splitlines():
        try:
            entry = json.loads(raw)
            if entry["op"] == "add":
                pending[entry["r"]["receipt_id"]] = entry["r"]["item_id"]
            elif entry["op"] == "ack":
                for rid in entry["ids"]:
                    pending.pop(rid, None)
        except (ValueError, KeyError, TypeError):
            continue
    return set(pending.values())


def pending_receipts(agent: AgentProc) -> bool:
    return bool(journal_pending(agent))


@contextmanager
def production(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    agents: int = 2,
    kind: str = "mosquitto",
    gateways: int = 1,
) -> Iterator[Production]:
    """The installation with ``agents`` agents, on Debian's Mosquitto (``kind="mosquitto"``), on the
    embedded broker that ``loa gateway run`` starts in its own process (``"embedded"``), or on a
    three-node NATS cluster (``"cluster"``: the agents spread over the nodes, each knowing the
    others as fallbacks). ``gateways`` processes share the ingest (Mosquitto: ``$share``; the
    cluster: JetStream)."""
    prefix = unique_prefix()
    factory = make_session_factory(engine)
    codes = []
    with factory() as s, s.begin():
        for i in range(agents):
            device = service.create_device(s, name=f"Cụm loa thôn {i + 1}")
            codes.append((device.uid, service.issue_enrol_code(s, device=device)))
    with reachable_dir() as base, contextlib.ExitStack() as stack:
        port, http_port = free_port(), free_port()
        broker: DebianMosquitto | None = None
        cluster: NatsCluster | None = None
        if kind == "mosquitto":
            conf, _ = generate_config(
                monkeypatch, capsys, engine, base, prefix=prefix, port=port, gateways=gateways
            )
            broker = DebianMosquitto(conf, port)
        elif kind == "cluster":
            cluster = stack.enter_context(
                nats_cluster(monkeypatch, capsys, engine, base, prefix=prefix, gateways=gateways)
            )
            port = cluster.mqtt_ports[0]
        data_dir = base / "server"
        (base / "logs").mkdir()
        env = {
            **os.environ,
            "LOA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "LOA_DATA_DIR": str(data_dir),
            "LOA_SECRET_KEY": SECRET_KEY,
            "LOA_MQTT_MODE": "external",
            "LOA_MQTT_HOST": "127.0.0.1",
            "LOA_MQTT_PORT": str(port),
            "LOA_MQTT_USERNAME": BACKEND_USER,
            "LOA_MQTT_PASSWORD": BACKEND_PASSWORD,
            "LOA_MQTT_TOPIC_PREFIX": prefix,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2] / "src"), os.environ.get("PYTHONPATH", "")]
            ),
        }
        env.pop("LOA_DEMO", None)
        if broker is not None:  # what keeps Mosquitto's password file in step with enrolments
            env["LOA_MOSQUITTO_PASSWORD_FILE"] = str(broker.conf.parent / "passwd")
            env["LOA_MOSQUITTO_PID_FILE"] = str(base / "run" / "mosquitto.pid")
        elif cluster is not None:  # the gateways read from JetStream, gateway 1 keeps the accounts
            env["LOA_MQTT_INGEST"] = "jetstream"
            env["LOA_NATS_URLS"] = ",".join(cluster.nats_urls)
            env["LOA_NATS_ACCOUNTS_FILE"] = str(cluster.accounts)
            env["LOA_NATS_PID_FILES"] = ",".join(str(cluster.pid_file(n.name)) for n in cluster.nodes)
        else:
            env["LOA_MQTT_MODE"] = "embedded"
        server = Proc(
            "server",
            [sys.executable, "-c", LOA, "serve", "--host", "127.0.0.1", "--port", str(http_port)],
            env,
            base / "logs" / "server.log",
        )
        gateway_procs = []
        for g in range(1, gateways + 1):
            genv = {**env, "LOA_GATEWAY_INDEX": str(g)}
            if cluster is not None:  # gateway g starts on node g, the others as fallbacks
                ports = cluster.mqtt_ports[g - 1 :] + cluster.mqtt_ports[: g - 1]
                genv["LOA_MQTT_PORT"] = str(ports[0])
                genv["LOA_MQTT_FALLBACK_BROKERS"] = ",".join(f"127.0.0.1:{p}" for p in ports[1:])
            name = "gateway" if g == 1 else f"gateway{g}"
            argv = [sys.executable, "-c", LOA, "gateway", "run"]
            gateway_procs.append(Proc(name, argv, genv, base / "logs" / f"{name}.log"))
        gateway, *more_gateways = gateway_procs
        agent_procs = []
        for i, (uid, code) in enumerate(codes):
            name = f"agent{i + 1}"
            data = base / name
            data.mkdir()
            config = base / f"{name}.toml"
            config.write_text(
                f'server_url = "http://127.0.0.1:{http_port}"\n'
                f'data_dir = "{data}"\n'
                f'enrol_code = "{code}"\n'
                'sink = "file"\n'
                f'sink_dir = "{data / "played"}"\n'
                "heartbeat_s = 1\nresend_receipts_after_s = 1.0\n"
                "reconnect_max_s = 1.0\nstatus_coalesce_s = 0.2\n"
            )
            if cluster is not None:  # agent i on node i % 3, the other nodes as fallbacks
                ports = cluster.mqtt_ports[i % 3 :] + cluster.mqtt_ports[: i % 3]
                others = ", ".join(f'"127.0.0.1:{p}"' for p in ports[1:])
                with config.open("a") as fh:
                    fh.write(f"mqtt_port = {ports[0]}\nmqtt_brokers = [{others}]\n")
            agent_procs.append(
                AgentProc(
                    name,
                    [sys.executable, "-m", "loa.agent", "--config", str(config)],
                    env,
                    base / "logs" / f"{name}.log",
                    uid=uid,
                    data_dir=data,
                )
            )
        prod = Production(
            base, engine, prefix, broker, server, gateway, agent_procs, data_dir, cluster, more_gateways
        )
        prod.http_port = http_port
        keys.load_or_create_signing_key(data_dir)  # before the processes (they would race to create it)
        try:
            if broker is not None:
                broker.start()
            server.start()
            for proc in gateway_procs:
                proc.start()
            wait_for(lambda: _healthy(http_port), "the server")
            # The gateway's first compilation gives every device a manifest and publishes its state.
            wait_for(lambda: all(prod.latest_version(uid) >= 1 for uid, _ in codes), "the first compilation")
            audio = wav_bytes(1.0, 523.0)
            prod.sha, prod.audio_len = store_audio(data_dir / "audio", audio), len(audio)
            for agent in agent_procs:
                agent.start()
            prod.wait_online()
            yield prod
        finally:
            prod.stop_all()
            _WATCHED.clear()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False

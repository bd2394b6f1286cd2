"""A three-node NATS cluster (MQTT + JetStream) on this machine, from the files of ``loa broker
nats-config`` (the real CLI): distinct node names, ports and data directories under a temporary
directory, Debian's ``/usr/sbin/nats-server``, and nodes that can be killed and started again."""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.fleet.nats import NatsNode, same_host_nodes
from tests.fleet.harness import BACKEND_PASSWORD, BACKEND_USER, SAFETY_NET_S
from tests.support.cli import run_loa

NATS_SERVER = "/usr/sbin/nats-server"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"
PORTS_PER_NODE = 4


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 (checked, then used at once)."""
    for _ in range(200):
        first = random.randrange(20_000, 60_000 - count)
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no block of free ports")


def generate_nats_config(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    out: Path,
    *,
    prefix: str,
    first_port: int,
    nodes: int = 3,
    gateways: int = 1,
) -> str:
    """``loa broker nats-config`` (the backend account is the harness's); returns what it printed."""
    for name, value in (
        ("LOA_MQTT_TOPIC_PREFIX", prefix),
        ("LOA_MQTT_USERNAME", BACKEND_USER),
        ("LOA_MQTT_PASSWORD", BACKEND_PASSWORD),
    ):
        monkeypatch.setenv(name, value)
    code, printed, err = run_loa(
        monkeypatch,
        engine,
        capsys,
        "broker",
        "nats-config",
        "--out",
        str(out),
        "--nodes",
        str(nodes),
        "--first-port",
        str(first_port),
        "--gateways",
        str(gateways),
    )
    assert code == 0, err
    return printed


@dataclass
class NatsCluster:
    conf_dir: Path
    nodes: list[NatsNode]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def conf(self, name: str) -> Path:
        return self.conf_dir / f"{name}.conf"

    def pid_file(self, name: str) -> Path:
        return self.conf_dir / "run" / f"{name}.pid"

    @property
    def accounts(self) -> Path:
        return self.conf_dir / "accounts.conf"

    @property
    def mqtt_ports(self) -> list[int]:
        return [n.mqtt_port for n in self.nodes]

    @property
    def nats_urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{n.client_port}" for n in self.nodes]

    def start(self, name: str | None = None) -> None:
        if not Path(NATS_SERVER).exists():
            pytest.fail("these tests need Debian's nats-server (/usr/sbin/nats-server): make nats")
        for node in self.nodes:
            if name is not None and node.name != name:
                continue
            log = self.conf_dir / f"{node.name}.log"
            with open(self.conf_dir / f"{node.name}.err", "ab") as err:  # a panic goes to stderr
                self.procs[node.name] = subprocess.Popen(
                    [NATS_SERVER, "-c", str(self.conf(node.name)), "-l", str(log)],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
        self.wait_ready()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """SIGKILL: the node is lost (its sockets close at once, nothing saved on the way out)."""
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=SAFETY_NET_S)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def logs(self, tail: int = 3000) -> str:
        """The nodes' own logs (the end of each), for a failure message."""
        parts = []
        for node in self.nodes:
            log = self.conf_dir / f"{node.name}.log"
            text = log.read_text(errors="replace")[-tail:] if log.exists() else ""
            err = self.conf_dir / f"{node.name}.err"
            died = err.read_text(errors="replace")[:tail] if err.exists() else ""
            parts.append(f"--- {node.name}:\n{text}\n{died}")
        return "\n".join(parts)

    def wait_ready(self) -> None:
        """Until every running node accepts an MQTT QoS 1 publish (JetStream has a leader and the
        MQTT streams exist: the first connections are refused while the cluster elects one)."""
        deadline = time.monotonic() + SAFETY_NET_S
        for node in self.nodes:
            if node.name not in self.procs:
                continue
            while not self._accepts(node):
                proc = self.procs[node.name]
                if proc.poll() is not None:
                    log = (self.conf_dir / f"{node.name}.log").read_text(errors="replace")[-3000:]
                    raise AssertionError(f"nats-server {node.name} exited:\n{log}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"NATS node {node.name} never accepted MQTT")
                time.sleep(0.2)

    def _accepts(self, node: NatsNode) -> bool:
        argv = [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(node.mqtt_port), "-q", "1"]
        argv += ["-u", BACKEND_USER, "-P", BACKEND_PASSWORD, "-t", "ready/probe", "-m", "1"]
        try:
            return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False


@contextlib.contextmanager
def nats_cluster(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    base: Path,
    *,
    prefix: str,
    gateways: int = 1,
    start: bool = True,
) -> Iterator[NatsCluster]:
    """Three nodes from ``loa broker nats-config`` under ``base/nats``; stopped at the end."""
    first = free_port_block(3 * PORTS_PER_NODE)
    out = base / "nats"
    generate_nats_config(monkeypatch, capsys, engine, out, prefix=prefix, first_port=first, gateways=gateways)
    cluster = NatsCluster(out, same_host_nodes(3, host="127.0.0.1", first_port=first))
    try:
        if start:
            cluster.start()
        yield cluster
    finally:
        cluster.stop()

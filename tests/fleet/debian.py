"""Debian's packaged Mosquitto run the documented way: files from ``loa broker config`` (the real CLI),
``/usr/sbin/mosquitto -c …`` started as this process's user (root here: it drops to ``mosquitto``), on
its own port with its own directory; and Debian's ``mosquitto_sub``/``mosquitto_pub`` as clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import mosquitto, queries
from tests.fleet.harness import BACKEND_PASSWORD, BACKEND_USER, MOSQUITTO, free_port, wait_for_port
from tests.support.cli import run_loa

MOSQUITTO_SUB = "/usr/bin/mosquitto_sub"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"


@contextlib.contextmanager
def reachable_dir() -> Iterator[Path]:
    """A directory the ``mosquitto`` account can pass through (pytest's ``tmp_path`` is under a
    0700 root directory, which is exactly what a real installation must not do)."""
    base = Path(tempfile.mkdtemp(prefix="loa-mosquitto-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def generate_config(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    base: Path,
    *,
    prefix: str,
    port: int,
    gateways: int = 1,
) -> tuple[Path, str]:
    """``loa broker config`` into ``base/mqtt`` (the backend account is the harness's); returns the
    configuration file and what the command printed."""
    for name, value in (
        ("LOA_MQTT_TOPIC_PREFIX", prefix),
        ("LOA_MQTT_USERNAME", BACKEND_USER),
        ("LOA_MQTT_PASSWORD", BACKEND_PASSWORD),
    ):
        monkeypatch.setenv(name, value)
    code, out, err = run_loa(
        monkeypatch,
        engine,
        capsys,
        "broker",
        "config",
        "--out",
        str(base / "mqtt"),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--pid-file",
        str(base / "run" / "mosquitto.pid"),
        "--gateways",
        str(gateways),
    )
    assert code == 0, err
    return base / "mqtt" / "mosquitto.conf", out


@dataclass
class DebianMosquitto:
    """One ``/usr/sbin/mosquitto -c conf`` process that can be stopped and started again."""

    conf: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.fail("these tests need Debian's mosquitto (/usr/sbin/mosquitto)")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.PIPE)
        wait_for_port(self.port, self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a clean stop (Mosquitto saves its persistence file); SIGKILL: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def debian_mosquitto(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    *,
    prefix: str,
) -> Iterator[DebianMosquitto]:
    """Generate the files, start Mosquitto on a free port; stopped at the end."""
    with reachable_dir() as base:
        port = free_port()
        conf, _ = generate_config(monkeypatch, capsys, engine, base, prefix=prefix, port=port)
        broker = DebianMosquitto(conf, port)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


async def keep_passwords(engine: Engine, broker: DebianMosquitto, interval_s: float = 0.2) -> None:
    """What ``loa gateway run`` does with ``LOA_MOSQUITTO_PASSWORD_FILE``/``_PID_FILE`` set (there every
    5 s): newly enrolled devices are written to the password file and Mosquitto reloads it."""
    syncer = mosquitto.PasswordFileSync(
        broker.conf.parent / "passwd",
        backend_user=BACKEND_USER,
        backend_password=BACKEND_PASSWORD,
        pid_file=broker.conf.parent.parent / "run" / "mosquitto.pid",
    )
    factory = make_session_factory(engine)

    def once() -> None:
        with factory() as session:
            syncer.sync(queries.device_password_entries(session))

    while True:
        await asyncio.to_thread(once)
        await asyncio.sleep(interval_s)


def client_args(tool: str, port: int, user: str, password: str) -> list[str]:
    return [tool, "-h", "127.0.0.1", "-p", str(port), "-u", user, "-P", password]


def mosquitto_sub(
    port: int, user: str, password: str, topic: str, *, count: int = 1, wait_s: int = 30
) -> str:
    """The payloads of the first ``count`` messages on ``topic`` (retained included), one a line."""
    cmd = client_args(MOSQUITTO_SUB, port, user, password)
    cmd += ["-t", topic, "-q", "1", "-C", str(count), "-W", str(wait_s)]
    done = subprocess.run(
        cmd,
        capture_output=True,
        timeout=wait_s + 10,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def mosquitto_pub(
    port: int, user: str, password: str, topic: str, payload: str, *, retain: bool = False
) -> subprocess.CompletedProcess[bytes]:
    cmd = client_args(MOSQUITTO_PUB, port, user, password)
    cmd += ["-t", topic, "-m", payload, "-q", "1", *(["-r"] if retain else [])]
    return subprocess.run(
        cmd,
        capture_output=True,
        timeout=30,
    )

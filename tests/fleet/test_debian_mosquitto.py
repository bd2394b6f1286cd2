"""``loa broker config`` as documented with Debian's packaged Mosquitto: started as root it drops to the
``mosquitto`` account and must still read the password file and ACL and write its persistence file;
a device's credentials work from Debian's own ``mosquitto_sub``/``mosquitto_pub``; the gateway's
rewrite of the password file keeps it readable; retained messages survive a restart."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import mosquitto, queries, service
from tests.fleet.debian import (
    MOSQUITTO_SUB,
    DebianMosquitto,
    client_args,
    generate_config,
    mosquitto_pub,
    mosquitto_sub,
    reachable_dir,
)
from tests.fleet.harness import BACKEND_PASSWORD, BACKEND_USER, free_port, new_device, unique_prefix

pytestmark = [pytest.mark.mqtt]


def enrolled(engine: Engine, name: str) -> tuple[str, str]:
    factory = make_session_factory(engine)
    uid, code = new_device(factory, name)
    with factory() as s, s.begin():
        return uid, service.enrol(s, code=code).secret


def test_generated_files_start_debian_mosquitto_as_root_and_devices_connect(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = unique_prefix()
    uid, secret = enrolled(engine, "Cụm loa thôn 1")
    with reachable_dir() as base:
        port = free_port()
        conf, printed = generate_config(monkeypatch, capsys, engine, base, prefix=prefix, port=port)
        text = conf.read_text()
        assert "user mosquitto\n" in text and "persistence true\n" in text
        assert f"persistence_location {base / 'mqtt' / 'data'}/" in text
        passwd, data = base / "mqtt" / "passwd", base / "mqtt" / "data"
        if os.geteuid() == 0:  # the documented way: root generates, Mosquitto runs as "mosquitto"
            account = pwd.getpwnam("mosquitto")
            assert passwd.stat().st_uid == account.pw_uid and data.stat().st_uid == account.pw_uid
            assert "đã giao cho tài khoản «mosquitto»" in printed
        assert passwd.stat().st_mode & 0o077 == 0  # the hashes stay private
        assert "/etc/systemd/system/mosquitto.service.d/loa.conf" in printed
        assert (
            f"ExecStart=/usr/sbin/mosquitto -c {conf}"
            in (base / "mqtt" / "systemd-override.conf").read_text()
        )

        broker = DebianMosquitto(conf, port)
        broker.start()
        try:
            _device_talks(port, prefix, uid, secret)
            assert int((base / "run" / "mosquitto.pid").read_text()) == broker.proc.pid  # type: ignore[union-attr]
            _rewrite_keeps_the_file_readable(engine, broker, passwd, base / "run" / "mosquitto.pid", prefix)
            _retained_survives_a_restart(broker, data, prefix, uid, secret)
        finally:
            broker.stop()


def _device_talks(port: int, prefix: str, uid: str, secret: str) -> None:
    cmd_topic = f"{prefix}/d/{uid}/cmd"
    cmd = client_args(MOSQUITTO_SUB, port, uid, secret)
    cmd += ["-t", cmd_topic, "-q", "1", "-C", "1", "-W", "30", "-c", "-i", uid]
    sub = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The subscription is in place once the backend's message is delivered: publish until it is.
    deadline = time.monotonic() + 30
    while sub.poll() is None and time.monotonic() < deadline:
        done = mosquitto_pub(port, BACKEND_USER, BACKEND_PASSWORD, cmd_topic, '{"hello":1}')
        assert done.returncode == 0, done.stderr
        try:
            sub.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
    out, err = sub.communicate(timeout=5)
    assert sub.returncode == 0, err
    assert out.decode().strip() == '{"hello":1}'
    # The device publishes on its own topics, and a wrong password is refused.
    assert mosquitto_pub(port, uid, secret, f"{prefix}/d/{uid}/status", "{}").returncode == 0
    refused = mosquitto_pub(port, uid, "wrong", f"{prefix}/d/{uid}/status", "{}")
    assert refused.returncode != 0 and b"not authori" in refused.stderr.lower()


def _rewrite_keeps_the_file_readable(
    engine: Engine, broker: DebianMosquitto, passwd: Path, pid_file: Path, prefix: str
) -> None:
    """The gateway (as root) rewrites the file for a new device and signals Mosquitto: the file keeps
    its owner, Mosquitto reloads it, and the new device connects."""
    owner = passwd.stat().st_uid
    uid, secret = enrolled(engine, "Cụm loa thôn 2")
    sync = mosquitto.PasswordFileSync(
        passwd, backend_user=BACKEND_USER, backend_password=BACKEND_PASSWORD, pid_file=pid_file
    )
    with make_session_factory(engine)() as s:
        assert sync.sync(queries.device_password_entries(s)) is True
    assert passwd.stat().st_uid == owner
    deadline = time.monotonic() + 30
    while mosquitto_pub(broker.port, uid, secret, f"{prefix}/d/{uid}/status", "{}").returncode != 0:
        assert time.monotonic() < deadline, "the new device never got in after the reload"
        assert broker.proc is not None and broker.proc.poll() is None, "mosquitto died on the reload"
        time.sleep(0.2)


def _retained_survives_a_restart(
    broker: DebianMosquitto, data: Path, prefix: str, uid: str, secret: str
) -> None:
    state_topic = f"{prefix}/d/{uid}/state"
    done = mosquitto_pub(broker.port, BACKEND_USER, BACKEND_PASSWORD, state_topic, '{"v":7}', retain=True)
    assert done.returncode == 0, done.stderr
    broker.restart()  # a clean stop: Mosquitto writes its persistence file as "mosquitto"
    assert (data / "mosquitto.db").exists()
    assert mosquitto_sub(broker.port, uid, secret, state_topic).strip() == '{"v":7}'


def test_config_in_a_directory_mosquitto_cannot_reach_is_flagged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """pytest's ``tmp_path`` sits under a 0700 directory of root's: the command says so (in
    Vietnamese) instead of leaving Mosquitto to fail with "Unable to open pwfile"."""
    os.chmod(tmp_path.parent.parent, 0o700)
    _, printed = generate_config(monkeypatch, capsys, engine, tmp_path, prefix="loa", port=free_port())
    if os.geteuid() == 0:
        assert "Cảnh báo: tài khoản «mosquitto» không vào được thư mục" in printed
    else:
        assert "chạy mosquitto bằng chính người dùng này" in printed

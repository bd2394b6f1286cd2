"""A production Mosquitto learns of enrolments without anyone re-running ``loa broker config``: the
gateway's ``PasswordFileSync`` rewrites the password file and signals Mosquitto, so a device just
enrolled connects, and one deactivated no longer does. A private Mosquitto runs the generated files."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import credentials, mosquitto, queries, service
from loa.protocol.topics import Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    MOSQUITTO,
    free_port,
    new_device,
    unique_prefix,
)

pytestmark = pytest.mark.mqtt


async def _can_connect(port: int, uid: str, secret: str) -> bool:
    try:
        async with aiomqtt.Client(
            "127.0.0.1", port, username=uid, password=secret, identifier=uid, timeout=5
        ):
            return True
    except aiomqtt.MqttError:
        return False


def _eventually(port: int, uid: str, secret: str, *, expected: bool) -> bool:
    deadline = time.monotonic() + 5
    while True:
        got = asyncio.run(_can_connect(port, uid, secret))
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_enrolment_and_deactivation_reach_mosquitto(engine: Engine, tmp_path: Path) -> None:
    if not Path(MOSQUITTO).exists():
        pytest.fail("the fleet tests need /usr/sbin/mosquitto")
    port = free_port()
    paths = mosquitto.write_config(
        tmp_path / "mqtt",
        topics=Topics(unique_prefix()),
        options=mosquitto.MosquittoOptions(bind_host="127.0.0.1", port=port, run_as_user="root"),
        passwords=[(BACKEND_USER, credentials.mosquitto_hash(BACKEND_PASSWORD))],
        backend_users=[BACKEND_USER],
    )
    backend_line = paths["passwords"].read_text()
    proc = subprocess.Popen([MOSQUITTO, "-c", str(paths["conf"])], stderr=subprocess.PIPE)
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{proc.pid}\n")  # as systemd's PIDFile= would
    factory = make_session_factory(engine)
    syncer = mosquitto.PasswordFileSync(
        paths["passwords"], backend_user=BACKEND_USER, backend_password=BACKEND_PASSWORD, pid_file=pid_file
    )
    try:
        deadline = time.monotonic() + 10
        while not asyncio.run(_can_connect(port, BACKEND_USER, BACKEND_PASSWORD)):
            assert time.monotonic() < deadline and proc.poll() is None, "mosquitto did not start"
            time.sleep(0.1)
        uid, code = new_device(factory, "Cụm loa thôn 3")
        with factory() as s, s.begin():
            enrolment = service.enrol(s, code=code)
        assert not asyncio.run(_can_connect(port, uid, enrolment.secret))  # not in the file yet

        with factory() as s:
            assert syncer.sync(queries.device_password_entries(s)) is True
        assert _eventually(port, uid, enrolment.secret, expected=True)
        assert f"{BACKEND_USER}:" in paths["passwords"].read_text()
        assert backend_line.strip() in paths["passwords"].read_text()  # the backend's line is kept
        with factory() as s:  # nothing changed: no rewrite, no signal
            assert syncer.sync(queries.device_password_entries(s)) is False

        with factory() as s, s.begin():
            service.deactivate_device(s, device=service.get_device(s, uid=uid))
        with factory() as s:
            assert syncer.sync(queries.device_password_entries(s)) is True
        assert _eventually(port, uid, enrolment.secret, expected=False) is False
        assert asyncio.run(_can_connect(port, BACKEND_USER, BACKEND_PASSWORD))
        assert proc.poll() is None  # reloaded, not restarted
    finally:
        proc.terminate()
        proc.wait(timeout=10)

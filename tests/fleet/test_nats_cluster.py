"""The clustered option: three ``nats-server`` nodes from ``loa broker nats-config`` with Debian's
``mosquitto_pub``/``mosquitto_sub`` as devices. A device's account is as strict as with Mosquitto's
pattern ACL (its own topics only, MQTT only); retained state and a device's session (its QoS 1
commands waiting while it is away) are the cluster's, not one node's: they outlive a node."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.fleet import service
from loa.protocol.topics import Channel, Topics
from tests.fleet.debian import MOSQUITTO_PUB, MOSQUITTO_SUB, client_args, mosquitto_pub, reachable_dir
from tests.fleet.harness import BACKEND_PASSWORD, BACKEND_USER, SAFETY_NET_S, new_device, unique_prefix
from tests.fleet.nats_cluster import nats_cluster

pytestmark = [pytest.mark.mqtt]


def enrolled(engine: Engine, name: str) -> tuple[str, str]:
    factory = make_session_factory(engine)
    uid, code = new_device(factory, name)
    with factory() as s, s.begin():
        return uid, service.enrol(s, code=code).secret


def subscribe_denied(port: int, user: str, password: str, topic: str) -> bool:
    cmd = [*client_args(MOSQUITTO_SUB, port, user, password), "-t", topic, "-q", "1", "-W", "5"]
    done = subprocess.run(cmd, capture_output=True, timeout=30)
    return "denied" in (done.stdout + done.stderr).decode()


def test_a_device_uses_only_its_own_topics_on_every_node(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = Topics(unique_prefix())
    a, a_secret = enrolled(engine, "Cụm loa thôn 1")
    b, b_secret = enrolled(engine, "Cụm loa thôn 2")
    with reachable_dir() as base, nats_cluster(monkeypatch, capsys, engine, base, prefix=topics.prefix) as c:
        accounts = c.accounts.read_text()
        assert f'"{a}"' in a_secret_free(accounts, a_secret) and '"$2b$04$' in accounts
        n1, n2, n3 = c.mqtt_ports
        # Device B's heartbeats as the backend sees them, while A tries to speak for B before each.
        watcher = subprocess.Popen(
            [
                *client_args(MOSQUITTO_SUB, n1, BACKEND_USER, BACKEND_PASSWORD),
                "-t",
                topics.device(b, Channel.STATUS),
                "-C",
                "3",
                "-W",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while watcher.poll() is None:
            mosquitto_pub(n2, a, a_secret, topics.device(b, Channel.STATUS), "forged")
            mosquitto_pub(n3, b, b_secret, topics.device(b, Channel.STATUS), "genuine")
        out, err = watcher.communicate()
        assert watcher.returncode == 0, err.decode()
        assert out.decode().split() == ["genuine"] * 3
        # Reading: only its own inbox; NATS's internal delivery subjects are refused too.
        assert subscribe_denied(n2, a, a_secret, topics.device(b, Channel.CMD))
        assert subscribe_denied(n2, a, a_secret, "$MQTT/sub/#")
        assert subscribe_denied(n2, a, a_secret, f"{topics.prefix}/d/+/state")
        # A wrong password is refused; a device's account cannot use the NATS protocol at all.
        wrong = subprocess.run(
            [
                *client_args(MOSQUITTO_PUB, n1, a, "not-the-secret"),
                "-t",
                topics.device(a, Channel.STATUS),
                "-m",
                "x",
            ],
            capture_output=True,
            timeout=30,
        )
        assert wrong.returncode != 0
        assert not asyncio.run(nats_login(c.nats_urls[0], a, a_secret))
        assert asyncio.run(nats_login(c.nats_urls[0], BACKEND_USER, BACKEND_PASSWORD))
        # Retained state published on node 1 is there for the device on node 3.
        assert (
            mosquitto_pub(
                n1, BACKEND_USER, BACKEND_PASSWORD, topics.device(a, Channel.STATE), "v7", retain=True
            ).returncode
            == 0
        )
        got = subprocess.run(
            [
                *client_args(MOSQUITTO_SUB, n3, a, a_secret),
                "-t",
                topics.device(a, Channel.STATE),
                "-q",
                "1",
                "-C",
                "1",
                "-W",
                "30",
            ],
            capture_output=True,
            timeout=60,
        )
        assert got.stdout.decode().strip() == "v7", got.stderr.decode()


def a_secret_free(text: str, secret: str) -> str:
    """The accounts file must never hold a device's secret itself (only its bcrypt hash)."""
    assert secret not in text
    return text


async def nats_login(url: str, user: str, password: str) -> bool:
    import nats

    try:
        nc = await nats.connect(
            servers=[url], user=user, password=password, allow_reconnect=False, connect_timeout=5
        )
    except Exception:
        return False
    await nc.close()
    return True


def test_a_devices_session_and_queued_command_outlive_its_node(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = Topics(unique_prefix())
    a, a_secret = enrolled(engine, "Cụm loa thôn 1")
    with reachable_dir() as base, nats_cluster(monkeypatch, capsys, engine, base, prefix=topics.prefix) as c:
        n1, n2, n3 = c.mqtt_ports
        cmd = topics.device(a, Channel.CMD)
        session = ["-i", a, "-c", "-q", "1", "-t", cmd]
        # The device subscribes on node 2 with a persistent session, then goes away.
        first = subprocess.run(
            [*client_args(MOSQUITTO_SUB, n2, a, a_secret), *session, "-W", "2"],
            capture_output=True,
            timeout=30,
        )
        assert b"denied" not in first.stdout + first.stderr
        c.kill("n2", signal.SIGKILL)
        # A command for it, published on node 1 while it is away and its node is gone (refused while
        # the two nodes left elect new stream leaders: a second or two; the gateway retries too).
        deadline = time.monotonic() + SAFETY_NET_S
        while mosquitto_pub(n1, BACKEND_USER, BACKEND_PASSWORD, cmd, "play-1").returncode != 0:
            assert time.monotonic() < deadline, f"node 1 never took the command\n{c.logs()}"
            time.sleep(0.2)
        # It comes back on node 3 and gets the command its session kept.
        back = subprocess.run(
            [*client_args(MOSQUITTO_SUB, n3, a, a_secret), *session, "-C", "1", "-W", "60"],
            capture_output=True,
            timeout=90,
        )
        assert back.stdout.decode().strip() == "play-1", back.stderr.decode()

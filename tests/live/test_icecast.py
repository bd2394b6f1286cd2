"""Debian's Icecast 2 started by the test, with the ``icecast.xml`` Loa writes: every listener and
source is checked by Loa over Icecast URL authentication. A device with its token hears the tone the
source sent; without a token, with a forged one or another mount's, it is refused; an encoder with
wrong source credentials is refused."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from loa.app import create_app
from loa.live import service as live
from loa.live.api import runtime_for
from loa.live.icecast import ICECAST_BINARY, IcecastConfig, config_xml
from loa.settings import Settings
from tests.conftest import Backend
from tests.live.audio import decode, dominant_hz, tone
from tests.live.test_embedded_relay import MOUNT, wait_for
from tests.live.test_sessions_db import stream_items
from tests.schedule.world import BA_TO, KINH_VILLAGE, load_world, seed_world
from tests.support.browser import serve

ICECAST_PORT = 18010


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def source_status(port: int, mount: str, credentials: tuple[str, str]) -> int:
    """The HTTP status Icecast answers a source PUT with these credentials (request headers only)."""
    token = base64.b64encode(":".join(credentials).encode()).decode()
    request = (
        f"PUT /{mount} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {token}\r\n"
        "Content-Type: audio/ogg\r\nIce-Public: 0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(1024)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def start_icecast(auth_url: str, port: int = ICECAST_PORT) -> tuple[subprocess.Popen[bytes], Path]:
    if not Path(ICECAST_BINARY).exists():
        raise RuntimeError("Icecast tests need Debian's icecast2 (make icecast).")
    workdir = Path(tempfile.mkdtemp(prefix="loa-icecast-"))
    os.chmod(workdir, 0o777)
    config = IcecastConfig(
        port=port,
        auth_url=auth_url,
        admin_password="quantri-thu",
        bind_address="127.0.0.1",
        log_dir=str(workdir),
        run_as=("icecast2", "icecast") if os.geteuid() == 0 else None,
    )
    (workdir / "icecast.xml").write_text(config_xml(config))

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl", timeout=1):
                return True
        except OSError:
            return False

    process = subprocess.Popen(
        [ICECAST_BINARY, "-c", str(workdir / "icecast.xml")], stdout=subprocess.DEVNULL
    )
    try:
        wait_for(up, "Icecast to listen")
    except AssertionError:
        process.terminate()
        raise
    return process, workdir


def mount_listed(port: int, mount: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl", timeout=2) as answer:
        text = answer.read().decode("utf-8", "replace")
    source = json.loads(text).get("icestats", {}).get("source")
    sources = source if isinstance(source, list) else [source] if source else []
    return any(str(s.get("listenurl", "")).endswith(f"/{mount}") for s in sources)


def test_icecast_with_loa_url_auth(engine: Engine, settings: Settings) -> None:
    icecast_url = f"http://127.0.0.1:{ICECAST_PORT}"
    app = create_app(
        settings.model_copy(update={"stream_server": "icecast", "icecast_url": icecast_url}), engine=engine
    )
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    source = tone(6.0, 1000.0)
    with serve(app) as base:
        process, _workdir = start_icecast(f"{base}/api/v1/live/icecast-auth")
        try:
            with factory() as s:
                world = load_world(s)
                row = live.start_live(
                    s, principal=world.operator, codes=[KINH_VILLAGE], title="", stream_base_url=icecast_url
                )
                s.commit()
                assert row.stream_url == f"{icecast_url}/{MOUNT}"
            with factory() as s:
                [item] = stream_items(s, "loa-bt-01")
            url = item["audio"]["url"]
            # An encoder straight to Icecast with a wrong password. Headers only: Icecast answers before it
            # reads a body, and a body it never read turned its close into a reset that could reach the
            # client before the answer did (a flaky "connection reset by peer" in CI).
            assert source_status(ICECAST_PORT, MOUNT, ("source", "sai")) in (401, 403)

            def paced() -> Iterator[bytes]:
                for at in range(0, len(source), 2048):
                    yield source[at : at + 2048]
                    time.sleep(6.0 * 2048 / len(source))  # real time, as an encoder sends

            def send() -> int:
                with httpx.Client(timeout=60) as client:
                    return client.put(
                        f"{base}/live/stream/{MOUNT}",
                        content=paced(),
                        auth=("source", runtime.source_password(BA_TO)),
                        headers={"Content-Type": "audio/ogg"},
                    ).status_code

            with ThreadPoolExecutor(2) as pool:
                sent = pool.submit(send)
                wait_for(lambda: mount_listed(ICECAST_PORT, MOUNT), "the mount on Icecast")
                with httpx.Client(timeout=10) as client:
                    assert client.get(f"{icecast_url}/{MOUNT}").status_code in (401, 403)  # no token
                    assert client.get(url[:-4] + "AAAA").status_code in (401, 403)  # forged
                with httpx.Client(timeout=30) as client, client.stream("GET", url) as answer:
                    assert answer.status_code == 200
                    heard = b"".join(answer.iter_bytes())
                assert sent.result() == 200
            samples = decode(heard)
            assert len(samples) > 48000  # more than a second heard through Icecast
            assert abs(dominant_hz(samples) - 1000.0) < 5
        finally:
            process.terminate()
            process.wait(10)

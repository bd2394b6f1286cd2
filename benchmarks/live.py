"""Live streams: listeners one Icecast (Debian ``icecast2``, URL auth by Loa) holds on this machine with
its CPU per 1,000 listeners, the same for the relay built into Loa at its stated limit, and the
source → listener latency through each (the moment a marked Ogg page leaves the source until a
listener has it; the device's jitter buffer and decoding come on top).

Every listener is a simulated agent reading the stream over its own TCP connection with its own token
(Icecast asks Loa's ``/api/v1/live/icecast-auth`` for each). The source is a 64 kb/s Ogg/Opus tone sent
in real time. CPU is the stream server process's user+system time over a 10 s window with everyone
connected (Icecast: its own process; the built-in relay: the uvicorn process serving Loa's app), so
the figure excludes the simulated agents, which run in this process.

Environment: ``LOA_BENCH_STREAM_LISTENERS`` (default 1,000: Icecast), ``LOA_BENCH_ICECAST_PORT``
(18030), ``LOA_BENCH_LOA_PORT`` (18031, the app Icecast asks).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

from benchmarks.common import Result
from loa.live.icecast import ICECAST_BINARY, IcecastConfig, config_xml
from loa.live.runtime import source_password
from loa.protocol import streams

LISTENERS = int(os.environ.get("LOA_BENCH_STREAM_LISTENERS", "1000"))
ICECAST_PORT = int(os.environ.get("LOA_BENCH_ICECAST_PORT", "18030"))
LOA_PORT = int(os.environ.get("LOA_BENCH_LOA_PORT", "18031"))
SECRET = b"benchmark signing key bytes, 32b"
MOUNT = "live-99999"
WINDOW_S = 10.0
LATENCY_TARGET_S = 2.0


def ogg_pages(seconds: float) -> list[bytes]:
    """A 64 kb/s Ogg/Opus tone split into its pages (the first two are the headers)."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg", options={"page_duration": "20000"}) as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = 64000
        t = np.arange(int(seconds * 48000)) / 48000
        samples = (0.25 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 960], format="flt", layout="mono"
            )
            frame.sample_rate = 48000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = out.getvalue()
    starts = [i for i in range(len(data) - 3) if data.startswith(b"OggS", i)]
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loa_app_script(data_dir: str) -> str:
    """A process serving Loa's app for Icecast's URL auth (and, embedded, the relay itself)."""
    return textwrap.dedent(
        f"""
        import pathlib, sys, uvicorn
        pathlib.Path({data_dir!r}).mkdir(parents=True, exist_ok=True)
        from loa.settings import Settings
        from loa.app import create_app
        from loa.db.migrate import upgrade
        from loa.db import make_engine
        settings = Settings(demo=True, data_dir={data_dir!r}, secret_key="bench-secret-key-0123456789abcdef",
                            stream_max_listeners=int(sys.argv[1]))
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        app = create_app(settings, engine=engine)
        app.state.live_secret = lambda: {SECRET!r}
        uvicorn.run(app, host="127.0.0.1", port={LOA_PORT}, log_level="warning", access_log=False)
        """
    )


def _wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as err:
            if getattr(err, "code", None) in (401, 403, 404, 405):
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _granule(page: bytes) -> int:
    return int.from_bytes(page[6:14], "little", signed=True)


async def _source(
    host: str,
    port: int,
    path: str,
    pages: list[bytes],
    marks: dict[int, float],
    stop: asyncio.Event,
    *,
    chunked: bool,
) -> None:
    """Send the pages in real time (by their granule positions), looping; note when each marked page
    leaves. Icecast reads a PUT body until the connection closes; Loa's app needs it chunked."""
    reader, writer = await asyncio.open_connection(host, port)
    auth = base64.b64encode(f"source:{source_password(SECRET, '99999')}".encode()).decode()
    framing = "Transfer-Encoding: chunked\r\n" if chunked else ""
    writer.write(
        (
            f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: audio/ogg\r\n{framing}Expect: 100-continue\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    if not chunked:
        await asyncio.wait_for(reader.readline(), 10)
        while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b""):
            pass

    def send(data: bytes) -> None:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)

    send(b"".join(pages[:2]))
    body = pages[2:]
    loop_s = (_granule(body[-1]) - _granule(body[0])) / 48000 + 0.02
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        page = body[i % len(body)]
        due = start + (i // len(body)) * loop_s + (_granule(page) - _granule(body[0])) / 48000
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if i in marks:
            marks[i] = time.monotonic()
        send(page)
        await writer.drain()
        i += 1
    writer.close()


async def _listener(
    host: str,
    port: int,
    path: str,
    got: list[int],
    arrivals: dict[int, float] | None,
    pages: list[bytes],
    stop: asyncio.Event,
) -> None:
    for _attempt in range(60):  # Icecast's listen backlog is 5: retry with jitter like an agent
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 10)
            if b" 200 " not in status:
                writer.close()
                await asyncio.sleep(random.uniform(0.1, 1.0))
                continue
            break
        except (OSError, TimeoutError):
            await asyncio.sleep(random.uniform(0.1, 1.0))
    else:
        return
    buffer = b""
    received = 0
    try:
        while not stop.is_set():
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                break
            received += len(chunk)
            if arrivals is not None:
                buffer = (buffer + chunk)[-200_000:]
                for index in list(arrivals):
                    if arrivals[index] == 0.0 and pages[index + 2] in buffer:
                        arrivals[index] = time.monotonic()
    except (OSError, TimeoutError):
        pass
    finally:
        got.append(received)
        writer.close()


async def _measure(
    host: str, port: int, prefix: str, listeners: int, server_pid: int, *, chunked: bool
) -> tuple[int, float, float]:
    """(listeners that received audio, CPU fraction of one core of the server, median latency s)."""
    pages = ogg_pages(30.0)
    stop = asyncio.Event()
    marks = {i: 0.0 for i in range(250, 250 + 40 * 10, 10)}  # pages sent once everyone listens
    source = asyncio.create_task(_source(host, port, f"{prefix}{MOUNT}", pages, marks, stop, chunked=chunked))
    await asyncio.sleep(1.0)
    key = streams.token_key(SECRET)
    expires = datetime.now(UTC) + timedelta(hours=1)
    got: list[int] = []
    arrivals = {i: 0.0 for i in marks}
    tasks = []
    for n in range(listeners):
        token = streams.make_token(key, device_id=f"loa-{n:012x}", mount=MOUNT, expires_at=expires)
        tasks.append(
            asyncio.create_task(
                _listener(
                    host, port, f"{prefix}{MOUNT}?t={token}", got, arrivals if n == 0 else None, pages, stop
                )
            )
        )
        if n % 50 == 49:
            await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)
    before = cpu_seconds(server_pid)
    started = time.monotonic()
    await asyncio.sleep(WINDOW_S)
    cpu = (cpu_seconds(server_pid) - before) / (time.monotonic() - started)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    source.cancel()
    latencies = [arrivals[i] - marks[i] for i in marks if marks[i] and arrivals[i]]
    heard = sum(1 for r in got if r > 8_000)  # at least a second of the 64 kb/s stream
    return heard, cpu, statistics.median(latencies) if latencies else float("nan")


def _port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is in use (a previous run left a server?)")


def _serve_loa(data_dir: str, max_listeners: int) -> subprocess.Popen[bytes]:
    _port_free(LOA_PORT)
    process = subprocess.Popen([sys.executable, "-c", _loa_app_script(data_dir), str(max_listeners)])
    _wait_http(f"http://127.0.0.1:{LOA_PORT}/api/v1/live/icecast-auth")
    return process


def _icecast(workdir: Path) -> subprocess.Popen[bytes]:
    config = IcecastConfig(
        port=ICECAST_PORT,
        auth_url=f"http://127.0.0.1:{LOA_PORT}/api/v1/live/icecast-auth",
        admin_password="bench",
        bind_address="127.0.0.1",
        log_dir=str(workdir),
        run_as=("icecast2", "icecast") if os.geteuid() == 0 else None,
    )
    os.chmod(workdir, 0o777)
    (workdir / "icecast.xml").write_text(config_xml(config))
    process = subprocess.Popen(
        [ICECAST_BINARY, "-c", str(workdir / "icecast.xml")], stdout=subprocess.DEVNULL
    )
    _wait_http(f"http://127.0.0.1:{ICECAST_PORT}/status-json.xsl")
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def _icecast_results(workdir: Path) -> Iterator[Result]:
    loa = _serve_loa(str(workdir / "loa"), 200)
    # Icecast lets the source in only while a session is on air at its mount (Loa's stream_auth).
    _start_bench_session(workdir / "loa")
    icecast = _icecast(workdir)
    try:
        heard, cpu, latency = asyncio.run(
            _measure("127.0.0.1", ICECAST_PORT, "/", LISTENERS, icecast.pid, chunked=False)
        )
    finally:
        _stop(icecast)
        _stop(loa)
    yield Result("live.icecast_listeners_heard", heard, "listeners", target=LISTENERS, better="higher")
    yield Result("live.icecast_cpu_per_1000_listeners", cpu / max(heard, 1) * 1000 * 100, "% of a core")
    yield Result("live.icecast_source_to_listener_latency", latency, "s", target=LATENCY_TARGET_S)


def _embedded_results(workdir: Path) -> Iterator[Result]:
    limit = 200
    loa = _serve_loa(str(workdir / "loa-embedded"), limit)
    try:
        # A live session on air at the relay's mount is needed for the source: made in the app's database.
        _start_bench_session(workdir / "loa-embedded")
        heard, cpu, latency = asyncio.run(
            _measure("127.0.0.1", LOA_PORT, "/live/stream/", limit, loa.pid, chunked=True)
        )
    finally:
        _stop(loa)
    yield Result("live.embedded_listeners_heard", heard, "listeners", target=limit, better="higher")
    yield Result("live.embedded_cpu_per_1000_listeners", cpu / max(heard, 1) * 1000 * 100, "% of a core")
    yield Result("live.embedded_source_to_listener_latency", latency, "s", target=LATENCY_TARGET_S)


def _start_bench_session(data_dir: Path) -> None:
    from sqlalchemy.orm import Session

    from loa.db import make_engine
    from loa.live.models import StreamKind, StreamSession, StreamStatus
    from loa.units.models import AdminUnit, UnitKind

    engine = make_engine(f"sqlite:///{(data_dir / 'loa.sqlite3').resolve()}")
    now = datetime.now(UTC)
    with Session(engine) as s, s.begin():
        unit = AdminUnit(
            code="99999", kind=UnitKind.COMMUNE, name="Xã Thử", name_folded="xa thu", path="/99999/"
        )
        s.add(unit)
        s.flush()
        s.add(
            StreamSession(
                kind=StreamKind.LIVE.value,
                status=StreamStatus.ON_AIR.value,
                title="Đo hiệu năng",
                commune_id=unit.id,
                mount=MOUNT,
                stream_url=f"http://127.0.0.1:{LOA_PORT}/live/stream/{MOUNT}",
                targets=[],
                start_at=now,
                end_at=now + timedelta(hours=1),
                started_at=now,
                end_reason="",
                status_message="",
                max_listeners=0,
            )
        )
    engine.dispose()


def run() -> Iterator[Result]:
    if not Path(ICECAST_BINARY).exists():
        sys.stderr.write("live: Icecast not installed (make icecast); Icecast figures skipped\n")
    with tempfile.TemporaryDirectory(prefix="loa-bench-live-") as tmp:
        workdir = Path(tmp)
        if Path(ICECAST_BINARY).exists():
            yield from _icecast_results(workdir)
        yield from _embedded_results(workdir)

"""Loa's hand-written parts against the maintained libraries that could replace them, in one run.

- **MQTT client** (``loa.protocol.mqtt_lite``, the gateway's and the simulator's connection) against
  gmqtt and aiomqtt (paho), each in its own process on a private Mosquitto: CPU microseconds per
  QoS 1 message, publisher and subscriber in the same process (20,000 messages, the gateway's intake
  of a burst of answers); and CPU seconds and memory to hold many connections at once (the simulator's
  fleet in one process). The broker alone is the baseline: ``mosquitto_pub``/``mosquitto_sub`` moving
  the same messages.
- **XLSX writer** (``loa.reports.xlsx_stream``) against XlsxWriter in ``constant_memory`` mode, on a
  detail sheet shaped like a province-year report's (text, whole numbers, dates, decimals, links).

Environment: ``LOA_BENCH_LIBS_MESSAGES`` (20,000), ``LOA_BENCH_LIBS_CONNECTIONS`` (2,000),
``LOA_BENCH_LIBS_ROWS`` (100,000).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from benchmarks.common import Result

MESSAGES = int(os.environ.get("LOA_BENCH_LIBS_MESSAGES", "20000"))
CONNECTIONS = int(os.environ.get("LOA_BENCH_LIBS_CONNECTIONS", "2000"))
ROWS = int(os.environ.get("LOA_BENCH_LIBS_ROWS", "100000"))
ROUNDS = 3
CLIENTS = ("lite", "gmqtt", "aiomqtt")


# --- MQTT: the child process ----------------------------------------------------------------------
# ``python -m benchmarks.libs <client> <what> <port> <n>``: prints ``READY`` once connected, then one
# JSON line (cpu_s, rss_mb) when done; CPU is counted from READY on.

PAYLOAD = b'{"type":"cmd_result","command_id":"0123456789abcdef","status":"done"}'


_MARKS: list[tuple[float, float]] = []  # (CPU seconds, resident MB) when the child said READY


def _resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _ready() -> None:
    _MARKS.append((time.process_time(), _resident_mb()))
    sys.stdout.write("READY\n")
    sys.stdout.flush()


async def _lite_receive(port: int, n: int) -> None:
    import asyncio

    from loa.protocol.mqtt_lite import LiteClient

    done = asyncio.Event()
    got = 0

    def on_message(_topic: str, _payload: bytes) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    sub = LiteClient("bench-sub", on_message=on_message)
    await sub.connect("127.0.0.1", port, username=None, password=None, keepalive_s=60, clean_session=True)
    await sub.subscribe([("bench/#", 1)])
    _ready()
    await asyncio.wait_for(done.wait(), 300)
    await sub.disconnect()


async def _gmqtt_receive(port: int, n: int) -> None:
    import asyncio

    import gmqtt

    done, subscribed = asyncio.Event(), asyncio.Event()
    got = 0

    def on_message(_client: object, _topic: str, _payload: bytes, _qos: int, _props: object) -> int:
        nonlocal got
        got += 1
        if got >= n:
            done.set()
        return 0

    sub = gmqtt.Client("bench-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    await sub.connect("127.0.0.1", port, version=gmqtt.constants.MQTTv311)
    sub.subscribe("bench/#", qos=1)
    await asyncio.wait_for(subscribed.wait(), 15)
    _ready()
    await asyncio.wait_for(done.wait(), 300)
    await sub.disconnect()


async def _aiomqtt_receive(port: int, n: int) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-sub") as sub:
        await sub.subscribe("bench/#", qos=1)
        _ready()
        got = 0
        async for _message in sub.messages:
            got += 1
            if got >= n:
                return


async def _lite_publish(port: int, n: int) -> None:
    import asyncio

    from loa.protocol.mqtt_lite import LiteClient

    pub = LiteClient("bench-pub")
    await pub.connect("127.0.0.1", port, username=None, password=None, keepalive_s=60, clean_session=True)
    _ready()
    for start in range(0, n, 1000):  # up to 1,000 in flight, each PUBACK awaited
        await asyncio.gather(
            *(pub.publish(f"bench/{i % 100}", PAYLOAD, qos=1) for i in range(start, min(n, start + 1000)))
        )
    await pub.disconnect()


async def _lite_nowait_publish(port: int, n: int) -> None:
    """The simulator's way: written at once, the PUBACK not awaited (the application resends)."""
    from loa.protocol.mqtt_lite import LiteClient

    pub = LiteClient("bench-pub")
    await pub.connect("127.0.0.1", port, username=None, password=None, keepalive_s=60, clean_session=True)
    _ready()
    for i in range(n):
        pub.publish_nowait(f"bench/{i % 100}", PAYLOAD, qos=1)
        if i % 1000 == 999:
            await pub.publish("bench-sync", b"", qos=1)  # flow control: the broker has the window
    await pub.disconnect()


async def _gmqtt_publish(port: int, n: int) -> None:
    import asyncio

    import gmqtt

    pub = gmqtt.Client("bench-pub")
    await pub.connect("127.0.0.1", port, version=gmqtt.constants.MQTTv311)
    _ready()
    for start in range(0, n, 1000):
        for i in range(start, min(n, start + 1000)):
            pub.publish(f"bench/{i % 100}", PAYLOAD, qos=1)
        # gmqtt offers no awaitable publish: poll its store of unacknowledged messages.
        while not pub._persistent_storage.is_empty:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    await pub.disconnect()


async def _aiomqtt_publish(port: int, n: int) -> None:
    import asyncio

    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-pub", max_inflight_messages=1000) as pub:
        _ready()
        for start in range(0, n, 1000):
            await asyncio.gather(
                *(pub.publish(f"bench/{i % 100}", PAYLOAD, qos=1) for i in range(start, min(n, start + 1000)))
            )


async def _lite_connections(port: int, n: int) -> None:
    from loa.protocol.mqtt_lite import LiteClient

    _ready()
    clients = []
    for i in range(n):
        c = LiteClient(f"bench-{i}")
        await c.connect("127.0.0.1", port, username=None, password=None, keepalive_s=60, clean_session=True)
        await c.subscribe([(f"bench/d/{i}/cmd", 1), (f"bench/d/{i}/ack", 1)])
        clients.append(c)
    for c in clients:
        await c.disconnect()


async def _gmqtt_connections(port: int, n: int) -> None:
    import asyncio

    import gmqtt

    _ready()
    clients = []
    for i in range(n):
        c = gmqtt.Client(f"bench-{i}")
        subscribed = asyncio.Event()
        c.on_subscribe = lambda *_a, ev=subscribed: ev.set()
        await c.connect("127.0.0.1", port, version=gmqtt.constants.MQTTv311)
        c.subscribe([gmqtt.Subscription(f"bench/d/{i}/cmd", 1), gmqtt.Subscription(f"bench/d/{i}/ack", 1)])
        await subscribed.wait()
        clients.append(c)
    for c in clients:
        await c.disconnect()


async def _aiomqtt_connections(port: int, n: int) -> None:
    import aiomqtt

    _ready()
    async with contextlib.AsyncExitStack() as stack:
        for i in range(n):
            c = await stack.enter_async_context(aiomqtt.Client("127.0.0.1", port, identifier=f"bench-{i}"))
            await c.subscribe([(f"bench/d/{i}/cmd", 1), (f"bench/d/{i}/ack", 1)])


CHILD_JOBS = {
    ("lite", "receive"): _lite_receive,
    ("gmqtt", "receive"): _gmqtt_receive,
    ("aiomqtt", "receive"): _aiomqtt_receive,
    ("lite", "publish"): _lite_publish,
    ("lite_nowait", "publish"): _lite_nowait_publish,
    ("gmqtt", "publish"): _gmqtt_publish,
    ("aiomqtt", "publish"): _aiomqtt_publish,
    ("lite", "connections"): _lite_connections,
    ("gmqtt", "connections"): _gmqtt_connections,
    ("aiomqtt", "connections"): _aiomqtt_connections,
}


def child(argv: list[str]) -> None:
    import asyncio
    import logging

    logging.disable(logging.CRITICAL)  # gmqtt logs every connection at INFO
    client, what, port, n = argv[0], argv[1], int(argv[2]), int(argv[3])
    job = CHILD_JOBS[(client, what)]
    asyncio.run(job(port, n))
    cpu_at_ready, resident_at_ready = _MARKS[0]
    cpu = time.process_time() - cpu_at_ready
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    sys.stdout.write(json.dumps({"cpu_s": cpu, "rss_mb": peak_mb - resident_at_ready}) + "\n")


def _lines(tmp: Path, n: int) -> Path:
    path = tmp / f"lines-{n}"
    if not path.exists():
        path.write_bytes((PAYLOAD + b"\n") * n)
    return path


def _run_child(client: str, what: str, port: int, n: int, tmp: Path) -> dict[str, float]:
    """The child's figures; ``receive`` gets its messages from mosquitto_pub, ``publish`` is heard
    by mosquitto_sub (so the broker's peer is the same for every library)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.libs", client, what, str(port), str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    listener = None
    if what == "publish":
        listener = subprocess.Popen(
            ["mosquitto_sub", "-p", str(port), "-q", "1", "-t", "bench/#", "-C", str(n), "-i", "bench-sub"],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.3)  # subscribed before the child starts
    if proc.stdout.readline().strip() != "READY":
        raise RuntimeError(f"{client} {what} did not start")
    if what == "receive":
        with _lines(tmp, n).open("rb") as lines:
            subprocess.run(
                ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", "bench/0", "-l", "-i", "bench-pub"],
                stdin=lines,
                check=True,
            )
    out, _ = proc.communicate(timeout=600)
    if listener is not None:
        listener.wait(120)
    parsed: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return parsed


def _mosquitto_clients_cpu_s(port: int, n: int, tmp: Path) -> float:
    """Mosquitto's own C clients moving the same messages: CPU seconds of the receiving one (the
    baseline of ``receive``; its sender, mosquitto_pub, is the same in every measurement)."""
    sub = subprocess.Popen(
        [
            "/usr/bin/time",
            "-f",
            "%U %S",
            "mosquitto_sub",
            "-p",
            str(port),
            "-q",
            "1",
            "-t",
            "bench/#",
            "-C",
            str(n),
            "-i",
            "bench-sub",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)
    with _lines(tmp, n).open("rb") as lines:
        subprocess.run(
            ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", "bench/0", "-l", "-i", "bench-pub"],
            stdin=lines,
            check=True,
        )
    _, err = sub.communicate(timeout=120)
    user, system = err.strip().splitlines()[-1].split()
    return float(user) + float(system)


def mqtt_results() -> Iterator[Result]:
    from benchmarks.fleet import private_mosquitto  # not in the child processes: they stay lean

    with tempfile.TemporaryDirectory() as tmp_name, private_mosquitto(Path(tmp_name)) as port:
        tmp = Path(tmp_name)
        base = statistics.median(_mosquitto_clients_cpu_s(port, MESSAGES, tmp) for _ in range(ROUNDS))
        yield Result("libs.mqtt.mosquitto_sub_cpu_per_qos1_message_received", base / MESSAGES * 1e6, "µs")
        for what in ("receive", "publish"):
            clients = CLIENTS if what == "receive" else ("lite", "lite_nowait", *CLIENTS[1:])
            figures = {
                c: statistics.median(_run_child(c, what, port, MESSAGES, tmp)["cpu_s"] for _ in range(ROUNDS))
                for c in clients
            }
            for client, cpu_s in figures.items():
                yield Result(f"libs.mqtt.{client}_{what}_cpu_per_qos1_message", cpu_s / MESSAGES * 1e6, "µs")
                if what == "receive":
                    yield Result(f"libs.mqtt.{client}_receive_vs_mosquitto_sub", cpu_s / base, "ratio")
                if client != "lite":
                    yield Result(f"libs.mqtt.{client}_{what}_vs_lite", cpu_s / figures["lite"], "ratio")
        for client in CLIENTS:
            runs = [_run_child(client, "connections", port, CONNECTIONS, tmp) for _ in range(ROUNDS)]
            yield Result(
                f"libs.mqtt.{client}_cpu_for_{CONNECTIONS}_connections",
                statistics.median(r["cpu_s"] for r in runs),
                "s",
            )
            yield Result(
                f"libs.mqtt.{client}_memory_for_{CONNECTIONS}_connections",
                statistics.median(r["rss_mb"] for r in runs),
                "MB",
            )


# --- XLSX -----------------------------------------------------------------------------------------

COMMUNES = [f"Xã số {i} (tên có dấu: Ba Tơ, Sơn Kỳ)" for i in range(100)]
TITLES = [f"Tin về cải cách hành chính số {i}" for i in range(3000)]


def _detail_rows() -> Iterator[tuple[object, ...]]:
    start = date(2024, 1, 1)
    for i in range(ROWS):
        yield (
            "Hệ thống",
            "Tin",
            start + timedelta(days=i % 366),
            TITLES[i % len(TITLES)],
            COMMUNES[i % len(COMMUNES)],
            "Cải cách hành chính",
            i % 7 + 1,
            i % 31,
            (i * 13) % 101,
            round((i % 500) / 7, 2),
            "Có biên nhận đã phát",
        )


def _write_stream() -> bytes:
    from loa.reports import xlsx_stream as xs

    book = xs.Book()
    sheet = book.sheet("Truyền thanh")
    sheet.freeze_row = 2
    sheet.row(
        1, ["Nguồn", "Loại", "Ngày", "Tiêu đề", "Địa bàn", "Chủ đề", "Số lượng", "a", "b", "Giờ", "Căn cứ"]
    )
    for n, row in enumerate(_detail_rows(), start=2):
        cells = list(row)
        cells[2] = (xs.date_serial(row[2]), xs.DATE)
        sheet.row(n, cells)
    return book.save()


def _write_xlsxwriter() -> bytes:
    import xlsxwriter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": tmp})
        sheet = book.add_worksheet("Truyền thanh")
        date_format = book.add_format({"num_format": "dd/mm/yyyy"})
        sheet.freeze_panes(1, 0)
        sheet.write_row(
            0,
            0,
            ["Nguồn", "Loại", "Ngày", "Tiêu đề", "Địa bàn", "Chủ đề", "Số lượng", "a", "b", "Giờ", "Căn cứ"],
        )
        for n, row in enumerate(_detail_rows(), start=1):
            sheet.write_string(n, 0, row[0])
            sheet.write_string(n, 1, row[1])
            sheet.write_datetime(n, 2, row[2], date_format)
            sheet.write_string(n, 3, row[3])
            sheet.write_string(n, 4, row[4])
            sheet.write_string(n, 5, row[5])
            sheet.write_number(n, 6, row[6])
            sheet.write_number(n, 7, row[7])
            sheet.write_number(n, 8, row[8])
            sheet.write_number(n, 9, row[9])
            sheet.write_string(n, 10, row[10])
        book.close()
        return path.read_bytes()


def _write_xlsxwriter_rows() -> bytes:
    """XlsxWriter's generic ``write_row`` (type dispatch per cell), as a writer would call it."""
    import xlsxwriter

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "tmpdir": tmp, "in_memory": False})
        sheet = book.add_worksheet("Truyền thanh")
        date_format = book.add_format({"num_format": "dd/mm/yyyy"})
        sheet.set_column(2, 2, 12, date_format)
        for n, row in enumerate(_detail_rows(), start=1):
            sheet.write_row(n, 0, row)
        book.close()
    return buffer.getvalue()


def xlsx_results() -> Iterator[Result]:
    writers = {
        "xlsx_stream": _write_stream,
        "xlsxwriter_constant_memory": _write_xlsxwriter,
        "xlsxwriter_write_row": _write_xlsxwriter_rows,
    }
    seconds: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for name, write in writers.items():
        samples = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            sizes[name] = len(write())
            samples.append(time.perf_counter() - start)
        seconds[name] = statistics.median(samples)
        yield Result(f"libs.xlsx.{name}_{ROWS}_rows", seconds[name], "s")
        yield Result(f"libs.xlsx.{name}_{ROWS}_rows_size", sizes[name] / 1e6, "MB")
    for name in writers:
        if name != "xlsx_stream":
            yield Result(f"libs.xlsx.{name}_vs_xlsx_stream", seconds[name] / seconds["xlsx_stream"], "ratio")


def run() -> Iterator[Result]:
    yield from xlsx_results()
    yield from mqtt_results()


if __name__ == "__main__":
    child(sys.argv[1:])

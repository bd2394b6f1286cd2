"""CAP 1.2 reading and the SMS trigger's check, on the realistic samples of ``tests/alerts/samples``.

* ``alerts.cap_parse_ms``: a storm warning read as hostile input is read — size bound, defusedxml,
  the OASIS schema, fields — median milliseconds;
* ``alerts.cap_billion_laughs_refusal_ms``: the same for the billion-laughs message, refused before any
  entity is expanded;
* ``alerts.cap_50mb_peak_kib``: the peak Python memory while a 50 MB body streams into the size bound
  (target: well under one megabyte over the 512 KB limit — it is refused, not read);
* ``alerts.sms_verify_us``: one SMS code checked on the device (HMAC-SHA256 and the counter rules).
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Result, median_seconds
from loa.alerts.cap.parse import CapRefused, CapTooLarge, parse, read_bounded
from loa.protocol import sms

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "alerts" / "samples"


def _refused(data: bytes) -> None:
    try:
        parse(data)
    except CapRefused:
        return
    raise AssertionError("the hostile sample was accepted")


def _stream_50mb(limit: int) -> int:
    tracemalloc.start()
    # A fresh 64 KB chunk each time, as a socket gives them: 800 of them are 50 MB.
    with contextlib.suppress(CapTooLarge):
        read_bounded((bytes(65536) for _ in range(800)), limit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run() -> Iterator[Result]:
    storm = (SAMPLES / "storm-ba-to.xml").read_bytes()
    laughs = (SAMPLES / "billion-laughs.xml").read_bytes()
    parse(storm)  # the schema is read once
    yield Result("alerts.cap_parse_ms", median_seconds(lambda: parse(storm), repeat=21) * 1000, "ms", 50.0)
    yield Result(
        "alerts.cap_billion_laughs_refusal_ms",
        median_seconds(lambda: _refused(laughs), repeat=21) * 1000,
        "ms",
        50.0,
    )
    yield Result("alerts.cap_50mb_peak_kib", _stream_50mb(512 * 1024) / 1024, "KiB", 2048.0)
    key = sms.device_key(bytes(32), "loa-a00000000001")
    now = int(time.time())
    text = sms.compose(key, "loa-a00000000001", 4, now)

    def check() -> None:
        for _ in range(1000):
            sms.verify(text, key=key, device_id="loa-a00000000001", last_counter=0, now_s=now)

    yield Result("alerts.sms_verify_us", median_seconds(check) * 1000, "us", 1000.0)

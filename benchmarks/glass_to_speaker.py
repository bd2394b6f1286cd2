"""Glass to speaker (issue 14): a tone spoken into the live SOURCE until the tone leaves a real agent's
speaker (its file sink) — the whole chain the issue's 2 s target is about — through Loa's built-in
relay and, when Debian's ``icecast2`` is installed, through Icecast (URL auth by Loa).

The source is the encoder path (not the browser): a station's encoder sending Ogg/Opus (100 ms pages)
at real-time pace by an HTTP ``PUT`` with the source password — into ``/live/stream/<mount>`` of a Loa
app served by uvicorn in its own process, with a live session on air at that mount; or, by Loa's own
``push_source``, into the mount of an Icecast whose source and listener auth ask that app. A page leaves the
encoder once its audio has been spoken, so a tone at ``t`` seconds of the source is "at the glass" at
``started + t``. The listener is a real agent (jitter buffer at its default 500 ms, file sink written at
wall-clock pace) playing the stream item with its device token; each tone's onset in the sink is found
by Goertzel. ``glass_to_speaker.<relay>_tone_latency_p95_s``/``_p50_s`` over ``RUNS`` × 5 tones.

Environment: ``LOA_BENCH_LOA_PORT`` (18031) and ``LOA_BENCH_ICECAST_PORT`` (18030), as ``benchmarks.live``.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from benchmarks import live as lv
from benchmarks.common import Result
from loa.live.icecast import ICECAST_BINARY

RUNS = 3
TONES_AT_S = (3.0, 5.0, 7.0, 9.0, 11.0)  # seconds into the source; the agent joins at about 0
SOURCE_S = 13.0
TARGET_S = 2.0


def _source_pcm() -> np.ndarray:
    from tests.support.streams import RATE, TONE_HZ, tone_pcm

    pcm = tone_pcm(SOURCE_S, tone_at_s=None)
    for at in TONES_AT_S:
        a, b = int(at * RATE), int((at + 0.5) * RATE)
        t = np.arange(b - a) / RATE
        pcm[a:b] += 0.6 * np.sin(2 * math.pi * TONE_HZ * t).astype(np.float32)
    return pcm


def _encoder(url: str, password: str, chunks: list[tuple[float, bytes]], started: list[float]) -> None:
    """PUT the pages at real-time pace; ``started``: when the first byte left."""

    def body() -> Iterator[bytes]:
        started.append(time.time())
        for at_s, page in chunks:
            delay = started[0] + at_s - time.time()
            if delay > 0:
                time.sleep(delay)
            yield page

    with httpx.Client(timeout=60) as client:
        client.put(url, content=body(), auth=("source", password), headers={"Content-Type": "audio/ogg"})


def _icecast_encoder(
    mount: str, password: str, chunks: list[tuple[float, bytes]], started: list[float]
) -> None:
    from loa.live.icecast import push_source

    async def body() -> AsyncIterator[bytes]:
        started.append(time.time())
        for at_s, page in chunks:
            delay = started[0] + at_s - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            yield page

    asyncio.run(push_source(f"http://127.0.0.1:{lv.ICECAST_PORT}", mount, password, "audio/ogg", body()))


def _one(workdir: Path, *, icecast: bool) -> list[float]:
    from tests.agent.test_streams import manifest, new_agent, run, stream_files, tone_sounded_at
    from tests.support.device_table import DEVICE
    from tests.support.streams import StreamSlot, encode

    from loa.agent.player import now_ms
    from loa.live.runtime import source_password
    from loa.protocol import streams

    loa = lv._serve_loa(str(workdir / "loa"), 10)
    server = lv._icecast(workdir) if icecast else None
    try:
        lv._start_bench_session(workdir / "loa")
        chunks = encode(_source_pcm(), "ogg")
        started: list[float] = []
        password = source_password(lv.SECRET, "99999")
        if icecast:
            base = f"http://127.0.0.1:{lv.ICECAST_PORT}/{lv.MOUNT}"
            feed = threading.Thread(target=_icecast_encoder, args=(lv.MOUNT, password, chunks, started))
        else:
            base = f"http://127.0.0.1:{lv.LOA_PORT}/live/stream/{lv.MOUNT}"
            feed = threading.Thread(target=_encoder, args=(base, password, chunks, started))
        token = streams.make_token(
            streams.token_key(lv.SECRET),
            device_id=DEVICE,
            mount=lv.MOUNT,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        agent = new_agent(workdir / "agent")
        t0 = now_ms() + 300
        slot = StreamSlot("live.glass", start=0, duration=int(SOURCE_S * 1000), url=f"{base}?t={token}")
        feed.daemon = True
        feed.start()
        asyncio.run(run(agent, t0, [(0, manifest([slot]))], until=int(SOURCE_S * 1000) + 300))
        feed.join(30)
    finally:
        if server is not None:
            lv._stop(server)
        lv._stop(loa)
    ((row, path),) = stream_files(workdir / "agent")
    onsets = sorted(tone_sounded_at(row, path))
    if len(onsets) != len(TONES_AT_S):  # each tone heard once, in order: matched by rank
        raise RuntimeError(f"{len(onsets)} tones reached the speaker, {len(TONES_AT_S)} were spoken")
    return [onset - (started[0] + at) for onset, at in zip(onsets, TONES_AT_S, strict=True)]


def _results(name: str, *, icecast: bool) -> Iterator[Result]:
    latencies: list[float] = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="loa-bench-glass-") as tmp:
            latencies += _one(Path(tmp), icecast=icecast)
    ordered = sorted(latencies)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    yield Result(f"glass_to_speaker.{name}_tone_latency_p50_s", statistics.median(ordered), "s", TARGET_S)
    yield Result(f"glass_to_speaker.{name}_tone_latency_p95_s", p95, "s", TARGET_S)
    yield Result(f"glass_to_speaker.{name}_tones", len(ordered), "tones", better="higher")


def run() -> Iterable[Result]:
    yield from _results("embedded", icecast=False)
    if Path(ICECAST_BINARY).exists():
        yield from _results("icecast", icecast=True)
    else:
        sys.stderr.write("glass_to_speaker: Icecast not installed (make icecast); Icecast figures skipped\n")

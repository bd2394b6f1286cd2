"""Live streams for the device's stream tests and benches: real encoded audio (Ogg/Opus, MP3) served
over real HTTP at real-time pace by a small threaded server, signed manifests naming stream items,
and a Goertzel detector that finds a tone in what a sink recorded.

Each connection gets the stream from its beginning, paced against the instant it connected, so a
tone at ``tone_at_s`` of the source left the server at ``connected_at + tone_at_s`` (the latency of
a sink is measured against that). ``drop_after_s`` closes the first connection(s) mid-stream (a
source that drops); ``dead`` answers nothing (connection refused is a closed port instead).
"""

from __future__ import annotations

import contextlib
import io
import math
import socket
import threading
import time
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import av
import numpy as np

from loa.protocol import manifest as mf
from loa.protocol.device.items import at_ms
from loa.protocol.priority import PreemptRule
from tests.support.device_table import DEVICE, KEY

RATE = 48_000
TONE_HZ = 1000.0
CHUNK_S = 0.1  # MP3 is sent in pieces this long


def tone_pcm(
    seconds: float, *, tone_at_s: float | None, tone_s: float = 0.5, hz: float = TONE_HZ
) -> np.ndarray:
    """Mono float samples: quiet noise, with a loud sine from ``tone_at_s`` for ``tone_s``."""
    n = int(seconds * RATE)
    rng = np.random.default_rng(7)
    pcm = rng.normal(0, 0.01, n).astype(np.float32)
    if tone_at_s is not None:
        a, b = int(tone_at_s * RATE), min(n, int((tone_at_s + tone_s) * RATE))
        t = np.arange(b - a) / RATE
        pcm[a:b] += 0.6 * np.sin(2 * math.pi * hz * t).astype(np.float32)
    return pcm


def encode(pcm: np.ndarray, fmt: str) -> list[tuple[float, bytes]]:
    """The encoded stream as (send at, seconds from its start; bytes), for ``ogg`` (Opus), ``webm``
    (Opus) or ``mp3`` (CBR 64 kb/s)."""
    buf = io.BytesIO()
    codec = {"ogg": "libopus", "webm": "libopus", "mp3": "libmp3lame"}[fmt]
    # Ogg pages of 100 ms (the muxer's default holds a second of audio per page: a second of delay)
    options = {"page_duration": "100000"} if fmt == "ogg" else {}
    with av.open(buf, "w", format=fmt, options=options) as out:
        stream = cast(Any, out.add_stream(codec, rate=RATE if fmt != "mp3" else 22050))
        stream.bit_rate = 64_000
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=stream.rate)
        step = 960
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[i : i + step].reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = RATE
            frame.pts = i
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    data = buf.getvalue()
    if fmt == "ogg":
        return list(_ogg_pages(data))
    seconds = len(pcm) / RATE
    per_s = len(data) / seconds
    size = max(1, int(per_s * CHUNK_S))
    return [(i / per_s, data[i : i + size]) for i in range(0, len(data), size)]


def _ogg_pages(data: bytes) -> Iterator[tuple[float, bytes]]:
    """Ogg pages with the time of their last sample (the granule position, 48 kHz for Opus): a page
    is sent once its audio has been "spoken"."""
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        granule = int.from_bytes(data[pos + 6 : pos + 14], "little", signed=True)
        segments = data[pos + 26]
        table = data[pos + 27 : pos + 27 + segments]
        end = pos + 27 + segments + sum(table)
        yield (max(0, granule - 312) / RATE if granule > 0 else 0.0), data[pos:end]
        pos = end


@dataclass
class StreamServer:
    """A real HTTP stream server on 127.0.0.1:``port`` serving ``chunks`` at ``path``."""

    chunks: Sequence[tuple[float, bytes]]
    port: int
    content_type: str = "audio/ogg"
    drop_after_s: float | None = None  # the first ``drops`` connections end this far in
    drops: int = 1
    connections: list[tuple[float, str]] = field(default_factory=list)  # (wall time, path with query)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> StreamServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                started = time.time()
                owner.connections.append((started, self.path))
                drop = owner.drop_after_s if len(owner.connections) <= owner.drops else None
                self.send_response(200)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                with contextlib.suppress(OSError):
                    for at_s, chunk in owner.chunks:
                        if drop is not None and at_s >= drop:
                            break
                        delay = started + at_s - time.time()
                        if delay > 0:
                            time.sleep(delay)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def url(self, token: str = "tok") -> str:
        return f"http://127.0.0.1:{self.port}/live/xa-ba-to?token={token}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- manifests naming streams ----------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSlot:
    """A stream item (``url``) or a file item (``sha256``/``size``) of a manifest, times in ms from t0."""

    id: str
    start: int
    duration: int
    priority: int = 700
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    not_after: int | None = None
    rule: PreemptRule = PreemptRule.RESUME


def signed_manifest(slots: Sequence[StreamSlot], t0: int, version: int = 1) -> tuple[bytes, bytes]:
    items = []
    for slot in slots:
        start = at_ms(t0 + slot.start)
        if slot.url is not None:
            audio = mf.AudioSource(
                kind=mf.AudioKind.STREAM, url=slot.url, sha256=slot.sha256, size_bytes=slot.size
            )
        else:
            audio = mf.AudioSource(url=f"/a/{slot.sha256}", sha256=slot.sha256, size_bytes=slot.size)
        items.append(
            mf.ManifestItem(
                id=slot.id,
                title=f"Tiếp sóng {slot.id}" if slot.url else f"Bản tin {slot.id}",
                source_id="stream-test",
                start_at=start,
                start_local=start.isoformat(),
                duration_ms=slot.duration,
                not_after_at=at_ms(t0 + slot.not_after) if slot.not_after is not None else None,
                priority=slot.priority,
                preempt_rule=slot.rule,
                audio=audio,
            )
        )
    manifest = mf.build_manifest(
        device_id=DEVICE,
        manifest_version=version,
        generated_at=at_ms(t0),
        valid_from=at_ms(t0 - 3_600_000),
        valid_until=at_ms(t0 + 3_600_000),
        items=items,
    )
    body = manifest.canonical_bytes()
    return body, mf.sign(body, KEY)


# --- measuring what a sink recorded -----------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return data, rate


def goertzel_power(block: np.ndarray, rate: int, hz: float = TONE_HZ) -> float:
    """Relative power of ``hz`` in ``block`` (Goertzel), normalised by the block's energy."""
    if len(block) == 0:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in block.tolist():
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    energy = float(np.dot(block, block)) * len(block) / 2
    return power / energy if energy > 0 else 0.0


def tone_onsets(pcm: np.ndarray, rate: int, hz: float = TONE_HZ, block_s: float = 0.02) -> list[float]:
    """Seconds into ``pcm`` where the tone starts (each run of tonal blocks once)."""
    n = int(rate * block_s)
    onsets: list[float] = []
    inside = False
    for i in range(0, len(pcm) - n, n):
        block = pcm[i : i + n]
        tonal = float(np.sqrt(np.mean(block**2))) > 0.1 and goertzel_power(block, rate, hz) > 0.5
        if tonal and not inside:
            onsets.append(i / rate)
        inside = tonal
    return onsets


def free_port(low: int, high: int) -> int:
    for port in range(low, high):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")

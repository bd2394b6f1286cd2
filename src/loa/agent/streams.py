"""Playing a stream item (a live broadcast, a relay): its URL decoded, buffered a little, and sent to
the sink at the pace of the wall clock; when it drops, the fallback clip (or silence) and a retry.

Only a ``Sound`` of the device core starts this, and the core only ever plays a URL its verified
manifest names (``loa.protocol.device.items``): nothing here takes a URL from anywhere else.

* decoding: PyAV (FFmpeg) reads the URL in a thread — Ogg/Opus, WebM/Opus, MP3 (anything FFmpeg
  reads over HTTP) — resampled to the sink's raw format (``PCM_RATE``, mono, 16 bit);
* jitter buffer: output starts once ``buffer_ms`` of audio is held, and keeps that much in hand, so
  uneven delivery over 4G does not break the sound; beyond ``max_buffer_ms`` (a server that bursts
  on connect) the oldest audio is dropped, so the delay to the speaker stays near ``buffer_ms``;
* a drop: the connection ends, fails, or brings nothing for ``stall_ms``. The core is told
  (``StreamDown``: one interruption, the time until ``StreamUp`` is not "heard"), the fallback clip
  named by the manifest plays from the cache in a loop (silence without one), and the URL is tried
  again after 0.5 s, doubling to ``retry_max_s`` with jitter, until the item's end;
* the output is written in 100 ms pieces at wall-clock pace, so the sink's timeline is the speaker's.
"""

from __future__ import annotations

import array
import asyncio
import importlib.util
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loa.agent.sinks import PCM_RATE, PcmOut

log = logging.getLogger(__name__)


def _av() -> Any:
    """PyAV, imported when a stream first plays (the agent starts without it; a board that never
    relays need not install it)."""
    import av

    return av


def can_decode() -> bool:
    return importlib.util.find_spec("av") is not None


CHUNK_MS = 100
CHUNK_BYTES = PCM_RATE * CHUNK_MS // 1000 * 2
FALLBACK_MAX_S = 120  # a longer fallback clip is played only this far (bounded memory)


@dataclass(frozen=True)
class StreamSettings:
    buffer_ms: int = 500
    max_buffer_ms: int = 1500
    stall_ms: int = 2500
    connect_timeout_s: float = 5.0
    retry_first_s: float = 0.5
    retry_max_s: float = 10.0


class _Reader:
    """One connection to the URL, decoded in a thread into a shared buffer."""

    def __init__(self, url: str, settings: StreamSettings) -> None:
        self.url = url
        self.settings = settings
        self.buffer = bytearray()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: str | None = None  # set when the connection is over (why)
        self.received = 0  # bytes of decoded audio so far
        self.thread = threading.Thread(target=self._run, name="stream-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            av = _av()
            container = av.open(
                self.url,
                timeout=(self.settings.connect_timeout_s, self.settings.stall_ms / 1000),
                options={"probesize": "32768", "analyzeduration": "500000", "reconnect": "0"},
            )
            try:
                audio = container.streams.audio[0]
                resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
                for packet in container.demux(audio):
                    if self.stop.is_set():
                        return
                    for frame in packet.decode():
                        for out in resampler.resample(frame):
                            self._push(bytes(out.planes[0])[: out.samples * 2])
            finally:
                container.close()
            self.error = "ended"
        except Exception as err:  # any failure of the network or the decoder is a drop
            self.error = (str(err) or type(err).__name__)[:160]
        finally:
            if self.error is None:
                self.error = "stopped"

    def _push(self, pcm: bytes) -> None:
        with self.lock:
            self.buffer += pcm
            self.received += len(pcm)

    def buffered_ms(self) -> int:
        with self.lock:
            return len(self.buffer) * 1000 // (PCM_RATE * 2)

    def take(self, n: int, keep_ms: int, max_ms: int) -> bytes | None:
        """``n`` bytes from the head, or None if fewer are held; trims the buffer to ``keep_ms``
        when it holds more than ``max_ms``."""
        with self.lock:
            if len(self.buffer) * 1000 // (PCM_RATE * 2) > max_ms:
                excess = len(self.buffer) - keep_ms * PCM_RATE * 2 // 1000
                del self.buffer[: excess - excess % 2]
            if len(self.buffer) < n:
                return None
            out = bytes(self.buffer[:n])
            del self.buffer[:n]
            return out

    def close(self) -> None:
        self.stop.set()


def decode_file(path: Path) -> bytes:
    """A cached clip as the sink's raw PCM (the fallback of a stream), at most ``FALLBACK_MAX_S``."""
    limit = FALLBACK_MAX_S * PCM_RATE * 2
    out = bytearray()
    av = _av()
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
        for frame in container.decode(audio=0):
            for piece in resampler.resample(frame):
                out += bytes(piece.planes[0])[: piece.samples * 2]
            if len(out) >= limit:
                break
    return bytes(out[:limit])


def scale(pcm: bytes, volume: int) -> bytes:
    """Apply the device volume (0–100) to 16-bit samples."""
    if volume >= 100:
        return pcm
    samples = array.array("h", pcm)
    for i, v in enumerate(samples):
        samples[i] = v * volume // 100
    return samples.tobytes()


class StreamPlayer:
    """Plays ``url`` into ``out`` for ``duration_ms`` (or until cancelled). ``on_down(detail)`` and
    ``on_up()`` tell the core when the stream stops and starts sounding again."""

    def __init__(
        self,
        url: str,
        out: PcmOut,
        *,
        volume: int,
        settings: StreamSettings,
        on_down: Callable[[str], None],
        on_up: Callable[[], None],
        fallback: bytes = b"",
    ) -> None:
        self.url = url
        self.out = out
        self.volume = volume
        self.settings = settings
        self.on_down = on_down
        self.on_up = on_up
        self.fallback = fallback[: len(fallback) - len(fallback) % 2]
        self._fallback_pos = 0
        self.down = False
        self.connects = 0
        self.first_audio_at: float | None = None  # loop time of the stream's first sample out

    def _filler(self) -> bytes:
        """The next piece of the fallback clip (looped), or silence."""
        if not self.fallback:
            return bytes(CHUNK_BYTES)
        out = bytearray()
        while len(out) < CHUNK_BYTES:
            piece = self.fallback[self._fallback_pos : self._fallback_pos + CHUNK_BYTES - len(out)]
            out += piece
            self._fallback_pos = (self._fallback_pos + len(piece)) % len(self.fallback)
        return bytes(out)

    async def run(self, duration_ms: int) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        start = loop.time()
        end = start + duration_ms / 1000
        reader: _Reader | None = None
        retry_at = start
        attempt = 0
        live = False
        waiting_since = start  # connecting / filling the buffer since
        starved_since: float | None = None
        k = 0
        try:
            while True:
                now = loop.time()
                if now >= end:
                    return
                if reader is None and now >= retry_at:
                    reader = _Reader(self.url, s)
                    self.connects += 1
                    waiting_since = now
                if reader is not None and not live:
                    if reader.buffered_ms() >= s.buffer_ms:
                        live, attempt, starved_since = True, 0, None
                        self.down = False
                        self.on_up()  # its first audio, or back after a drop
                    elif (
                        reader.error is not None
                        or now - waiting_since > s.connect_timeout_s + s.buffer_ms / 1000
                    ):
                        detail = reader.error or "timeout"
                        reader.close()
                        reader, retry_at, attempt = None, now + self._backoff(attempt), attempt + 1
                        self._went_down(detail)
                pcm: bytes | None = None
                if live and reader is not None:
                    pcm = reader.take(CHUNK_BYTES, s.buffer_ms, s.max_buffer_ms)
                    if pcm is None:
                        starved_since = starved_since if starved_since is not None else now
                        if reader.error is not None or now - starved_since > s.stall_ms / 1000:
                            detail = reader.error if reader.error is not None else "stalled"
                            reader.close()
                            reader, live, retry_at = None, False, now + self._backoff(attempt)
                            attempt += 1
                            self._went_down(detail)
                    else:
                        starved_since = None
                        if self.first_audio_at is None:
                            self.first_audio_at = now
                if pcm is None:
                    pcm = self._filler() if self.down else bytes(CHUNK_BYTES)
                self.out.write(scale(pcm, self.volume))
                k += 1
                due = start + k * CHUNK_MS / 1000
                if due < loop.time() - 1.0:  # the loop stalled: catch up, do not rush
                    start, k = loop.time(), 0
                    due = start
                await asyncio.sleep(max(0.0, min(due, end) - loop.time()))
        finally:
            if reader is not None:
                reader.close()

    def _went_down(self, detail: str) -> None:
        if not self.down:
            self.down = True
            self._fallback_pos = 0
            log.warning("stream down (%s); retrying", detail)
            self.on_down(detail)

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        delay: float = min(s.retry_max_s, s.retry_first_s * 2.0 ** min(attempt, 30))
        return delay * random.uniform(0.8, 1.2)

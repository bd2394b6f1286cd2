"""Where sound goes. ``FileSink`` records exactly what was played (tests, diagnostics);
``AplaySink`` plays through ALSA (``ffmpeg`` decodes when present, else ``aplay`` plays WAV);
``NullSink`` only waits (simulator)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class SinkError(Exception):
    pass


@dataclass(frozen=True)
class Segment:
    item_id: str
    audio_sha256: str
    path: Path
    offset_ms: int
    duration_ms: int
    volume: int
    starts_item: bool = False  # the item's first sound (offset only reflects scheduling slack)


class PcmOut(Protocol):
    """Raw sound for the sink: signed 16-bit little-endian mono at ``PCM_RATE`` (a stream, decoded and
    paced by ``loa.agent.streams``: the sink plays what it is given, when it is given)."""

    def write(self, pcm: bytes) -> None: ...

    def close(self) -> None: ...


PCM_RATE = 22_050


class Sink(Protocol):
    async def play(self, segment: Segment) -> None:
        """Play ``duration_ms`` from ``offset_ms`` of the file; return when done. Cancellable."""
        ...

    def open_pcm(self, item_id: str) -> PcmOut:
        """Open a raw output for a stream item (closed by the caller)."""
        ...


class _Discard:
    def write(self, pcm: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class NullSink:
    async def play(self, segment: Segment) -> None:
        await asyncio.sleep(segment.duration_ms / 1000)

    def open_pcm(self, item_id: str) -> PcmOut:
        return _Discard()


class _WavOut:
    """A stream as the file sink keeps it: a WAV file of exactly what was sent to the loudspeaker,
    and a line in ``played.jsonl`` with the wall time of its first sample (so a test finds when each
    sample sounded: ``started_at + index / rate``)."""

    def __init__(self, sink: FileSink, item_id: str) -> None:
        self.sink = sink
        self.item_id = item_id
        self.started = time.time()
        self.path = sink.out_dir / f"{item_id}-{int(self.started * 1000)}.wav"
        self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 (open while the stream plays)
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(PCM_RATE)
        self._frames = 0

    def write(self, pcm: bytes) -> None:
        if self._frames == 0:
            self.started = time.time()  # the first sample's instant
        self._wav.writeframesraw(pcm)
        self._frames += len(pcm) // 2

    def close(self) -> None:
        self._wav.close()
        record = {
            "item_id": self.item_id,
            "stream": True,
            "path": self.path.name,
            "started_at": self.started,
            "played_ms": self._frames * 1000 // PCM_RATE,
            "rate": PCM_RATE,
        }
        self.sink._append_log(json.dumps(record) + "\n")


class FileSink:
    """Writes the exact bytes of each item when it starts from the beginning, plus a JSON-lines log
    of every segment, and takes the segment's real time (so pre-emption behaves as on a device)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = out_dir / "played.jsonl"

    async def play(self, segment: Segment) -> None:
        started = time.time()
        if segment.starts_item:
            target = self.out_dir / f"{segment.item_id}-{int(started * 1000)}.audio"
            await asyncio.to_thread(shutil.copyfile, segment.path, target)
        interrupted = False
        try:
            await asyncio.sleep(max(0.0, segment.duration_ms / 1000 - (time.time() - started)))
        except asyncio.CancelledError:
            interrupted = True
            raise
        finally:
            record = {
                "item_id": segment.item_id,
                "audio_sha256": segment.audio_sha256,
                "offset_ms": segment.offset_ms,
                "planned_ms": segment.duration_ms,
                "played_ms": int((time.time() - started) * 1000),
                "started_at": started,
                "interrupted": interrupted,
                "volume": segment.volume,
            }
            self._append_log(json.dumps(record) + "\n")

    def open_pcm(self, item_id: str) -> PcmOut:
        return _WavOut(self, item_id)

    def _append_log(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line)


class AplaySink:
    """ALSA output through ``aplay``; ``ffmpeg`` (when installed) decodes any format, seeks and applies
    the volume. Without ffmpeg only WAV files play, from their beginning."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self.ffmpeg = shutil.which("ffmpeg")
        self.aplay = shutil.which("aplay")

    def open_pcm(self, item_id: str) -> PcmOut:
        if self.aplay is None:
            raise SinkError("aplay not installed")
        return _AplayOut(self.aplay, self.device)

    async def play(self, segment: Segment) -> None:
        if self.aplay is None:
            raise SinkError("aplay not installed")
        dev = ["-D", self.device] if self.device else []
        procs: list[asyncio.subprocess.Process] = []
        try:
            if self.ffmpeg:
                read_fd, write_fd = os.pipe()
                decoder = await asyncio.create_subprocess_exec(
                    self.ffmpeg, "-nostdin", "-loglevel", "error",
                    "-ss", f"{segment.offset_ms / 1000:.3f}", "-t", f"{segment.duration_ms / 1000:.3f}",
                    "-i", str(segment.path), "-af", f"volume={segment.volume / 100:.2f}",
                    "-f", "s16le", "-ac", "1", "-ar", "22050", "-",
                    stdout=write_fd,
                )  # fmt: skip
                os.close(write_fd)
                procs.append(decoder)
                try:
                    player = await asyncio.create_subprocess_exec(
                        self.aplay, "-q", *dev, "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "22050",
                        stdin=read_fd,
                    )  # fmt: skip
                finally:
                    os.close(read_fd)
            else:
                player = await asyncio.create_subprocess_exec(self.aplay, "-q", *dev, str(segment.path))
            procs.append(player)
            code = await asyncio.wait_for(player.wait(), timeout=segment.duration_ms / 1000 + 10)
            if code != 0:
                raise SinkError(f"aplay exited with {code}")
        finally:
            for proc in procs:
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()


class _AplayOut:
    """Raw PCM into ``aplay``'s standard input (a pipe: writes never block the event loop for long,
    the stream player paces them in real time)."""

    def __init__(self, aplay: str, device: str | None) -> None:
        dev = ["-D", device] if device else []
        self.proc = subprocess.Popen(
            [aplay, "-q", *dev, "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(PCM_RATE)],
            stdin=subprocess.PIPE,
        )

    def write(self, pcm: bytes) -> None:
        stdin = self.proc.stdin
        if stdin is None or self.proc.poll() is not None:
            raise SinkError(f"aplay exited with {self.proc.returncode}")
        try:
            stdin.write(pcm)
            stdin.flush()
        except OSError as err:
            raise SinkError(f"aplay: {err}") from err

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_sink(kind: str, out_dir: Path | None, alsa_device: str | None = None) -> Sink:
    if kind == "file":
        if out_dir is None:
            raise ValueError("the file sink needs sink_dir")
        return FileSink(out_dir)
    if kind == "null":
        return NullSink()
    return AplaySink(alsa_device)

"""Decode any supported upload (WAV, MP3, M4A/AAC, OGG/Opus, AMR, FLAC, ...) to mono float PCM.

PyAV's wheel carries its own FFmpeg (decoders for all of the above, including AMR-NB), so no system
package is needed. Decoding downmixes to mono and resamples in the same pass (libswresample), and it
stops as soon as the audio is longer than ``max_duration_s`` so a huge upload never fills memory.
"""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from loa.errors import InvalidInput
from loa.speech.audio.pcm import Pcm

log = logging.getLogger(__name__)

AudioSource = bytes | Path

NOT_AUDIO_MESSAGE = "Tệp không phải âm thanh hoặc bị hỏng."
VIDEO_MESSAGE = "Tệp là video, không phải âm thanh. Vui lòng tải lên tệp âm thanh (MP3, M4A, WAV, OGG…)."
# Default cap (uploads: ``Settings.max_upload_duration_s``): one bulletin or recorded programme is at
# most an hour. Longer uploads are refused (before decoding when the container declares its
# duration, otherwise as soon as decoding passes it): a processed hour already takes ~0.3 GB of
# float samples, and longer programmes belong to the live/relay path, not to a stored bulletin.
MAX_AUDIO_DURATION_S = 60 * 60
# A file that decodes to less than this share of the duration its header declares is truncated.
TRUNCATED_FRACTION = 0.9


def too_long_message(max_duration_s: float) -> str:
    limit = f"{round(max_duration_s / 60)} phút" if max_duration_s >= 60 else f"{round(max_duration_s)} giây"
    return f"Âm thanh dài quá {limit}; hãy cắt thành nhiều tệp ngắn hơn."


@contextmanager
def _open(source: AudioSource) -> Iterator[Any]:
    target: Any = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(target, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio") from err
    try:
        yield container
    finally:
        container.close()


def _is_image_format(container: Any) -> bool:
    """A still picture opened by FFmpeg's image demuxers (PNG, JPEG, …): not audio, but no video."""
    name = str(getattr(container.format, "name", ""))
    return name == "image2" or name.endswith("_pipe")


def refuse_video(container: Any) -> None:
    """A video (a moving picture stream) is refused even when it carries sound: a loudspeaker would
    broadcast a film's soundtrack. An album cover (a stream marked "attached picture") is allowed."""
    if _is_image_format(container):
        return
    for stream in container.streams.video:
        if not (stream.disposition & av.stream.Disposition.attached_pic):
            raise InvalidInput(VIDEO_MESSAGE, code="video_not_audio")


def _declared_duration_s(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


def _riff_truncated(source: AudioSource) -> bool:
    """A WAV whose RIFF header announces more bytes than the file has (FFmpeg silently clamps the
    data size to the file, so the declared duration cannot reveal it)."""
    if isinstance(source, bytes):
        head, size = source[:12], len(source)
    else:
        try:
            with source.open("rb") as handle:
                head = handle.read(12)
            size = source.stat().st_size
        except OSError:
            return False
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    announced = int.from_bytes(head[4:8], "little")
    # 0 and 0xFFFFFFFF are placeholders written by streaming recorders that never rewind.
    return announced not in (0, 0xFFFFFFFF) and announced + 8 > size + 1


def _downmix(planes: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
    array = np.asarray(planes, dtype=np.float32)
    mono = array[0].copy() if array.shape[0] == 1 else array.mean(axis=0, dtype=np.float32)
    return np.asarray(mono, dtype=np.float32)


def probe_duration_s(source: AudioSource) -> float | None:
    """Duration the container declares for its first audio stream (None if it does not say)."""
    with _open(source) as container:
        refuse_video(container)
        if not container.streams.audio:
            raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
        return _declared_duration_s(container, container.streams.audio[0])


def iter_decode(
    source: AudioSource,
    *,
    sample_rate: int | None = None,
    max_duration_s: float | None = MAX_AUDIO_DURATION_S,
    block_samples: int = 1 << 16,
) -> Iterator[tuple[npt.NDArray[np.float32], float]]:
    """Decode the first audio stream of ``source`` to mono float32 at ``sample_rate`` (default: the
    stream's own rate), in blocks of about ``block_samples``, each with the fraction of the declared
    duration decoded so far (0 when the file declares none). Memory does not grow with the duration.
    Raises ``InvalidInput`` for anything that is not decodable audio (when it is found: a corrupt or
    cut-off file can fail after some blocks), and for a video even when it has a sound track."""
    if isinstance(source, bytes) and not source:
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
    if _riff_truncated(source):
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="truncated_audio")
    with _open(source) as container:
        refuse_video(container)
        if not container.streams.audio:
            raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
        stream = container.streams.audio[0]
        declared = _declared_duration_s(container, stream)
        if max_duration_s is not None and declared is not None and declared > max_duration_s:
            raise InvalidInput(too_long_message(max_duration_s), code="audio_too_long")
        rate = sample_rate or stream.rate or stream.codec_context.sample_rate
        if not rate:
            raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
        limit = None if max_duration_s is None else int(max_duration_s * rate) + rate
        # Keep the channels through resampling and average them ourselves: FFmpeg's stereo→mono
        # matrix adds the channels at −3 dB, which makes a correlated recording 3 dB hotter and can clip.
        resampler = av.AudioResampler(format="fltp", rate=rate)
        parts: list[npt.NDArray[np.float32]] = []
        pending = total = 0
        expected = declared * rate if declared else 0.0
        try:
            # ``None`` at the end flushes the resampler.
            for frame in itertools.chain(container.decode(stream), [None]):
                for out in resampler.resample(frame):
                    block = _downmix(out.to_ndarray())
                    parts.append(block)
                    pending += len(block)
                    total += len(block)
                if limit is not None and total > limit:
                    raise InvalidInput(too_long_message(max_duration_s or 0), code="audio_too_long")
                if pending >= block_samples or (frame is None and pending):
                    yield _clean(np.concatenate(parts)), min(1.0, total / expected) if expected else 0.0
                    parts, pending = [], 0
        except av.FFmpegError as err:
            # Broadcasting half a corrupt file is worse than refusing it: the person can re-export.
            raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio") from err
    if total == 0:
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
    if declared is not None and total / rate < TRUNCATED_FRACTION * declared - 0.5:
        # The header promised more than the file holds: a cut-off copy or transfer. (Ogg and raw AMR
        # carry no total duration: a cut-off copy of those decodes to the part that arrived.)
        log.info("audio truncated: declared %.1f s, decoded %.1f s", declared, total / rate)
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="truncated_audio")


def _clean(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    np.clip(samples, -1.0, 1.0, out=samples)
    return samples


def decode(
    source: AudioSource,
    *,
    sample_rate: int | None = None,
    max_duration_s: float | None = MAX_AUDIO_DURATION_S,
) -> Pcm:
    """Decode the whole of ``source`` into memory (see ``iter_decode``); for short audio (jingles,
    encoded TTS checks). Long uploads go through ``audio.stream`` instead."""
    rate = 0
    parts: list[npt.NDArray[np.float32]] = []
    if sample_rate is None:
        with _open(source) as container:
            streams = container.streams.audio
            rate = (streams[0].rate or streams[0].codec_context.sample_rate) if streams else 0
    for block, _ in iter_decode(source, sample_rate=sample_rate, max_duration_s=max_duration_s):
        parts.append(block)
    samples = np.concatenate(parts).astype(np.float32, copy=False)
    return Pcm(samples, int(sample_rate or rate))

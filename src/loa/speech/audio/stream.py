"""Level a long recording for broadcast as a stream: memory stays bounded whatever its duration.

Holding a whole hour of audio as float samples takes ~0.3 GB per copy, and the one-piece pipeline
makes several copies (a 59-minute upload held 6.6 GB). Here the recording is decoded block by block
and passed over three times, never whole:

1. decode → high/low-pass and phase rotation (IIR filters whose state carries from block to block,
   so the result equals the one-piece filter) → a temporary float32 file on disk, measured on the way
   (the programme's loudness sets the compressor's threshold);
2. compressor → first-guess gain → look-ahead limiter, measured (what they take away);
3. the same with the corrected gain → the encoders (MP3, Opus) and the final measurement.

Steps 2 and 3 need neighbours (the compressor's release, the limiter's look-ahead): each piece is
processed with one second of context before and a tenth after, and only its own samples are kept.
Piece and context lengths are whole multiples of the compressor's window and the limiter's block, so
their grids line up across pieces. The Opus file is checked by decoding it as a stream too.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from scipy.signal import butter, sosfilt

from loa.speech.audio.decode import AudioSource, iter_decode
from loa.speech.audio.encode import PROFILES, AudioFormat, BackgroundEncoder, EncodedAudio
from loa.speech.audio.loudness import SILENCE_LUFS, limit_true_peak
from loa.speech.audio.meter import ProgrammeMeter
from loa.speech.audio.pcm import Pcm, Samples
from loa.speech.audio.pipeline import (
    HIGHPASS_HZ,
    LIMITER_CEILING_DBTP,
    LIMITER_RELEASE_MS,
    LOWPASS_HZ,
    TARGET_LUFS,
    TRUE_PEAK_MAX_DBTP,
    WORK_SAMPLE_RATE,
    AudioMeasurement,
)
from loa.speech.audio.steps import _allpass_section, compress

log = logging.getLogger(__name__)

# 220 samples = 2 compressor windows (110) = 5 limiter blocks (44) at 22.05 kHz.
_GRID = 220
PIECE_SAMPLES = _GRID * 1000  # ~10 s
BEFORE_SAMPLES = _GRID * 100  # ~1 s: the compressor recovers 60 dB a second
AFTER_SAMPLES = _GRID * 10  # ~0.1 s: smoothing and limiter look-ahead
MAX_MAKEUP_DB = 12.0
_OPUS_MARGIN_DB = 0.3
_LOUDNESS_SLACK_LU = 0.5  # re-encode a long file for loudness only when it is this far off

ProgressCallback = Callable[[int], None]


def _filters(sample_rate: int) -> Any:
    """High-pass, low-pass and the phase rotator of ``broadcast_steps`` as one SOS cascade."""
    sections = [
        butter(2, HIGHPASS_HZ, btype="highpass", fs=sample_rate, output="sos"),
        butter(8, LOWPASS_HZ, btype="lowpass", fs=sample_rate, output="sos"),
        np.array([_allpass_section(200.0, 0.7, sample_rate)] * 4),
    ]
    return np.concatenate(sections).astype(np.float32)


class _Spool:
    """Filtered samples on disk (float32), read back piece by piece with context."""

    def __init__(self, directory: Path | None) -> None:
        self.file: BinaryIO = tempfile.TemporaryFile(prefix="loa-spool-", dir=directory)  # noqa: SIM115
        self.length = 0

    def append(self, samples: Samples) -> None:
        self.file.write(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
        self.length += len(samples)

    def read(self, start: int, end: int) -> Samples:
        start, end = max(0, start), min(self.length, end)
        self.file.seek(start * 4)
        return np.frombuffer(self.file.read((end - start) * 4), dtype=np.float32)

    def pieces(self) -> Iterator[tuple[int, int, Samples]]:
        """(index of the piece's first sample within the window, piece length, window)."""
        for start in range(0, self.length, PIECE_SAMPLES):
            end = min(self.length, start + PIECE_SAMPLES)
            window_start = max(0, start - BEFORE_SAMPLES)
            yield start - window_start, end - start, self.read(window_start, end + AFTER_SAMPLES)

    def close(self) -> None:
        self.file.close()


def _decode_and_filter(
    source: AudioSource, spool: _Spool, max_duration_s: float, progress: Callable[[float], None]
) -> AudioMeasurement:
    sos = _filters(WORK_SAMPLE_RATE)
    state = np.zeros((sos.shape[0], 2), dtype=np.float32)
    meter = ProgrammeMeter(WORK_SAMPLE_RATE)
    for block, fraction in iter_decode(source, sample_rate=WORK_SAMPLE_RATE, max_duration_s=max_duration_s):
        filtered, state = sosfilt(sos, block, zi=state)
        filtered = np.asarray(filtered, dtype=np.float32)
        spool.append(filtered)
        meter.add(filtered)
        progress(fraction)
    return meter.result()


def _levelled_pieces(spool: _Spool, programme_lufs: float, gain_db: float) -> Iterator[Samples]:
    """Compressor, gain and limiter on each piece (with its context), the piece's own samples only."""
    steps = [
        compress(programme_lufs=programme_lufs),
        lambda pcm: pcm.with_samples(pcm.samples * np.float32(10 ** (gain_db / 20))),
        limit_true_peak(LIMITER_CEILING_DBTP, LIMITER_RELEASE_MS),
    ]
    for offset, length, window in spool.pieces():
        pcm = Pcm(np.array(window, dtype=np.float32), WORK_SAMPLE_RATE)
        for step in steps:
            pcm = step(pcm)
        yield pcm.samples[offset : offset + length]


def _measure_pass(spool: _Spool, programme_lufs: float, gain_db: float) -> AudioMeasurement:
    meter = ProgrammeMeter(WORK_SAMPLE_RATE)
    for piece in _levelled_pieces(spool, programme_lufs, gain_db):
        meter.add(piece)
    return meter.result()


def _encode_pass(
    spool: _Spool,
    programme_lufs: float,
    gain_db: float,
    formats: Sequence[AudioFormat],
    progress: Callable[[float], None],
    gains: Sequence[float] | None = None,
) -> tuple[list[EncodedAudio], AudioMeasurement]:
    encoders = [
        BackgroundEncoder(f, WORK_SAMPLE_RATE, extra)
        for f, extra in zip(formats, gains or [0.0] * len(formats), strict=True)
    ]
    meter = ProgrammeMeter(WORK_SAMPLE_RATE)
    try:
        done = 0
        for piece in _levelled_pieces(spool, programme_lufs, gain_db):
            pcm = Pcm(piece, WORK_SAMPLE_RATE)
            for encoder in encoders:
                encoder.write(pcm)
            meter.add(piece)
            done += len(piece)
            progress(done / max(1, spool.length))
        return [encoder.close() for encoder in encoders], meter.result()
    except BaseException:
        for encoder in encoders:
            try:
                encoder.close()
            except Exception:  # already failing; the first error is the one reported
                log.debug("encoder failed while aborting", exc_info=True)
        raise


def measure_encoded(encoded: EncodedAudio) -> AudioMeasurement:
    """Loudness and true peak of an encoded file, decoded as a stream."""
    meter = ProgrammeMeter(encoded.sample_rate)
    for block, _ in iter_decode(encoded.data, sample_rate=encoded.sample_rate, max_duration_s=None):
        meter.add(block)
    measured = meter.result()
    return AudioMeasurement(
        measured.loudness_lufs, measured.true_peak_dbtp, encoded.duration_ms, encoded.sample_rate
    )


def level_recording_stream(
    source: AudioSource,
    *,
    formats: Sequence[AudioFormat] = (AudioFormat.MP3,),
    max_duration_s: float,
    temp_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[tuple[EncodedAudio, AudioMeasurement]]:
    """Decode, level (−16 LUFS, true peak under the ceiling) and encode ``source`` in ``formats``,
    with memory bounded independently of its duration. Returns (file, measurement) per format."""

    def stage(low: int, high: int) -> Callable[[float], None]:
        last = [-1]

        def report(fraction: float) -> None:
            percent = low + round((high - low) * min(1.0, max(0.0, fraction)))
            if on_progress is not None and percent > last[0]:
                last[0] = percent
                on_progress(min(99, percent))

        return report

    spool = _Spool(temp_dir)
    try:
        filtered = _decode_and_filter(source, spool, max_duration_s, stage(0, 45))
        if filtered.duration_ms < 100:
            from loa.errors import InvalidInput

            raise InvalidInput("Âm thanh quá ngắn (dưới 0,1 giây).", code="audio_too_short")
        programme = filtered.loudness_lufs
        if programme <= SILENCE_LUFS:
            gain_db = 0.0  # silence stays silence
        else:
            # One measuring pass at a first guess (the gain the filtered programme needs); what the
            # compressor and the limiter took meanwhile is made up, within MAX_MAKEUP_DB. Gain is
            # linear up to the limiter, so one correction lands within a few tenths of a dB.
            first_guess = TARGET_LUFS - programme
            probe = _measure_pass(spool, programme, first_guess)
            stage(45, 60)(1.0)
            gain_db = first_guess + min(MAX_MAKEUP_DB, TARGET_LUFS - probe.loudness_lufs)
        encoded, measured = _encode_pass(spool, programme, gain_db, formats, stage(60, 95))
        results = []
        for audio_format, file in zip(formats, encoded, strict=True):
            measurement = measured
            if PROFILES[audio_format].verify_true_peak:
                file, measurement = _verify(spool, programme, gain_db, audio_format, file)
            results.append((file, measurement))
        if on_progress is not None:
            on_progress(100)
        return results
    finally:
        spool.close()


def _verify(
    spool: _Spool, programme_lufs: float, gain_db: float, audio_format: AudioFormat, file: EncodedAudio
) -> tuple[EncodedAudio, AudioMeasurement]:
    """Opus can overshoot the PCM's peaks and loses a little loudness: decode the file, and re-encode
    with a small correction until its true peak is under the limit (first) and its loudness within
    0.5 LU of the target, or as close as the peak allows (as ``encode_verified`` does for speech)."""
    limit = TRUE_PEAK_MAX_DBTP - 0.15
    correction = 0.0
    for _ in range(2):  # each retry is a whole encoding pass: a long file allows few
        measured = measure_encoded(file)
        gap = TARGET_LUFS - measured.loudness_lufs
        room = limit - _OPUS_MARGIN_DB - measured.true_peak_dbtp
        if measured.true_peak_dbtp <= limit and (abs(gap) < _LOUDNESS_SLACK_LU or (gap > 0 and room < 0.1)):
            return file, measured
        step = min(gap, room)
        if measured.true_peak_dbtp > limit:
            step = min(step, limit - measured.true_peak_dbtp - _OPUS_MARGIN_DB)
        correction += step
        (file,), _ = _encode_pass(
            spool, programme_lufs, gain_db, [audio_format], lambda _: None, [correction]
        )
    return file, measure_encoded(file)

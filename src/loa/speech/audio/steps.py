"""Pipeline steps. Every step has ONE signature, ``Step = Callable[[Pcm], Pcm]``; factories take the
parameters and return the step, so a pipeline is a plain list (as in LibreTime) that reads top-down."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, resample_poly, sosfilt

from loa.speech.audio.loudness import (
    SILENCE_LUFS,
    integrated_loudness_lufs,
    limit_true_peak,
    normalize_loudness,
)
from loa.speech.audio.pcm import Pcm, Step


def run_steps(pcm: Pcm, steps: Sequence[Step]) -> Pcm:
    for step in steps:
        pcm = step(pcm)
    return pcm


def resample(sample_rate: int) -> Step:
    """Band-limited polyphase resampling to ``sample_rate``."""

    def step(pcm: Pcm) -> Pcm:
        if pcm.sample_rate == sample_rate or len(pcm.samples) == 0:
            return Pcm(pcm.samples, sample_rate) if len(pcm.samples) == 0 else pcm
        ratio = Fraction(sample_rate, pcm.sample_rate)
        out = resample_poly(pcm.samples, ratio.numerator, ratio.denominator)
        return Pcm(np.asarray(out, dtype=np.float32), sample_rate)

    return step


def band_limit(low_hz: float | None = 80.0, high_hz: float | None = 9_500.0) -> Step:
    """High-pass (rumble, handling noise, DC: horn loudspeakers cannot reproduce them and they waste the
    headroom the loudness target needs) and low-pass (the MP3 encoder drops everything above ~10 kHz at
    64 kb/s anyway; removing it first means the loudness we measure is the loudness devices play)."""

    def step(pcm: Pcm) -> Pcm:
        if len(pcm.samples) == 0:
            return pcm
        sections = []
        if low_hz is not None:
            sections.append(butter(2, low_hz, btype="highpass", fs=pcm.sample_rate, output="sos"))
        if high_hz is not None and high_hz < pcm.sample_rate / 2:
            sections.append(butter(8, high_hz, btype="lowpass", fs=pcm.sample_rate, output="sos"))
        if not sections:
            return pcm
        sos = np.concatenate(sections).astype(np.float32)
        return pcm.with_samples(np.asarray(sosfilt(sos, pcm.samples), dtype=np.float32))

    return step


def highpass(cutoff_hz: float = 80.0) -> Step:
    return band_limit(cutoff_hz, None)


def _allpass_section(frequency_hz: float, q: float, sample_rate: int) -> list[float]:
    w0 = 2 * math.pi * frequency_hz / sample_rate
    alpha = math.sin(w0) / (2 * q)
    cos_w0 = math.cos(w0)
    a0 = 1 + alpha
    return [(1 - alpha) / a0, -2 * cos_w0 / a0, 1.0, 1.0, -2 * cos_w0 / a0, (1 - alpha) / a0]


def phase_rotate(frequency_hz: float = 200.0, sections: int = 4, q: float = 0.7) -> Step:
    """A chain of all-pass filters (the "phase rotator" of broadcast processors). The magnitude
    response is flat, so nothing audible changes, but the sharp, one-sided glottal pulses of voices
    (eSpeak's especially) are spread out: the waveform's peaks drop by 1–3 dB for the same loudness,
    which the limiter would otherwise have to take away."""

    def step(pcm: Pcm) -> Pcm:
        if len(pcm.samples) == 0 or frequency_hz >= pcm.sample_rate / 2:
            return pcm
        sos = np.array([_allpass_section(frequency_hz, q, pcm.sample_rate)] * sections, dtype=np.float32)
        return pcm.with_samples(np.asarray(sosfilt(sos, pcm.samples), dtype=np.float32))

    return step


def compress(
    ratio: float = 3.0,
    threshold_lu: float = -6.0,
    release_db_per_s: float = 60.0,
    window_ms: float = 5.0,
    smoothing_windows: int = 3,
    programme_lufs: float | None = None,
) -> Step:
    """Gentle downward compression of the loud parts. The threshold is relative to the signal's own
    integrated loudness (``threshold_lu`` above it), so the step behaves the same on a quiet phone
    recording and a hot studio file. It evens out loud syllables so −16 LUFS fits under the true-peak
    ceiling without the limiter doing all the work.

    Gain reduction reacts within one window (smoothed over ``smoothing_windows`` so it has no steps)
    and recovers at ``release_db_per_s``: a decay linear in dB, which is a running maximum and so
    needs no per-sample loop.

    ``programme_lufs``: the loudness of the whole programme when the step sees it piece by piece (a
    long upload processed as a stream), so every piece gets the same threshold."""

    def step(pcm: Pcm) -> Pcm:
        samples = pcm.samples
        window = max(1, int(pcm.sample_rate * window_ms / 1000))
        blocks = len(samples) // window
        loudness = integrated_loudness_lufs(pcm) if programme_lufs is None else programme_lufs
        if blocks < 2 or loudness <= SILENCE_LUFS:
            return pcm
        framed = samples[: blocks * window].reshape(blocks, window)
        mean_square = np.einsum("ij,ij->i", framed, framed, dtype=np.float64) / window
        # RMS of a window in dB; +0.691 − 3 puts a steady speech-like signal on the LUFS scale.
        level_db = 10 * np.log10(mean_square + 1e-12) - 2.309
        wanted = np.maximum(0.0, level_db - (loudness + threshold_lu)) * (1.0 - 1.0 / ratio)
        decay = release_db_per_s * window_ms / 1000 * np.arange(blocks)
        reduction = np.maximum.accumulate(wanted + decay) - decay
        if smoothing_windows > 1:
            reduction = uniform_filter1d(reduction, size=smoothing_windows, mode="nearest")
        centres = (np.arange(blocks) + 0.5) * window
        gain_db = np.interp(np.arange(len(samples), dtype=np.float32), centres, -reduction)
        gain = np.power(np.float32(10.0), (gain_db / 20).astype(np.float32))
        return pcm.with_samples(np.asarray(samples * gain, dtype=np.float32))

    return step


def add_jingles(intro: Pcm | None, outro: Pcm | None, gap_ms: int = 300) -> Step:
    """Put an intro before and an outro after the programme, separated by ``gap_ms`` of silence. The
    jingles are resampled to the programme's rate; level them with the same pipeline beforehand."""

    def step(pcm: Pcm) -> Pcm:
        parts: list[Pcm] = []
        gap = Pcm.silence(gap_ms, pcm.sample_rate)
        if intro is not None:
            parts += [resample(pcm.sample_rate)(intro), gap]
        parts.append(pcm)
        if outro is not None:
            parts += [gap, resample(pcm.sample_rate)(outro)]
        return Pcm.concat(parts, pcm.sample_rate)

    return step


def trim_silence(threshold_db: float = -50.0, keep_ms: int = 150) -> Step:
    """Trim leading and trailing near-silence, keeping ``keep_ms`` so words are not clipped."""

    def step(pcm: Pcm) -> Pcm:
        samples = pcm.samples
        loud = np.flatnonzero(np.abs(samples) > 10 ** (threshold_db / 20))
        if len(loud) == 0:
            return pcm
        keep = int(pcm.sample_rate * keep_ms / 1000)
        start = max(0, int(loud[0]) - keep)
        end = min(len(samples), int(loud[-1]) + 1 + keep)
        return pcm.with_samples(samples[start:end])

    return step


__all__ = [
    "Step",
    "add_jingles",
    "band_limit",
    "compress",
    "highpass",
    "limit_true_peak",
    "normalize_loudness",
    "phase_rotate",
    "resample",
    "run_steps",
    "trim_silence",
]

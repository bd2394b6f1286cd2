"""The pipeline steps on real signals: loudness agrees with pyloudnorm, true peak with an independent
oversampler, and the broadcast chain lands every kind of input on −16 LUFS under the peak ceiling."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest

from loa.speech.audio import Pcm, broadcast_steps, integrated_loudness_lufs, run_steps, true_peak_dbtp
from loa.speech.audio.loudness import SILENCE_LUFS, limit_true_peak, normalize_loudness
from loa.speech.audio.pipeline import LIMITER_CEILING_DBTP, TARGET_LUFS
from loa.speech.audio.steps import add_jingles, band_limit, compress, phase_rotate, resample, trim_silence
from loa.speech.engines.espeak import EspeakEngine
from tests.speech.audio.media import SAMPLE_RATE, dominant_frequency_hz, reference_true_peak_dbtp, tone

SENTENCE = "Ủy ban nhân dân xã Ba Tơ thông báo lịch tiêm phòng cho trẻ em vào sáng thứ hai tuần sau."


@pytest.fixture(scope="module")
def speech() -> Pcm:
    return EspeakEngine().synthesize(SENTENCE * 3, voice="espeak:vi-vn-x-central")


def pyloudnorm_lufs(pcm: Pcm) -> float:
    return float(pyloudnorm.Meter(pcm.sample_rate).integrated_loudness(pcm.samples.astype(np.float64)))


def test_loudness_agrees_with_pyloudnorm(speech: Pcm) -> None:
    quiet = speech.with_samples(speech.samples * np.float32(0.1))
    for pcm in (speech, quiet, Pcm(tone(1000, 3.0, 48_000, 0.25), 48_000)):
        assert integrated_loudness_lufs(pcm) == pytest.approx(pyloudnorm_lufs(pcm), abs=0.02)


def test_silence_and_tiny_clips() -> None:
    assert integrated_loudness_lufs(Pcm.silence(2000, SAMPLE_RATE)) == SILENCE_LUFS
    word = Pcm(tone(500, 0.2), SAMPLE_RATE)  # shorter than one 400 ms block: measured, not skipped
    assert -20 < integrated_loudness_lufs(word) < -5
    assert normalize_loudness()(Pcm.silence(1000, SAMPLE_RATE)).samples.max() == 0.0


def test_true_peak_agrees_with_an_independent_oversampler(speech: Pcm) -> None:
    # A sine at fs/4 with a 45° phase: every sample misses the crest by 3 dB.
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    between = (0.9 * np.sin(2 * math.pi * SAMPLE_RATE / 4 * t + math.pi / 4)).astype(np.float32)
    for samples in (speech.samples, between):
        assert true_peak_dbtp(Pcm(samples, SAMPLE_RATE)) == pytest.approx(
            reference_true_peak_dbtp(samples), abs=0.25
        )
    assert 20 * math.log10(float(np.abs(between).max())) < true_peak_dbtp(Pcm(between, SAMPLE_RATE)) - 2.5


def test_limiter_holds_the_ceiling_between_samples(speech: Pcm) -> None:
    hot = speech.with_samples(speech.samples * np.float32(3.0))  # +9.5 dB, far over full scale
    limited = limit_true_peak(-2.0)(hot)
    assert reference_true_peak_dbtp(limited.samples) <= -2.0 + 0.2
    assert len(limited.samples) == len(hot.samples)
    # Only the loud stretches are turned down: wherever nothing within ±50 ms comes near the
    # ceiling, the samples are untouched.
    from scipy.ndimage import maximum_filter1d

    neighbourhood = maximum_filter1d(np.abs(hot.samples), size=int(0.1 * SAMPLE_RATE))
    calm = neighbourhood < 0.5
    assert calm.sum() > 1000
    assert np.allclose(limited.samples[calm], hot.samples[calm], atol=1e-4)


@pytest.mark.parametrize("gain_db", [-30.0, 0.0, +6.0])
def test_broadcast_chain_lands_on_target(speech: Pcm, gain_db: float) -> None:
    source = speech.with_samples(speech.samples * np.float32(10 ** (gain_db / 20)))
    out = run_steps(source, broadcast_steps())
    assert out.sample_rate == SAMPLE_RATE
    assert pyloudnorm_lufs(out) == pytest.approx(TARGET_LUFS, abs=0.3)
    assert reference_true_peak_dbtp(out.samples) <= LIMITER_CEILING_DBTP + 0.3
    assert out.duration_s == pytest.approx(source.duration_s, abs=0.001)


def test_steps_each_do_their_one_job(speech: Pcm) -> None:
    rumble = Pcm(tone(30, 2.0, amplitude=0.5) + tone(1000, 2.0, amplitude=0.1), SAMPLE_RATE)
    filtered = band_limit(80, 9_500)(rumble)
    assert dominant_frequency_hz(filtered.samples[SAMPLE_RATE // 2 :], SAMPLE_RATE) == pytest.approx(
        1000, abs=5
    )

    rotated = phase_rotate()(speech)
    assert integrated_loudness_lufs(rotated) == pytest.approx(integrated_loudness_lufs(speech), abs=0.3)

    # Compression on a signal with known dynamics (eSpeak's exact output varies slightly between
    # calls, which made a crest-factor margin on speech flaky): 3 s quiet, then a 20 dB louder burst.
    quiet, loud = tone(1000, 3.0, amplitude=0.05), tone(1000, 0.5, amplitude=0.5)
    dynamic = Pcm(np.concatenate([quiet, loud]).astype(np.float32), SAMPLE_RATE)
    squeezed = compress()(dynamic).samples

    def rms_db(x: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64))))

    cut = len(quiet)
    inner = slice(SAMPLE_RATE // 10, -SAMPLE_RATE // 10)  # away from the attack/release edges
    assert rms_db(squeezed[:cut][inner]) == pytest.approx(rms_db(quiet[inner]), abs=0.5)
    assert rms_db(squeezed[cut:][inner]) < rms_db(loud[inner]) - 2.0

    up = resample(48_000)(speech)
    assert up.sample_rate == 48_000 and up.duration_s == pytest.approx(speech.duration_s, abs=0.001)

    padded = Pcm.concat([Pcm.silence(1000, SAMPLE_RATE), speech, Pcm.silence(1000, SAMPLE_RATE)], SAMPLE_RATE)
    trimmed = trim_silence()(padded)
    assert trimmed.duration_s == pytest.approx(speech.duration_s + 0.3, abs=0.2)


def test_jingles_frame_the_programme_at_the_same_level(speech: Pcm) -> None:
    from loa.speech.audio.pipeline import level_jingle

    intro = Pcm(tone(660, 1.5, 44_100, 0.05), 44_100)
    programme = run_steps(speech, broadcast_steps(intro=intro, outro=intro))
    assert programme.duration_s == pytest.approx(speech.duration_s + 2 * (1.5 + 0.3), abs=0.01)
    assert pyloudnorm_lufs(programme) == pytest.approx(TARGET_LUFS, abs=0.5)
    assert integrated_loudness_lufs(level_jingle(intro)) == pytest.approx(TARGET_LUFS, abs=0.3)
    plain = add_jingles(None, None)(speech)
    assert plain.duration_s == speech.duration_s

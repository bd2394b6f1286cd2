"""The broadcast chain as a list of steps, and the measurements recorded with every stored asset.

Targets for outdoor loudspeakers: −16 LUFS integrated (ITU-R BS.1770), true peak ≤ −1.5 dBTP, mono.
The limiter aims lower (``LIMITER_CEILING_DBTP``) because lossy encoding adds overshoot of its own:
the −1.5 dBTP promise is about the MP3/Opus file a device decodes, not the PCM before encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from loa.speech.audio.loudness import integrated_loudness_lufs, normalize_loudness, true_peak_dbtp
from loa.speech.audio.pcm import Pcm, Step
from loa.speech.audio.steps import add_jingles, band_limit, compress, phase_rotate, resample, run_steps

WORK_SAMPLE_RATE = 22_050
TARGET_LUFS = -16.0
TRUE_PEAK_MAX_DBTP = -1.5
LIMITER_CEILING_DBTP = -3.5
HIGHPASS_HZ = 80.0
LOWPASS_HZ = 9_500.0
LIMITER_RELEASE_MS = 5.0


@dataclass(frozen=True)
class AudioMeasurement:
    loudness_lufs: float
    true_peak_dbtp: float
    duration_ms: int
    sample_rate: int


def measure(pcm: Pcm) -> AudioMeasurement:
    return AudioMeasurement(
        loudness_lufs=round(integrated_loudness_lufs(pcm), 2),
        true_peak_dbtp=round(true_peak_dbtp(pcm), 2),
        duration_ms=pcm.duration_ms,
        sample_rate=pcm.sample_rate,
    )


def level_jingle(jingle: Pcm, sample_rate: int = WORK_SAMPLE_RATE) -> Pcm:
    """Bring a jingle (music: no high-pass, no compression) to the same loudness as the speech."""
    return run_steps(
        jingle,
        [
            resample(sample_rate),
            band_limit(None, LOWPASS_HZ),
            normalize_loudness(TARGET_LUFS, LIMITER_CEILING_DBTP, release_ms=LIMITER_RELEASE_MS),
        ],
    )


def broadcast_steps(
    *,
    sample_rate: int = WORK_SAMPLE_RATE,
    intro: Pcm | None = None,
    outro: Pcm | None = None,
) -> list[Step]:
    """Speech (synthesised or recorded) → ready to encode for the loudspeakers."""
    steps: list[Step] = [
        resample(sample_rate),
        band_limit(HIGHPASS_HZ, LOWPASS_HZ),
        phase_rotate(),
        compress(),
        normalize_loudness(TARGET_LUFS, LIMITER_CEILING_DBTP, release_ms=LIMITER_RELEASE_MS),
    ]
    if intro is not None or outro is not None:
        steps.append(
            add_jingles(
                None if intro is None else level_jingle(intro, sample_rate),
                None if outro is None else level_jingle(outro, sample_rate),
            )
        )
    return steps

"""The programme meter gives, chunk by chunk, the figures ``measure`` gives for the whole programme."""

from __future__ import annotations

import numpy as np
import pytest

from loa.speech.audio import Pcm, broadcast_steps, measure, run_steps
from loa.speech.audio.meter import ProgrammeMeter
from loa.speech.engines.espeak import EspeakEngine
from tests.speech.audio.media import SAMPLE_RATE, tone

SPEECH = "Sáng mai, đài truyền thanh xã phát bản tin về phòng chống thiên tai. Kính mời bà con lắng nghe."


def _programmes() -> dict[str, np.ndarray]:
    speech = run_steps(EspeakEngine().synthesize(SPEECH * 3, voice="espeak:vi"), broadcast_steps()).samples
    noise = (np.random.default_rng(7).standard_normal(40_000) * 0.3).astype(np.float32)
    return {
        "speech": speech,
        "noise near full scale": np.clip(noise, -1, 1),
        "shorter than a block": tone(300, 0.2, SAMPLE_RATE, 0.4),
        "silence": np.zeros(20_000, dtype=np.float32),
        "three samples": np.array([0.5, -0.9, 0.2], dtype=np.float32),
    }


@pytest.mark.parametrize("chunking", ["whole", "chunks", "tiny"])
def test_the_meter_agrees_with_a_whole_programme_measurement(chunking: str) -> None:
    rng = np.random.default_rng(11)
    for name, samples in _programmes().items():
        meter = ProgrammeMeter(SAMPLE_RATE)
        position = 0
        while position < len(samples):
            if chunking == "whole":
                size = len(samples)
            elif chunking == "chunks":
                size = int(rng.integers(2_000, 60_000))
            else:
                size = int(rng.integers(1, 9)) if position < 200 else int(rng.integers(500, 5_000))
            meter.add(samples[position : position + size])
            position += size
        assert meter.result() == measure(Pcm(samples, SAMPLE_RATE)), (name, chunking)

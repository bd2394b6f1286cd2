"""The one in-memory audio value every engine returns and every pipeline step takes: mono float PCM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Pcm:
    """Mono audio as float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: Samples
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError("Pcm is mono: samples must be one-dimensional")
        if self.samples.dtype != np.float32:
            object.__setattr__(self, "samples", self.samples.astype(np.float32))
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def duration_ms(self) -> int:
        return round(1000 * len(self.samples) / self.sample_rate)

    def with_samples(self, samples: Samples) -> Pcm:
        return Pcm(samples, self.sample_rate)

    @staticmethod
    def silence(duration_ms: int, sample_rate: int) -> Pcm:
        return Pcm(np.zeros(max(0, round(duration_ms * sample_rate / 1000)), dtype=np.float32), sample_rate)

    @staticmethod
    def concat(parts: list[Pcm], sample_rate: int) -> Pcm:
        """Join parts that already share ``sample_rate`` (resample first otherwise)."""
        for part in parts:
            if part.sample_rate != sample_rate:
                raise ValueError("cannot concatenate PCM of different sample rates")
        if not parts:
            return Pcm(np.zeros(0, dtype=np.float32), sample_rate)
        return Pcm(np.concatenate([p.samples for p in parts]), sample_rate)


# The one signature of every audio pipeline step.
Step = Callable[[Pcm], Pcm]

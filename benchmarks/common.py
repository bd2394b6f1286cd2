"""The one result shape every benchmark prints, and a median timer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Result:
    bench: str
    value: float
    unit: str
    target: float | None = None
    better: Literal["lower", "higher"] = "lower"

    def as_dict(self) -> dict[str, object]:
        return {
            "bench": self.bench,
            "value": round(self.value, 6),
            "unit": self.unit,
            "target": self.target,
            "better": self.better,
        }


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall-clock seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)

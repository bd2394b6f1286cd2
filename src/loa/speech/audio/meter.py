"""Measure a programme while it is being made, chunk by chunk.

``ProgrammeMeter`` gives the figures ``measure`` gives for the whole programme (BS.1770 integrated
loudness, 4x-oversampled true peak) without a second pass over it at the end: the K-weighting filter
keeps its state between chunks and only the running sums at the 400 ms block boundaries are kept, so
the loudness is the same computation in the same order (not an approximation). For the true peak,
each chunk is scanned around its own loudest samples (a superset of the points a whole-programme scan
interpolates), with the few samples at each chunk edge scanned once their neighbours are known.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import sosfilt

from loa.speech.audio.loudness import (
    _TAPS_PER_PHASE,
    SILENCE_DBTP,
    _block_bounds,
    _gated_loudness,
    _k_weighting_sos,
    true_peak_envelope,
)
from loa.speech.audio.pcm import Samples
from loa.speech.audio.pipeline import AudioMeasurement

_BEFORE = _TAPS_PER_PHASE // 2  # an envelope point needs this many samples before it
_AFTER = _TAPS_PER_PHASE // 2 - 1  # and this many after
_PEAK_MARGIN_DB = 3.5  # as in ``true_peak_dbtp``


class ProgrammeMeter:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._sos = _k_weighting_sos(sample_rate)
        self._state = np.zeros((self._sos.shape[0], 2), dtype=np.float32)
        self._block = int(0.4 * sample_rate)
        self._length = 0
        self._total = 0.0
        self._sums: dict[int, float] = {0: 0.0}  # running sum of K-weighted squares at block edges
        self._carry = np.zeros(0, dtype=np.float32)  # last samples: context and not yet scanned
        self._pending = 0  # how many of ``_carry``'s last samples still need their true-peak scan
        self._peak = 0.0

    @property
    def length(self) -> int:
        return self._length

    def add(self, samples: Samples) -> None:
        if len(samples) == 0:
            return
        self._add_loudness(samples)
        self._add_peak(samples)
        self._length += len(samples)

    def _edges(self, low: int, high: int) -> npt.NDArray[np.int64]:
        """Block starts and ends (as ``_block_bounds`` computes them) in ``(low, high]``."""
        hop = 0.1 * self.sample_rate
        first = max(0, math.floor((low - self._block) / hop) - 1)
        last = math.ceil(high / hop) + 1
        starts = np.floor(np.arange(first, last + 1) * 0.1 * self.sample_rate).astype(np.int64)
        edges = np.concatenate([starts, starts + self._block])
        return np.unique(edges[(edges > low) & (edges <= high)])

    def _add_loudness(self, samples: Samples) -> None:
        weighted, self._state = sosfilt(self._sos, samples, zi=self._state)
        weighted = np.asarray(weighted, dtype=np.float32)
        squares = weighted * weighted
        running = np.cumsum(np.concatenate([[self._total], squares]), dtype=np.float64)
        for edge in self._edges(self._length, self._length + len(samples)):
            self._sums[int(edge)] = float(running[int(edge) - self._length])
        self._total = float(running[-1])

    def _add_peak(self, samples: Samples) -> None:
        # ``_carry`` holds the samples not scanned yet (``_pending``, at its end) and the few before
        # them that their interpolation needs.
        buffer = np.concatenate([self._carry, samples])
        first = len(self._carry) - self._pending
        last = len(buffer) - _AFTER  # the last few wait for their neighbours (next chunk or the end)
        if last > first:
            floor = float(np.abs(buffer[first:]).max())
            envelope = true_peak_envelope(buffer, floor=floor, margin_db=_PEAK_MARGIN_DB)
            self._peak = max(self._peak, float(envelope[first:last].max()))
            first = last
        self._pending = len(buffer) - first
        self._carry = buffer[-(self._pending + _BEFORE) :].copy()

    def result(self) -> AudioMeasurement:
        """The measurement of everything added (call once, at the end)."""
        duration_ms = round(1000 * self._length / self.sample_rate)
        length = self._length
        if length <= self._block:
            # A clip shorter than one block is measured as if followed by silence (as ``measure``).
            self._add_loudness(np.zeros(self._block + 1 - length, dtype=np.float32))
            length = self._block + 1
            self._sums[length] = self._total
        if self._pending:
            floor = float(np.abs(self._carry[-self._pending :]).max())
            envelope = true_peak_envelope(self._carry, floor=floor, margin_db=_PEAK_MARGIN_DB)
            self._peak = max(self._peak, float(envelope[-self._pending :].max()))
            self._pending = 0
        self._sums[length] = self._total
        starts, ends, block = _block_bounds(length, self.sample_rate)
        energy = np.array(
            [(self._sums[int(e)] - self._sums[int(s)]) / block for s, e in zip(starts, ends, strict=True)]
        )
        loudness = _gated_loudness(np.asarray(energy, dtype=np.float64))
        true_peak = 20 * math.log10(self._peak) if self._peak > 1e-6 else SILENCE_DBTP
        return AudioMeasurement(round(loudness, 2), round(true_peak, 2), duration_ms, self.sample_rate)

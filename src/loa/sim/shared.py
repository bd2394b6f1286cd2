"""What thousands of simulated loudspeakers in one process share: one event-loop timer per time slot
(``Ticker``) and one signature check per group command payload (``open_group_command``)."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import weakref
from collections.abc import Callable

from loa.protocol import group
from loa.protocol import messages as m

log = logging.getLogger(__name__)


class Ticker:
    """Timers for thousands of simulated devices: one event-loop timer per ``RESOLUTION_S`` slot
    instead of one per device (scheduling a ``TimerHandle`` per device was about a third of the
    time to answer a group command, under a profiler). Callbacks cannot be cancelled: they check
    whether they still apply."""

    RESOLUTION_S = 0.05

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: dict[int, list[Callable[[], None]]] = {}

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Ticker:
        ticker = _tickers.get(loop)
        if ticker is None:
            ticker = _tickers[loop] = cls(loop)
        return ticker

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        slot = math.ceil((self.loop.time() + max(0.0, delay_s)) / self.RESOLUTION_S)
        calls = self.slots.get(slot)
        if calls is None:
            calls = self.slots[slot] = []
            self.loop.call_at(slot * self.RESOLUTION_S, self._fire, slot)
        calls.append(callback)

    def _fire(self, slot: int) -> None:
        for callback in self.slots.pop(slot, ()):
            try:
                callback()
            except Exception:
                log.exception("simulated device timer failed")


_tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Ticker] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=32)
def open_group_command(payload: bytes, public_key: bytes) -> group.GroupCommand | None:
    """Verify once per distinct payload: thousands of simulated devices in one process receive the
    same bytes (a real device verifies its one copy). None for a refused message."""
    try:
        return group.open_sealed(payload, public_key)
    except m.ProtocolError:
        return None

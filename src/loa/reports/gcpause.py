"""Pause CPython's cyclic garbage collector while a report is built.

A province-year report allocates hundreds of thousands of small objects (tallies, detail rows,
commune-days) that all live until the report is done and form no reference cycles. While they
accumulate, the generational collector runs full collections over the whole heap again and again
(seven of about a quarter of a second each on the province-year benchmark: a quarter of the time).
Reference counting still frees everything as usual; only cycle detection waits until the end.
Process-wide, so pauses nest and overlap (threads) through a counter: the collector comes back
when the last one ends, and stays off if something else had switched it off.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()

"""The event loop for the processes that hold thousands of connections: the gateway (``loa gateway
run``, ``loa broker run``) and the simulator. uvloop (libuv) where it is installed — a dependency of
the server, not of the agent — and asyncio's own loop otherwise; the code is the same on both.

Seen on the 2-core CI machine (``make bench fleet``, single runs before and after the switch, the same
day): connecting 10,000 simulated devices to Mosquitto took 6.8 s on asyncio's loop and 4.3 s on
uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # the agent's light install, or a platform without a wheel
        return asyncio.run(main)
    return uvloop.run(main)

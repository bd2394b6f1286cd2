"""The event loop for the processes that hold thousands of connections: the gateway (``loa gateway
run``, ``loa broker run``) and the simulator. uvloop (libuv) where it is installed — a dependency of
the server, not of the agent — and asyncio's own loop otherwise; the code is the same on both.

Measured on the 2-core CI machine (``make bench``, 10,000 simulated devices through Mosquitto): the
simulator's CPU per "play now" round falls by about a half on uvloop; see docs/operations.md."""

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

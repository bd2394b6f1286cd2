"""The agent's tasks run for ever: one that fails is started again, never ending the agent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from loa.agent.fetch import backoff_delay

log = logging.getLogger(__name__)


async def supervised(
    loop: Callable[[], Coroutine[Any, Any, None]], *, on_failure: Callable[[], None], cap_s: float
) -> None:
    """Run ``loop`` for ever: one that fails (a full disk, an answer nobody foresaw) is logged,
    reported (``on_failure``) and started again after a backoff (jittered, up to ``cap_s``)."""
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            await loop()
        except Exception:
            on_failure()
            log.exception("%s failed; starting it again", loop.__name__)
        if time.monotonic() - started > cap_s:
            attempt = 0  # it ran a good while: the failure is not a loop
        await asyncio.sleep(backoff_delay(attempt, base_s=1.0, cap_s=cap_s))
        attempt += 1

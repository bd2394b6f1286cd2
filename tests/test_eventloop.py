"""The gateway's and simulator's event loop: uvloop, which the server installs, with a result."""

from __future__ import annotations

import asyncio

import uvloop

from loa import eventloop


def test_runs_on_uvloop_and_returns_the_result() -> None:
    async def main() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(main()).startswith("uvloop")
    assert uvloop.Loop.__module__.startswith("uvloop")

"""The gateway's and simulator's event loop: uvloop, which the server installs, with a result."""

from __future__ import annotations

import asyncio

from loa import eventloop


def test_runs_on_uvloop_and_returns_the_result() -> None:
    async def main() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(main()).startswith("uvloop")
    # Only that run: the rest of the process (the web server, the tests) keeps its own loop policy.
    loop = asyncio.new_event_loop()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()

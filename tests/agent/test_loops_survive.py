"""A task of the agent that fails for a reason nobody foresaw does not end the agent: it is logged,
counted and started again (issue 21.1's rule for the HTTP side). Here a real failure: the partial
download's path is a directory (as a corrupted card might leave), so writing the audio fails with
``IsADirectoryError``; once it is cleared, the same download loop, started again, fetches the file
from a real HTTP server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol.device import signals as s
from tests.agent.test_fetch_only_own_server import Recording
from tests.support.device_table import AUDIO, DEVICE, PUBLIC, SHA, TOPICS, Schedule, Slot, manifest_bytes


async def until(condition: Callable[[], bool], what: str, limit_s: float = 20) -> None:
    """Wait for the condition (checked every 50 ms; the limit is only a safety net)."""
    for _ in range(int(limit_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting: {what}")


def test_a_failing_download_loop_is_started_again(tmp_path: Path) -> None:
    sha = SHA["programme"]
    server = Recording({f"/api/v1/devices/{DEVICE}/audio/{sha}": AUDIO["programme"][1]})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    identity = Identity(
        device_id=DEVICE,
        secret="s",
        mqtt_host="127.0.0.1",
        mqtt_port=1,  # nothing listens: the MQTT task keeps retrying, as it should
        topic_prefix=TOPICS.prefix,
        manifest_public_key=base64.b64encode(PUBLIC).decode(),
    )
    (tmp_path / "identity.json").write_text(json.dumps(identity.model_dump()))

    async def scenario() -> None:
        agent = Agent(AgentConfig(server_url=server.url, data_dir=tmp_path, sink="null", reconnect_max_s=1))
        blocker = agent.cache.partial(sha)
        blocker.mkdir()  # the download cannot write its partial file
        task = asyncio.create_task(agent.run())
        try:
            await until(lambda: agent.identity is not None, "agent prepared")
            slots = (Slot("tin", 3_600_000),)
            agent.feed(s.ManifestFetched(*manifest_bytes(Schedule(0, slots), now_ms())))
            await until(lambda: agent.loop_errors >= 1, "the download loop failed")
            assert not task.done()
            blocker.rmdir()
            await until(lambda: agent.cache.has(sha), "downloaded by the loop started again")
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            server.shutdown()
            server.server_close()

    asyncio.run(scenario())

"""Issue 20.2: a command cannot make the agent fetch from elsewhere. A "play now" naming a ``url``
(another host) is played with audio fetched by its hash from the device's own server, with the
device's credentials; the other host is never contacted. Both servers are real HTTP servers on
127.0.0.1 (threads)."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from tests.support.device_table import AUDIO, DEVICE, PUBLIC, SHA, TOPICS, command_wire, play_now


class Recording(ThreadingHTTPServer):
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Recording

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        body = self.server.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[Recording, Recording]]:
    sha = SHA["bulletin"]
    own = Recording({f"/api/v1/devices/{DEVICE}/audio/{sha}": AUDIO["bulletin"][1]})
    other = Recording({"/steal.wav": AUDIO["bulletin"][1]})
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (own, other)]
    for t in threads:
        t.start()
    try:
        yield own, other
    finally:
        for s in (own, other):
            s.shutdown()
            s.server_close()


def test_play_now_with_a_url_fetches_by_hash_from_the_own_server_only(
    servers: tuple[Recording, Recording], tmp_path: Path
) -> None:
    own, other = servers

    async def scenario() -> None:
        agent = Agent(AgentConfig(server_url=own.url, data_dir=tmp_path, sink="null"))
        agent.adopt(
            Identity(
                device_id=DEVICE,
                secret="s3cret",
                mqtt_host="127.0.0.1",
                mqtt_port=1,
                topic_prefix=TOPICS.prefix,
                manifest_public_key=base64.b64encode(PUBLIC).decode(),
            )
        )
        command = play_now(0, "c1", "item-c1", url=f"{other.url}/steal.wav")
        topic, payload = command_wire(command, now_ms())
        await agent._on_message(topic, payload)
        await asyncio.gather(*list(agent._tasks))
        try:
            assert agent.message_errors == 0
            assert agent.cache.has(SHA["bulletin"])  # fetched, by its hash
        finally:
            await agent.output.close()
            await agent.transfers.aclose()
            agent.journal.close()

    asyncio.run(scenario())
    assert other.requests == []
    assert [path for path, _ in own.requests] == [f"/api/v1/devices/{DEVICE}/audio/{SHA['bulletin']}"]
    expected = "Basic " + base64.b64encode(f"{DEVICE}:s3cret".encode()).decode()
    assert own.requests[0][1] == expected

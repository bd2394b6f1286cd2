"""Issue 21.5 through the real agent: a refused manifest (a rollback) is fetched once and then asked
for with its ETag (the server answers 304, nothing is refused or reported again); a saved manifest
refused at start is reported in the status, not only logged. The server is a real HTTP server on
127.0.0.1 (a thread)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loa.agent.config import AgentConfig, Identity
from loa.agent.player import now_ms
from loa.agent.runtime import Agent
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from tests.support.device_table import DEVICE, PUBLIC, TOPICS, Schedule, Slot, manifest_bytes

IDENTITY = Identity(
    device_id=DEVICE,
    secret="s",
    mqtt_host="127.0.0.1",
    mqtt_port=1,
    topic_prefix=TOPICS.prefix,
    manifest_public_key=base64.b64encode(PUBLIC).decode(),
)


class ManifestServer(ThreadingHTTPServer):
    def __init__(self, body: bytes, signature: bytes, etag: str) -> None:
        self.body, self.signature, self.etag = body, signature, etag
        self.requests: list[str | None] = []  # If-None-Match of each request
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: ManifestServer

    def do_GET(self) -> None:
        seen = self.headers.get("If-None-Match")
        self.server.requests.append(seen)
        if seen == self.server.etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", self.server.etag)
        self.send_header("X-Loa-Signature", base64.b64encode(self.server.signature).decode())
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


T0 = now_ms()
SLOTS = (Slot("tin", 3_600_000),)


@pytest.fixture
def rolled_back() -> Iterator[ManifestServer]:
    """A server that offers version 1 (restored from an old backup, say)."""
    server = ManifestServer(*manifest_bytes(Schedule(0, SLOTS), T0, version=1), etag='"v1"')
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_refused_manifest_is_not_fetched_and_refused_again(
    rolled_back: ManifestServer, tmp_path: Path
) -> None:
    async def scenario() -> list[s.Event]:
        agent = Agent(AgentConfig(server_url=rolled_back.url, data_dir=tmp_path, sink="null"))
        agent.adopt(IDENTITY)
        agent.feed(s.ManifestFetched(*manifest_bytes(Schedule(0, SLOTS), T0, version=2)))
        fed: list[s.Event] = []
        feed = agent.transfers.feed
        agent.transfers.feed = lambda event: (fed.append(event), feed(event))[-1]  # type: ignore[func-returns-value]
        try:
            for _ in range(3):
                await agent.transfers.sync_manifest()
            assert agent.core.manifest_version == 2
            assert agent.status(m.StatusReason.HEARTBEAT).manifest_error == "manifest_rollback"
        finally:
            await agent.transfers.aclose()
            agent.journal.close()
        return fed

    fed = asyncio.run(scenario())
    assert len([e for e in fed if isinstance(e, s.ManifestFetched)]) == 1
    assert rolled_back.requests == [None, '"v1"', '"v1"']  # then 304: nothing to refuse again


def test_a_saved_manifest_refused_at_start_is_reported(tmp_path: Path) -> None:
    body, signature = manifest_bytes(Schedule(0, SLOTS), T0)
    (tmp_path / "identity.json").write_text(json.dumps(IDENTITY.model_dump()))
    (tmp_path / "manifest.json").write_bytes(body.replace(b"tin", b"tim"))  # changed on the card
    (tmp_path / "manifest.sig").write_bytes(signature)

    async def scenario() -> m.Status:
        agent = Agent(AgentConfig(server_url="http://127.0.0.1:9", data_dir=tmp_path, sink="null"))
        await agent.prepare()
        try:
            assert agent._status_changed.is_set()  # a status goes out with it
            return agent.status(m.StatusReason.BOOT)
        finally:
            await agent.transfers.aclose()
            agent.journal.close()

    status = asyncio.run(scenario())
    assert status.manifest_error == "signature_invalid" and status.manifest_version is None

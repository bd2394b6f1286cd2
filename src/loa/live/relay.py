"""The stream server built into Loa (the embedded default, like the in-process MQTT broker): one source
per mount fanned out to listeners, for small sites and the demo. Production uses Icecast
(``loa.live.icecast``) behind the same routes and tokens.

Its limit is stated and enforced: at most ``max_listeners`` (default 200) listeners in all; one more is
refused with 503 (the device retries later). A pure-asyncio server saturated a core at about 5,000
listeners on this kind of machine (shared/reference/facts.md); 200 keeps the web app responsive.

A listener joining mid-stream first gets the stream's header (WebM: everything before the first
Cluster; Ogg: the identification and comment pages) and then data from the next boundary a decoder
can start at (a WebM Cluster, an Ogg page); MP3 needs neither. A slow listener whose queue is full
loses chunks rather than holding the source or growing memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from loa.protocol.streams import STREAM_CONTENT_TYPES

DEFAULT_MAX_LISTENERS = 200
QUEUE_CHUNKS = 64  # per listener; at a chunk every 100–250 ms, several seconds of slack
MAX_HEADER_BYTES = 256 * 1024
_WEBM_CLUSTER = b"\x1f\x43\xb6\x75"
_OGG_PAGE = b"OggS"


class RelayFull(Exception):
    """The embedded relay already serves its limit of listeners."""


class MountBusy(Exception):
    """A source already feeds this mount."""


def _sync_marker(fmt: str) -> bytes | None:
    return {"webm": _WEBM_CLUSTER, "ogg": _OGG_PAGE}.get(fmt)


@dataclass(eq=False)
class _Listener:
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_CHUNKS))
    synced: bool = False
    dropped: int = 0


@dataclass
class _Mount:
    content_type: str
    fmt: str
    header: bytearray = field(default_factory=bytearray)
    header_done: bool = False
    listeners: set[_Listener] = field(default_factory=set)
    bytes_in: int = 0


class EmbeddedRelay:
    def __init__(self, max_listeners: int = DEFAULT_MAX_LISTENERS) -> None:
        self.max_listeners = max_listeners
        self._mounts: dict[str, _Mount] = {}
        self._waiting: dict[str, set[_Listener]] = {}  # listeners of a mount with no source yet

    def listeners(self, mount: str) -> int:
        live = self._mounts.get(mount)
        return (len(live.listeners) if live else 0) + len(self._waiting.get(mount, ()))

    def total_listeners(self) -> int:
        return sum(len(m.listeners) for m in self._mounts.values()) + sum(
            len(w) for w in self._waiting.values()
        )

    def has_source(self, mount: str) -> bool:
        return mount in self._mounts

    def content_type(self, mount: str) -> str | None:
        live = self._mounts.get(mount)
        return live.content_type if live else None

    # --- the source ---

    async def feed(self, mount: str, content_type: str, chunks: AsyncIterator[bytes]) -> int:
        """Fan ``chunks`` out until they end; returns the bytes received. One source per mount."""
        if mount in self._mounts:
            raise MountBusy(mount)
        base_type = content_type.split(";")[0].strip().lower()
        state = _Mount(content_type=base_type, fmt=STREAM_CONTENT_TYPES.get(base_type, "mp3"))
        state.listeners |= self._waiting.pop(mount, set())
        self._mounts[mount] = state
        try:
            async for chunk in chunks:
                if chunk:
                    state.bytes_in += len(chunk)
                    self._deliver(state, chunk)
        finally:
            del self._mounts[mount]
            for listener in state.listeners:
                self._put(listener, None)  # the source is gone: listeners' responses end
        return state.bytes_in

    def _deliver(self, state: _Mount, chunk: bytes) -> None:
        marker = _sync_marker(state.fmt)
        if marker is not None and not state.header_done:
            chunk = self._take_header(state, chunk, marker)
            if not chunk:
                return
        for listener in list(state.listeners):
            if listener.synced or marker is None:
                listener.synced = True
                self._put(listener, chunk)
                continue
            at = chunk.find(marker)
            if at >= 0:
                listener.synced = True
                self._put(listener, chunk[at:])

    def _take_header(self, state: _Mount, chunk: bytes, marker: bytes) -> bytes:
        """Keep the stream header; returns what follows it in ``chunk``."""
        if state.fmt == "webm":
            at = (bytes(state.header[-3:]) + chunk).find(marker)
            if at < 0 and len(state.header) + len(chunk) < MAX_HEADER_BYTES:
                state.header += chunk
                return b""
            split = max(at - min(3, len(state.header)), 0) if at >= 0 else len(chunk)
            state.header += chunk[:split]
            state.header_done = True
            for listener in state.listeners:
                listener.synced = True
                self._put(listener, bytes(state.header))
            return chunk[split:]
        # Ogg (Opus): the first two pages are the identification and comment headers.
        state.header += chunk
        pages = [i for i in range(len(state.header)) if state.header.startswith(_OGG_PAGE, i)]
        if len(pages) < 3 and len(state.header) < MAX_HEADER_BYTES:
            return b""
        split = pages[2] if len(pages) >= 3 else len(state.header)
        rest = bytes(state.header[split:])
        del state.header[split:]
        state.header_done = True
        for listener in state.listeners:
            listener.synced = True
            self._put(listener, bytes(state.header))
        return rest

    @staticmethod
    def _put(listener: _Listener, chunk: bytes | None) -> None:
        try:
            listener.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            listener.dropped += 1
            if chunk is None:  # make room for the end
                listener.queue.get_nowait()
                listener.queue.put_nowait(None)

    # --- listeners ---

    async def listen(self, mount: str) -> AsyncIterator[bytes]:
        """The stream of ``mount`` from now on (header first); ends when its source does."""
        if self.total_listeners() >= self.max_listeners:
            raise RelayFull(mount)
        listener = _Listener()
        state = self._mounts.get(mount)
        if state is None:
            self._waiting.setdefault(mount, set()).add(listener)
        else:
            state.listeners.add(listener)
            if state.header_done and state.header:
                listener.queue.put_nowait(bytes(state.header))
            elif _sync_marker(state.fmt) is None:
                listener.synced = True
        return self._drain(mount, listener)

    async def _drain(self, mount: str, listener: _Listener) -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await listener.queue.get()
                if chunk is None:
                    return
                yield chunk
        finally:
            state = self._mounts.get(mount)
            if state is not None:
                state.listeners.discard(listener)
            self._waiting.get(mount, set()).discard(listener)

"""The agent's HTTP side: the manifest sync (on ``state``, on every reconnect and every
``sync_interval_s``, with ETag) and the downloader (most urgent first, backoff, daily budget). What
they fetch becomes events for the device core (``feed``); which manifest is accepted and which audio
counts is the core's decision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from loa.agent.config import AgentConfig
from loa.agent.fetch import DataBudget, FetchError, ServerClient, backoff_delay
from loa.agent.player import now_ms
from loa.agent.storage import AudioCache
from loa.protocol.device import signals as s
from loa.protocol.device.core import DeviceCore
from loa.protocol.priority import Priority

log = logging.getLogger(__name__)

URGENT_PRIORITY = int(Priority.PRIORITY_BULLETIN)
# A manifest refused for one of these is refused again as long as the server offers it: its ETag is
# kept, so the server answers 304 and nothing is fetched, refused or reported again until it changes.
# (Any other refusal — a bad signature, perhaps altered in transit — is fetched again.)
SETTLED_REFUSALS = frozenset({"manifest_rollback", "wrong_device"})
IMMINENT_MS = 15 * 60 * 1000


class Transfers:
    def __init__(
        self,
        config: AgentConfig,
        cache: AudioCache,
        budget: DataBudget,
        *,
        core: Callable[[], DeviceCore],
        feed: Callable[[s.Event], None],
        on_manifest_accepted: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.cache = cache
        self.budget = budget
        self.core = core
        self.feed = feed
        self.on_manifest_accepted = on_manifest_accepted
        self.server: ServerClient | None = None
        self.device_id = ""
        self.manifest_etag: str | None = None
        self.sync_now = asyncio.Event()
        self.download_now = asyncio.Event()

    def connect(self, device_id: str, secret: str) -> None:
        self.device_id = device_id
        self.server = ServerClient(self.config.server_url, device_id, secret)

    async def aclose(self) -> None:
        if self.server is not None:
            await self.server.aclose()

    # --- the manifest --------------------------------------------------------------------------

    async def sync_loop(self) -> None:
        attempt = 0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.sync_interval_s):
                    await self.sync_now.wait()
            self.sync_now.clear()
            try:
                await self.sync_manifest()
                attempt = 0
            except FetchError as err:
                log.warning("manifest fetch failed: %s", err.code)
                await asyncio.sleep(backoff_delay(attempt, cap_s=self.config.reconnect_max_s))
                attempt += 1
                self.sync_now.set()

    async def sync_manifest(self) -> None:
        assert self.server is not None
        url = f"/api/v1/devices/{self.device_id}/manifest"
        try:
            response = await self.server.fetch_manifest_signed(url, self.manifest_etag)
        except FetchError as err:
            if err.code == "http_404":  # no schedule yet: the server answered all the same
                if self.on_manifest_accepted is not None:
                    self.on_manifest_accepted()
                return
            raise
        if response is None:
            return  # not modified
        body, signature, etag = response
        self.feed(s.ManifestFetched(body, signature))
        error = self.core().manifest_error  # None: accepted (a refusal names its reason)
        if error is None or error in SETTLED_REFUSALS:
            self.manifest_etag = etag
        if error is None and self.on_manifest_accepted is not None:
            self.on_manifest_accepted()

    # --- audio ---------------------------------------------------------------------------------

    async def download(self, sha256: str, *, urgent: bool) -> Path:
        """From the device's own server, by hash (never from a URL a message named)."""
        assert self.server is not None
        return await self.server.download(sha256, self.cache, self.budget, urgent=urgent)

    async def fetch_for_play_now(self, sha256: str) -> None:
        """A "play now" waits for its audio: fetched at once, and measured (the command carries no
        length)."""
        try:
            path = await self.download(sha256, urgent=True)
            duration = await asyncio.to_thread(audio_duration_ms, path)
        except FetchError as err:
            self.feed(s.AudioFailed(sha256, err.code))
            return
        self.feed(s.AudioReady(sha256, duration))

    async def download_loop(self) -> None:
        attempts: dict[str, int] = {}
        while True:
            self.download_now.clear()
            wait_s = 300.0
            tried: set[str] = set()  # once a pass: items sharing a file must not count one refusal twice
            # A tight data budget: the smaller rendition the manifest signed, where there is one.
            tight = self.budget.tight
            wanted: list[tuple[str, bool, str | None]] = [
                (
                    i.audio_sha256,
                    i.priority >= URGENT_PRIORITY or i.start_ms - now_ms() < IMMINENT_MS,
                    i.smaller_sha256 if tight else None,
                )
                for i in self.core().needed_audio(now_ms(), self.config.download_horizon_s * 1000)
            ]
            manifest = self.core().manifest
            # The pre-positioned clips (cache-only, for SMS triggers): after what is due, not urgent.
            wanted += [
                (c.audio.sha256, False, None) for c in (manifest.clips if manifest else ()) if c.audio.sha256
            ]
            for sha, urgent, smaller in wanted:
                if self.cache.has(sha) or sha in tried:
                    continue
                tried.add(sha)
                try:
                    if smaller is not None:
                        await self.download(smaller, urgent=urgent)
                        self.cache.alias(sha, smaller)
                    else:
                        await self.download(sha, urgent=urgent)
                    attempts.pop(sha, None)
                    self.feed(s.AudioReady(sha))
                except FetchError as err:
                    if err.code == "hash_mismatch":
                        self.feed(s.AudioFailed(sha, err.code))
                        continue
                    if err.code == "budget":
                        continue
                    n = attempts.get(sha, 0)
                    attempts[sha] = n + 1
                    wait_s = min(wait_s, backoff_delay(n, base_s=0.5, cap_s=self.config.reconnect_max_s))
            wait_s = min(wait_s, self._until_bad_audio_retry_s())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self.download_now.wait()

    def _until_bad_audio_retry_s(self) -> float:
        """Seconds until the core wants a refused file again (the server's copy may have been fixed;
        issue 21.5): without this wake the loop would sleep on past its backoff until a new manifest."""
        now = now_ms()
        retries = [at for _, at in self.core().bad_audio.values() if at > now]
        return (min(retries) - now) / 1000 if retries else float("inf")


def audio_duration_ms(path: Path) -> int:
    """Duration of a cached file: WAV by its header (stdlib), anything else through PyAV if present."""
    import wave

    try:
        with wave.open(str(path), "rb") as wav:
            return int(wav.getnframes() * 1000 / wav.getframerate())
    except (wave.Error, EOFError, OSError):
        pass
    try:
        import av
    except ImportError:
        return 60_000  # unknown: the sink stops at the end of the file anyway
    with av.open(str(path)) as container:
        if container.duration:
            return int(container.duration / 1000)
    return 60_000

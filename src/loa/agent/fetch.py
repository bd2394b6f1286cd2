"""HTTP to the server with the device's own credentials: the manifest (ETag, gzip) and audio files by
SHA-256 (resumed with HTTP Range after any interruption, verified before use), within a daily budget."""

from __future__ import annotations

import asyncio
import base64
import os
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from loa.agent.storage import AudioCache, HashMismatch, read_json, sha256_file, write_json

FSYNC_EVERY_BYTES = 1 << 20


class FetchError(Exception):
    """``code``: network | http_<status> | hash_mismatch | budget | too_large."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass
class ManifestResponse:
    body: bytes | None  # None: not modified
    etag: str | None
    signature: str | None = None


class DataBudget:
    """Bytes downloaded today and this month (device local date), persisted so a reboot does not
    reset them. ``tight``: today's use passed ``TIGHT_SHARE`` of the daily budget (the device then
    asks for the smaller rendition of audio, see ``loa.agent.transfers``)."""

    TIGHT_SHARE = 0.5

    def __init__(self, path: Path, daily_bytes: int | None) -> None:
        self.path = path
        self.daily_bytes = daily_bytes
        raw = read_json(path)
        raw = raw if isinstance(raw, dict) else {}
        self._day = str(date.today())
        self._month = self._day[:7]
        self.used = int(raw.get("used", 0)) if raw.get("day") == self._day else 0
        self.month_used = int(raw.get("month_used", 0)) if raw.get("month") == self._month else 0

    def _roll(self) -> None:
        today = str(date.today())
        if today != self._day:
            self._day, self.used = today, 0
        if today[:7] != self._month:
            self._month, self.month_used = today[:7], 0

    def allows(self, *, urgent: bool) -> bool:
        self._roll()
        return urgent or self.daily_bytes is None or self.used < self.daily_bytes

    @property
    def tight(self) -> bool:
        self._roll()
        return self.daily_bytes is not None and self.used >= self.daily_bytes * self.TIGHT_SHARE

    def spend(self, nbytes: int) -> None:
        self._roll()
        self.used += nbytes
        self.month_used += nbytes

    def save(self) -> None:
        write_json(
            self.path,
            {"day": self._day, "used": self.used, "month": self._month, "month_used": self.month_used},
        )


class ServerClient:
    def __init__(self, base_url: str, device_id: str, secret: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.device_id = device_id
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(device_id, secret),
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            headers={"User-Agent": "loa-agent/1"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch_manifest(self, url: str, etag: str | None) -> ManifestResponse:
        headers = {"Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        try:
            response = await self._client.get(url, headers=headers)
        except httpx.HTTPError as err:
            raise FetchError("network", str(err)) from err
        if response.status_code == 304:
            return ManifestResponse(None, etag)
        if response.status_code != 200:
            raise FetchError(f"http_{response.status_code}")
        return ManifestResponse(
            response.content, response.headers.get("etag"), response.headers.get("x-loa-signature")
        )

    async def fetch_sms_key(self) -> str:
        """This device's SMS trigger key (base64), for a device enrolled before keys existed."""
        try:
            response = await self._client.get(f"/api/v1/devices/{self.device_id}/sms-key")
        except httpx.HTTPError as err:
            raise FetchError("network", str(err)) from err
        if response.status_code != 200:
            raise FetchError(f"http_{response.status_code}")
        key = response.json().get("sms_key")
        if not isinstance(key, str):
            raise FetchError("invalid")
        return key

    async def fetch_manifest_signed(
        self, url: str, etag: str | None
    ) -> tuple[bytes, bytes, str | None] | None:
        """``(body, signature, etag)``, or None when not modified. The body is verified by the caller."""
        response = await self.fetch_manifest(url, etag)
        if response.body is None:
            return None
        raw_sig = response.signature or ""
        try:
            signature = base64.b64decode(raw_sig, validate=True)
        except ValueError:
            signature = b""
        return response.body, signature, response.etag

    def audio_url(self, sha256: str) -> str:
        return f"/api/v1/devices/{self.device_id}/audio/{sha256}"

    async def download(self, sha256: str, cache: AudioCache, budget: DataBudget, *, urgent: bool) -> Path:
        """Fetch one file into the cache, resuming a partial download; returns the verified path."""
        ready = cache.path(sha256)
        if ready is not None:
            return ready
        if not budget.allows(urgent=urgent):
            raise FetchError("budget")
        partial = cache.partial(sha256)
        offset = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            async with self._client.stream("GET", self.audio_url(sha256), headers=headers) as response:
                if response.status_code == 416:  # we already have it all (or the partial is junk)
                    return self._finish(sha256, cache)
                if response.status_code == 200:
                    offset = 0  # server ignored the range: start over
                elif response.status_code != 206:
                    raise FetchError(f"http_{response.status_code}")
                await self._write_stream(response, partial, offset, budget)
        except httpx.HTTPError as err:
            raise FetchError("network", str(err)) from err
        finally:
            budget.save()
        return self._finish(sha256, cache)

    async def download_release(
        self, sha256: str, filename: str, dest: Path, budget: DataBudget, *, max_bytes: int
    ) -> Path:
        """An agent release from the device's own server (never from a host a message named),
        resumed after an interruption, within the daily budget (an update is never urgent), and
        verified against ``sha256`` before it is renamed to ``dest``. A body longer than
        ``max_bytes`` is cut off there (``too_large``, the partial file removed)."""
        if not budget.allows(urgent=False):
            raise FetchError("budget")
        partial = dest.with_name(dest.name + ".partial")
        offset = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        url = f"/api/v1/devices/{self.device_id}/releases/{sha256}/{filename}"
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 200:
                    offset = 0
                elif response.status_code != 206 and response.status_code != 416:
                    raise FetchError(f"http_{response.status_code}")
                if response.status_code != 416:
                    await self._write_stream(response, partial, offset, budget, max_bytes=max_bytes)
        except httpx.HTTPError as err:
            raise FetchError("network", str(err)) from err
        except FetchError as err:
            if err.code == "too_large":
                partial.unlink(missing_ok=True)
            raise
        finally:
            budget.save()
        actual = sha256_file(partial)
        if actual != sha256:
            partial.unlink(missing_ok=True)
            raise FetchError("hash_mismatch", f"{actual} != {sha256}")
        os.replace(partial, dest)
        return dest

    @staticmethod
    async def _write_stream(
        response: httpx.Response,
        partial: Path,
        offset: int,
        budget: DataBudget,
        *,
        max_bytes: int | None = None,
    ) -> None:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as fh:
            fh.truncate(offset)
            fh.seek(offset)
            unsynced = 0
            size = offset
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    budget.spend(len(chunk))  # received, if not kept
                    raise FetchError("too_large", f"more than {max_bytes} bytes")
                fh.write(chunk)
                budget.spend(len(chunk))
                unsynced += len(chunk)
                if unsynced >= FSYNC_EVERY_BYTES:
                    fh.flush()
                    os.fsync(fh.fileno())
                    unsynced = 0
            fh.flush()
            os.fsync(fh.fileno())

    @staticmethod
    def _finish(sha256: str, cache: AudioCache) -> Path:
        try:
            return cache.commit(sha256)
        except HashMismatch as err:
            raise FetchError("hash_mismatch", str(err)) from err


def backoff_delay(attempt: int, *, base_s: float = 1.0, cap_s: float = 300.0) -> float:
    """Exponential backoff with full jitter (a fleet that lost the network must not return in step)."""
    return random.uniform(0, min(cap_s, base_s * (2**attempt)))


async def sleep_backoff(attempt: int, *, base_s: float = 1.0, cap_s: float = 300.0) -> None:
    await asyncio.sleep(backoff_delay(attempt, base_s=base_s, cap_s=cap_s))

"""Stream URLs a loudspeaker may open: one per device, mount and expiry, signed by the server.

A live broadcast or a relay (``AudioKind.STREAM`` manifest item) names an absolute HTTP(S) URL on Loa's
stream server (Icecast, or the relay built into Loa) with a token in the query::

    http://stream.example.vn:8000/live-21484?t=loa-0a1b2c3d4e5f.1765190400.Qm9ndXNNQUNfMTZi

``t`` = ``{device id}.{expiry, Unix seconds}.{MAC}``, MAC = the first 16 bytes of HMAC-SHA256 with the
server's stream key over ``"loa-stream/v1\\n{device}\\n{mount}\\n{expiry}"``, base64url without padding.
The mount (``live-21484``) is the last path segment of the URL: a token opens one mount only, for one
device, until its expiry. The stream server asks Loa (Icecast URL auth) or checks itself (the built-in
relay); nobody else can make a token. The expiry is derived from the item (its end plus a margin), so
the same item compiles to the same URL and an unchanged manifest stays unchanged.

Standard library only: the agent may import this module (it never needs to verify a token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

TOKEN_PARAM = "t"
MOUNT_PATTERN = re.compile(r"^(live|relay)-[A-Za-z0-9_]{1,40}$")
_DEVICE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAC_BYTES = 16
# What a loudspeaker must decode (PyAV/FFmpeg): the browser sends WebM/Opus, encoders Ogg/Opus or MP3.
STREAM_CONTENT_TYPES: dict[str, str] = {
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/mpeg": "mp3",
}


class StreamTokenError(ValueError):
    """A token that opens nothing. ``code`` is stable: ``malformed``, ``expired``, ``forged``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def token_key(secret: bytes) -> bytes:
    """The HMAC key of stream tokens, derived from a server secret (the manifest signing key's bytes),
    so no second secret has to be kept and rotated beside it."""
    return hashlib.sha256(b"loa-stream-token-key/v1\n" + secret).digest()


def live_mount(commune_code: str) -> str:
    return f"live-{commune_code}"


def relay_mount(commune_code: str) -> str:
    return f"relay-{commune_code}"


def _mac(key: bytes, device_id: str, mount: str, expires_s: int) -> str:
    message = f"loa-stream/v1\n{device_id}\n{mount}\n{expires_s}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(key: bytes, *, device_id: str, mount: str, expires_at: datetime) -> str:
    if not _DEVICE_PATTERN.match(device_id) or "." in device_id:
        raise ValueError("device id not allowed in a stream token")
    expires_s = int(expires_at.astimezone(UTC).timestamp())
    return f"{device_id}.{expires_s}.{_mac(key, device_id, mount, expires_s)}"


@dataclass(frozen=True)
class StreamGrant:
    device_id: str
    mount: str
    expires_at: datetime


def verify_token(key: bytes, token: str, *, mount: str, now: datetime) -> StreamGrant:
    """The grant a token carries for ``mount``, or ``StreamTokenError``."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not _DEVICE_PATTERN.match(parts[0]) or not parts[1].isdigit() or len(token) > 200:
        raise StreamTokenError("malformed")
    device_id, expires_raw, mac = parts
    expires_s = int(expires_raw)
    if not hmac.compare_digest(mac, _mac(key, device_id, mount, expires_s)):
        raise StreamTokenError("forged")
    expires_at = datetime.fromtimestamp(expires_s, UTC)
    if expires_at <= now:
        raise StreamTokenError("expired")
    return StreamGrant(device_id, mount, expires_at)


def with_token(url: str, token: str) -> str:
    """``url`` (a stream URL without a query) with the device's token."""
    return f"{url.split('?', 1)[0]}?{TOKEN_PARAM}={token}"


def mount_of(url: str) -> str:
    """The mount a stream URL or an Icecast request path names (its last path segment)."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def token_of(url: str) -> str:
    """The token of a stream URL ('' when it has none)."""
    values = parse_qs(urlsplit(url).query).get(TOKEN_PARAM, [])
    return values[0] if values else ""

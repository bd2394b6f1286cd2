"""A confirmation step kept by the server (issue 15, point 5): the first post of a consequential form
(an emergency alert, "play now" to several loudspeakers) only shows what will happen, with a token; the
second post acts only when it carries a token that matches the same person, purpose and content and is
at most ``TOKEN_TTL_S`` old. The token is an HMAC keyed by the application's secret, so a script cannot
skip the step by posting once, and a page left open for long, or changed, asks again."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping

TOKEN_TTL_S = 15 * 60


def _digest(content: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _mac(
    secret: str, purpose: str, username: str, issued_s: int, nonce: str, content: Mapping[str, object]
) -> str:
    message = json.dumps([purpose, username, issued_s, nonce, _digest(content)]).encode()
    key = hashlib.sha256(b"loa-confirm\0" + secret.encode()).digest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(
    secret: str, *, purpose: str, username: str, content: Mapping[str, object], now_s: int | None = None
) -> str:
    """A token saying ``username`` was shown ``content`` for ``purpose`` (e.g. ``"alert"``). Each
    confirmation step gets its own (a random nonce), so a caller that spends tokens once
    (``loa.alerts.confirm.spend``) tells two confirmations of the same content apart."""
    issued = int(time.time()) if now_s is None else now_s
    nonce = secrets.token_hex(8)
    return f"{issued}.{nonce}.{_mac(secret, purpose, username, issued, nonce, content)}"


def check(
    secret: str,
    token: str,
    *,
    purpose: str,
    username: str,
    content: Mapping[str, object],
    now_s: int | None = None,
) -> bool:
    """Whether ``token`` confirms exactly ``content`` for this person and purpose, and is fresh."""
    issued_raw, _, rest = (token or "").partition(".")
    nonce, _, mac = rest.partition(".")
    if not issued_raw.isdigit() or not nonce or not mac:
        return False
    issued = int(issued_raw)
    now = int(time.time()) if now_s is None else now_s
    if not 0 <= now - issued <= TOKEN_TTL_S:
        return False
    return hmac.compare_digest(mac, _mac(secret, purpose, username, issued, nonce, content))

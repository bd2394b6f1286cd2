"""The client's address and scheme behind reverse proxies, trusted only when configured.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are headers anyone can send: believed from anyone, they
would let an attacker choose the address that login throttling and the audit log see. They count only
when the connection comes from a network listed in ``LOA_TRUSTED_PROXIES`` (uvicorn's own proxy
handling is switched off by ``loa serve`` so that this setting is the one authority).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(raw: str | Sequence[str]) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` (or a list) → networks; ValueError names a bad entry."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return tuple(out)


def _address(raw: str) -> Address | None:
    text = raw.strip()
    if text.startswith("["):  # "[2001:db8::5]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "203.0.113.9:443"
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client as the nearest untrusted hop: walk ``X-Forwarded-For`` from the right (each proxy
    appends the address it saw) while the hops are our proxies. The leftmost entries are whatever the
    client wrote, so they never count past an untrusted hop."""
    if not forwarded_for or not _trusted(_address(peer), trusted):
        return peer
    nearest = peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            return nearest  # garbage appended by our own proxy: nothing beyond it can be believed
        nearest = str(address)
        if not _trusted(address, trusted):
            return nearest
    return nearest


def forwarded_scheme(scheme: str, forwarded_proto: str | None) -> str:
    """The scheme our (trusted) proxy saw: the last value it set, if it is http or https."""
    if not forwarded_proto:
        return scheme
    last = forwarded_proto.split(",")[-1].strip().lower()
    return last if last in ("http", "https") else scheme


class TrustedProxyMiddleware:
    """Rewrites the ASGI scope's client and scheme from the forwarding headers of trusted proxies,
    so every part of the app (throttling, audit, Secure cookies) sees the same answer."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer, port = scope["client"]
            if _trusted(_address(peer), self.trusted):
                headers = _headers(scope)
                scope = dict(scope)
                host = client_address(peer, headers.get("x-forwarded-for"), self.trusted)
                scope["client"] = (host, port if host == peer else 0)
                scheme = forwarded_scheme(scope.get("scheme", "http"), headers.get("x-forwarded-proto"))
                if scope["type"] == "websocket":
                    scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
                scope["scheme"] = scheme
        await self.app(scope, receive, send)


def _headers(scope: dict[str, Any] | Scope) -> dict[str, str]:
    """Header values by lower-case name; repeated headers are joined with commas (RFC 9110 5.3)."""
    out: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out

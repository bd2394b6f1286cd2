"""Where the relay puller may connect. An editor types a relay's outside URL and the server fetches it,
so a URL is a request made from inside the server's network (SSRF): it must not reach the server
itself, the province's private network or a cloud's metadata service.

A URL is refused unless it is ``http``/``https`` and every address its host resolves to is public —
not loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local and
metadata (169.254/16, fe80::/10), shared (100.64/10), multicast, reserved or unspecified; IPv4 inside
IPv6 (``::ffff:``, 6to4, NAT64) is judged as the IPv4 it carries. A host named in
``LOA_RELAY_ALLOWED_HOSTS`` (e.g. the province station's relay on its own network) is let through.

The check runs when the relay is scheduled (the editor sees why at once) and again when the puller
connects, at each redirect it follows, and on the address it actually connected to (a name's DNS
answer may change between the two).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from loa.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
AUDIO_TYPES = ("audio/", "application/ogg")
INTERNAL_ADVICE = "; chỉ tiếp sóng từ địa chỉ công cộng hoặc máy chủ được quản trị viên cho phép"


class RelayUrlRefused(InvalidInput):
    """A relay URL Loa will not fetch; ``why`` is the short Vietnamese reason."""

    def __init__(self, why: str, advice: str = "") -> None:
        super().__init__(f"Không dùng được địa chỉ luồng tiếp sóng này: {why}{advice}.", code="relay_url")
        self.why = why


def allowed_hosts(raw: str) -> frozenset[str]:
    """``LOA_RELAY_ALLOWED_HOSTS``: comma-separated host names or addresses (any case, [::1] or ::1)."""
    return frozenset(h.strip().strip("[]").lower() for h in raw.split(",") if h.strip())


def forbidden(address: Address) -> bool:
    """True for an address the puller must not reach (see the module's docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return forbidden(inner)
    return (
        not address.is_global
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
    )


def check_url(url: str, *, allowed: Collection[str], resolve: bool = True, strict: bool = True) -> str:
    """The URL's host, if Loa may fetch ``url``; else ``RelayUrlRefused``. ``strict`` False (when the
    relay is scheduled): a name that does not resolve yet is let through — it is checked again when
    the puller connects, where one that does not resolve is refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise RelayUrlRefused("địa chỉ không hợp lệ") from err
    if parts.scheme not in ("http", "https"):
        raise RelayUrlRefused("địa chỉ phải bắt đầu bằng http:// hoặc https://")
    host = (parts.hostname or "").lower()
    if not host:
        raise RelayUrlRefused("thiếu tên máy chủ")
    if host in allowed:
        return host
    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return host
        try:
            found = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as err:
            if strict:
                raise RelayUrlRefused(f"không tìm được máy chủ {host}") from err
            return host
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    for address in addresses:
        if forbidden(address):
            raise RelayUrlRefused(f"máy chủ {host} ở mạng nội bộ ({address})", INTERNAL_ADVICE)
    return host


def check_peer(host: str, peer: str | None, *, allowed: Collection[str]) -> None:
    """The address the puller actually connected to (``peer``) for ``host``: refused if forbidden."""
    if host in allowed or peer is None:
        return
    try:
        address = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return
    if forbidden(address):
        raise RelayUrlRefused(f"máy chủ {host} trỏ vào mạng nội bộ ({address})", INTERNAL_ADVICE)


def is_audio(content_type: str) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return base.startswith(AUDIO_TYPES[0]) or base == AUDIO_TYPES[1]

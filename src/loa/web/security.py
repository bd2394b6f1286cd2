"""Security headers on every response, and Secure cookies over HTTPS.

The policy (docs/security.md): scripts only from Loa's own files (no inline script, no eval: the
templates use ``data-*`` attributes that ``/static/loa.js`` acts on), never framed by another site,
no MIME sniffing, and the path of a page not leaked to other sites. Inline *styles* stay allowed:
the pages use ``<style>`` blocks and computed widths, and a style cannot run code.

``SecurityHeadersMiddleware`` adds the headers to every response that passes through the app's
middleware, static files and error pages included; the handler of unexpected errors (which runs
outside all middleware) adds ``SECURITY_HEADERS`` itself.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMG_SRC = "img-src 'self' data: blob:"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        IMG_SRC,
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def policy_with_images_from(origin: str) -> str:
    """The policy, also allowing images from ``origin`` (``https://tiles.example.gov.vn``): the map's
    page sets it when the province's tile server is another host (``LOA_MAP_TILE_URL``)."""
    return CONTENT_SECURITY_POLICY.replace(IMG_SRC, f"{IMG_SRC} {origin}")


SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), payment=(), usb=()",
}


def secure_cookie(value: str) -> str:
    """A ``Set-Cookie`` value with the Secure attribute (added once)."""
    attributes = [part.strip().lower() for part in value.split(";")[1:]]
    return value if "secure" in attributes else f"{value}; Secure"


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` (unless a route set its own value) and marks cookies Secure when
    the request came over HTTPS (the scheme as ``loa.web.proxies`` settled it) or ``always_secure``."""

    def __init__(self, app: ASGIApp, *, always_secure: bool = False) -> None:
        self.app = app
        self.always_secure = always_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self.always_secure or scope.get("scheme") == "https"

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if secure:
                    cookies = headers.getlist("set-cookie")
                    if cookies:
                        del headers["set-cookie"]
                        for cookie in cookies:
                            headers.append("set-cookie", secure_cookie(cookie))
            await send(message)

        await self.app(scope, receive, send_hardened)

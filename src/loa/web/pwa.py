"""The installable app (PWA): the web app manifest, the service worker and the offline page.

* ``/manifest.webmanifest``: the Vietnamese name, the icons (PNG, drawn by ``tools/make_icons.py``
  and checked in), standalone display.
* ``/sw.js``: the service worker, served from the site's root so that it controls every page. Its
  cache is named after a hash of the files it keeps, so a change to any of them installs a new
  worker and the old caches are deleted (``SW_SOURCE`` says how).
* ``/offline``: the page shown when the network is gone. It holds no personal data and no form, so
  it may be kept in the browser's cache; nothing else the server sends is ever kept there (no page
  of a signed-in person, no API answer).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from loa.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
SW_SOURCE = STATIC / "sw.js"
# What the worker keeps (also sw.js's SHELL list; tests/browser/test_phone.py checks that the
# browser's cache holds exactly these): the offline page and what it shows.
SHELL = ("/offline", "/static/loa.css", "/static/favicon.svg", "/static/icons/icon-192.png")
THEME = "#b3261e"

MANIFEST = {
    "name": "Loa — Hệ thống thông tin cơ sở",
    "short_name": "Loa",
    "description": "Phát thanh, cảnh báo khẩn cấp và theo dõi cụm loa của xã, phường.",
    "lang": "vi",
    "dir": "ltr",
    "id": "/",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "orientation": "any",
    "background_color": "#f6f7f9",
    "theme_color": THEME,
    "icons": [
        {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {
            "src": "/static/icons/icon-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
    "shortcuts": [
        {"name": "Cụm loa", "short_name": "Cụm loa", "url": "/fleet"},
        {"name": "Cảnh báo khẩn cấp", "short_name": "Cảnh báo", "url": "/alerts"},
    ],
}


@functools.cache
def cache_version() -> str:
    """A hash of the worker and the static files it keeps (the page itself is a template: its file
    counts too)."""
    digest = hashlib.sha256(SW_SOURCE.read_bytes())
    for path in (STATIC / "loa.css", STATIC / "favicon.svg", STATIC / "icons" / "icon-192.png"):
        digest.update(path.read_bytes())
    digest.update((Path(__file__).parent / "templates" / "offline.html").read_bytes())
    return digest.hexdigest()[:12]


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    return JSONResponse(MANIFEST, media_type="application/manifest+json")


@router.get("/sw.js")
def service_worker() -> Response:
    """The worker with its cache version filled in; never cached by HTTP, so an update is seen at the
    next visit."""
    body = SW_SOURCE.read_text("utf-8").replace("__CACHE_VERSION__", cache_version())
    return Response(
        body,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/offline")
def offline(request: Request) -> Response:
    """The same for everyone (no session read): safe to keep in the browser's cache."""
    response = render(request, "offline.html", {})
    response.headers["Cache-Control"] = "no-cache"
    return response

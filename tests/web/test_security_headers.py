"""Headers and policies on every response (issue 20, point 10): a content security policy without
inline script, no framing, no MIME sniffing, a referrer policy; Secure cookies over HTTPS; Swagger UI
served from Loa itself, not a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from loa.app import create_app
from loa.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src" / "loa"


def csp(response_headers: object) -> dict[str, list[str]]:
    raw = response_headers["content-security-policy"]  # type: ignore[index]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in raw.split(";")) if d}


def assert_hardened(response: object, what: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", what
    assert headers.get("x-frame-options") == "DENY", what
    policy = csp(headers)
    assert policy["frame-ancestors"] == ["'none'"], what
    assert policy["script-src"] == ["'self'"], what
    assert policy["object-src"] == ["'none'"], what
    assert "'unsafe-inline'" not in policy["default-src"], what


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/",  # a redirect
        "/api/v1/me",  # a problem+json 401
        "/khong-co-trang-nay",  # the HTML 404 page
        "/api/v1/khong-co",  # the JSON 404
        "/static/loa.css",
        "/api/v1/openapi.json",
        "/api/docs",
        "/healthz",
    ],
)
def test_every_response_is_hardened(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert_hardened(response, path)


def test_server_errors_are_hardened_too(settings: Settings, engine: Engine) -> None:
    app = create_app(settings, engine=engine)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
        assert response.status_code == 500
        assert_hardened(response, "500")


def test_swagger_ui_is_served_locally(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert "Loa API" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert_hardened(got, asset)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)


def test_templates_carry_no_inline_script() -> None:
    """CSP refuses inline script and event handler attributes: none may be written in a template."""
    offenders = []
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(str(template.relative_to(SRC)))
    assert offenders == []


def session_cookie(client: TestClient, **headers: str) -> str:
    """The session cookie a first visit to the login page sets (the client must not have one yet)."""
    client.cookies.clear()
    response = client.get("/login", headers=headers)
    cookie: str = response.headers["set-cookie"]
    assert cookie.startswith("loa_session=")
    return cookie.lower()


def test_cookies_are_secure_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        assert "; secure" in session_cookie(client)
    with TestClient(app) as client:
        assert "; secure" not in session_cookie(client)
        # A forwarded scheme from someone who is not a trusted proxy changes nothing.
        assert "; secure" not in session_cookie(client, **{"X-Forwarded-Proto": "https"})


def test_cookies_are_secure_behind_a_trusted_proxy(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(demo=True, data_dir=tmp_path, trusted_proxies="10.0.0.0/8")  # type: ignore[arg-type]
    with TestClient(create_app(settings, engine=engine), client=("10.1.2.3", 5000)) as client:
        assert "; secure" in session_cookie(client, **{"X-Forwarded-Proto": "https"})
        assert "; secure" not in session_cookie(client, **{"X-Forwarded-Proto": "http"})


def test_cookies_can_be_forced_secure(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(demo=True, data_dir=tmp_path, secure_cookies=True)  # type: ignore[arg-type]
    with TestClient(create_app(settings, engine=engine)) as client:
        assert "; secure" in session_cookie(client)

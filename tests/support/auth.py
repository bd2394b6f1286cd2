"""Test helpers for signing in, used by every domain's tests.

``make_user`` goes through the real ``loa.accounts.service.create_user`` (validation, password hashing,
area scopes, audit event) but does not commit: the caller commits (``session.commit()``) before an
HTTP client can see the user. ``bearer`` gets a token through the real ``POST /api/v1/auth/token``;
``login_web`` signs a TestClient in through the real login form and returns its CSRF token.

Importing this module switches Argon2 to its cheapest parameters (same code path, ~1 ms instead of
~100 ms per hash) so suites that sign many users in stay fast; production uses the library default.
"""

from __future__ import annotations

from argon2.profiles import CHEAPEST
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.passwords import use_parameters
from loa.accounts.principal import Role
from loa.accounts.service import create_user

DEFAULT_PASSWORD = "mat-khau-đủ-dài-123"

use_parameters(CHEAPEST)


def make_user(
    session: Session,
    username: str,
    role: Role | str,
    area_code: str | None = None,
    password: str = DEFAULT_PASSWORD,
    *,
    display_name: str | None = None,
    area_codes: tuple[str, ...] = (),
) -> User:
    """Create a user scoped to ``area_code`` (and/or several ``area_codes``; the units must exist).
    Flushed, not committed."""
    codes = ((area_code,) if area_code else ()) + tuple(area_codes)
    return create_user(
        session,
        username=username,
        password=password,
        role=Role(role),
        display_name=display_name,
        area_codes=codes,
    )


def bearer(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    """``{"Authorization": "Bearer …"}`` for ``username``, via the real token endpoint."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from the page's ``<meta name="csrf-token">``."""
    html: str = client.get(path).text
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def login_web(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """Sign ``client`` in through the real login form (session cookie); returns the new CSRF token
    for later form posts (``data={"csrf_token": …}``) or HTMX-style ``X-CSRF-Token`` headers."""
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_token(client, "/")

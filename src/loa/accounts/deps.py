"""Who is calling: FastAPI dependencies for every domain's routes.

- ``ApiPrincipal``: ``Authorization: Bearer <token>`` or the web session cookie, else 401 problem+json.
  Cookie-authenticated unsafe requests (POST/PUT/PATCH/DELETE) must carry ``X-CSRF-Token``.
- ``WebPrincipal``: the session cookie, else a 303 redirect to ``/login?next=<path>``.
- ``OptionalWebPrincipal``: the signed-in principal or None (e.g. the login page).
- ``CsrfProtected``: for HTML form posts; the token from the session must come back in the form
  field ``csrf_token`` or the ``X-CSRF-Token`` header (loa.js adds it to HTMX requests).

Each sets ``request.state.principal`` so the base layout shows who is signed in. The session cookie is
Starlette's signed cookie and holds a session token (``loa.accounts.sessions``: revocable on the
server), the user's ``session_version`` and the CSRF token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import RedirectResponse, Response

from loa.accounts import sessions
from loa.accounts.auth import LoginThrottled, resolve_token
from loa.accounts.logic import new_csrf_token
from loa.accounts.models import ApiToken, User
from loa.accounts.principal import Principal
from loa.accounts.service import principal_for
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, PermissionDenied
from loa.settings import Settings
from loa.web.deps import SessionDep
from loa.web.errors import respond

__all__ = [
    "ApiPrincipal",
    "CsrfProtected",
    "OptionalWebPrincipal",
    "WebPrincipal",
    "client_ip",
    "csrf_valid",
    "end_web_session",
    "ensure_csrf_token",
    "install_auth_handlers",
    "require_csrf",
    "safe_next_path",
    "start_web_session",
]

log = logging.getLogger(__name__)

SESSION_TOKEN = "sid"
SESSION_VERSION = "sv"
SESSION_CSRF = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
CSRF_FAILED = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và thử lại."


class LoginRequired(AuthenticationFailed):
    """Raised by ``WebPrincipal``; turned into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__()


def client_ip(request: Request) -> str:
    """The client's address (behind trusted proxies: the one they forwarded, loa.web.proxies)."""
    return request.client.host if request.client else ""


def safe_next_path(raw: str | None) -> str:
    """A local path to return to after login; anything else (other hosts, ``//x``, ``\\x``) → ``/``."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in raw):
        return "/"
    return raw


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session[SESSION_CSRF] = token
    return token


def _max_idle_s(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.session_max_age_s


def start_web_session(request: Request, db: Session, user: User) -> None:
    """Sign ``user`` in on this browser: a fresh server-side session (and CSRF token) against session
    fixation. The caller commits."""
    token = sessions.open_session(db, user=user, ip=client_ip(request), max_idle_s=_max_idle_s(request))
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    request.session[SESSION_VERSION] = user.session_version
    request.session[SESSION_CSRF] = new_csrf_token()


def end_web_session(request: Request, db: Session | None = None) -> None:
    """Forget the session in this browser and, given the database, revoke it on the server (so a
    copy of the cookie stops working too). The caller commits."""
    token = request.session.get(SESSION_TOKEN)
    if db is not None and isinstance(token, str):
        sessions.revoke_session(db, token)
    request.session.clear()
    request.session[SESSION_CSRF] = new_csrf_token()


def _session_principal(request: Request, db: Session) -> Principal | None:
    token = request.session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    live = sessions.resolve_session(
        db, token, version=request.session.get(SESSION_VERSION), max_idle_s=_max_idle_s(request)
    )
    if live is None:
        # Signed out, revoked, idle too long, or the user changed since: sign out here too.
        end_web_session(request)
        return None
    now = utcnow()
    if sessions.needs_touch(live.row, now):
        _in_own_transaction(request, lambda s: sessions.touch(s, live.row.id, now), "web session")
    return principal_for(db, live.user)


def csrf_valid(request: Request, supplied: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    return bool(
        isinstance(expected, str)
        and expected
        and supplied
        and hmac.compare_digest(expected.encode(), supplied.encode())
    )


def require_csrf(request: Request, supplied: str | None) -> None:
    if not csrf_valid(request, supplied):
        raise PermissionDenied(CSRF_FAILED, code="csrf_failed")


def _in_own_transaction(request: Request, work: Callable[[Session], None], what: str) -> None:
    """Bookkeeping in its own transaction (GET handlers never commit); never fails the request."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        with factory() as s, s.begin():
            work(s)
    except Exception:
        log.warning("could not record use of %s", what, exc_info=True)


def _touch_token(request: Request, row: ApiToken) -> None:
    """Record token use at most once a minute."""
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < TOKEN_TOUCH_INTERVAL:
        return

    def work(s: Session) -> None:
        token = s.get(ApiToken, row.id)
        if token is not None:
            token.last_used_at = now

    _in_own_transaction(request, work, f"API token {row.id}")


def get_api_principal(request: Request, db: SessionDep) -> Principal:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed(
                "Tiêu đề Authorization phải có dạng «Bearer <mã truy cập>».", code="invalid_token"
            )
        user, row = resolve_token(db, token.strip())
        _touch_token(request, row)
        principal = principal_for(db, user)
    else:
        found = _session_principal(request, db) if "session" in request.scope else None
        if found is None:
            raise AuthenticationFailed()
        if request.method not in SAFE_METHODS:
            require_csrf(request, request.headers.get("x-csrf-token"))
        principal = found
    request.state.principal = principal
    return principal


def get_web_principal(request: Request, db: SessionDep) -> Principal:
    principal = _session_principal(request, db)
    if principal is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query if request.method == "GET" else "/")
    ensure_csrf_token(request)
    request.state.principal = principal
    return principal


def get_optional_web_principal(request: Request, db: SessionDep) -> Principal | None:
    principal = _session_principal(request, db)
    request.state.principal = principal
    return principal


async def check_csrf(request: Request) -> None:
    supplied = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if not supplied and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        supplied = value if isinstance(value, str) else None
    require_csrf(request, supplied)


ApiPrincipal = Annotated[Principal, Depends(get_api_principal)]
WebPrincipal = Annotated[Principal, Depends(get_web_principal)]
OptionalWebPrincipal = Annotated[Principal | None, Depends(get_optional_web_principal)]
CsrfProtected = Annotated[None, Depends(check_csrf)]


def install_auth_handlers(app: FastAPI) -> None:
    """Called by ``create_app``: login redirects and the Retry-After header of throttled logins."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path, safe='/')}"
        if request.headers.get("HX-Request") == "true":
            # HTMX would swap a redirected login page into a fragment; ask it to navigate instead.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(LoginThrottled)
    async def _throttled(request: Request, exc: LoginThrottled) -> Response:
        response = respond(request, exc.status, exc.code, exc.message, exc.details)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

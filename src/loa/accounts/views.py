"""HTML pages of accounts: sign in and out, and one's own password. The administration of users (their
roles and areas, chosen by name) is ``loa.users.views``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from loa.accounts import audit, service
from loa.accounts.api import login_policy
from loa.accounts.auth import LoginThrottled, authenticate
from loa.accounts.deps import (
    CsrfProtected,
    OptionalWebPrincipal,
    WebPrincipal,
    client_ip,
    csrf_valid,
    end_web_session,
    ensure_csrf_token,
    require_csrf,
    safe_next_path,
    start_web_session,
)
from loa.accounts.logic import PASSWORD_MIN_CHARS
from loa.accounts.passwords import verify_password
from loa.errors import AuthenticationFailed, LoaError
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "flash"
SESSION_EXPIRED = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."

FormStr = Annotated[str, Form()]


_flash, _pop_flash = flash_pair(FLASH)


def _login_page(
    request: Request, *, next_path: str, username: str = "", error: str | None = None, status: int = 200
) -> Response:
    ensure_csrf_token(request)
    return render(
        request,
        "accounts/login.html",
        {"next": next_path, "username": username, "error": error, "flash": _pop_flash(request)},
        status_code=status,
    )


@router.get("/login")
def login_form(request: Request, principal: OptionalWebPrincipal, next: str | None = None) -> Response:
    next_path = safe_next_path(next)
    if principal is not None:
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, next_path=next_path)


@router.post("/login")
def login_submit(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    username: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
    csrf_token: FormStr = "",
) -> Response:
    next_path = safe_next_path(next)
    if not csrf_valid(request, csrf_token):
        return _login_page(request, next_path=next_path, username=username, error=SESSION_EXPIRED, status=403)
    if not username.strip() or not password:
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error="Vui lòng nhập tên đăng nhập và mật khẩu.",
            status=422,
        )
    try:
        user = authenticate(
            db,
            username=username,
            password=password,
            ip=client_ip(request),
            policy=login_policy(settings),
            via="web",
        )
    except LoginThrottled as err:
        response = _login_page(
            request, next_path=next_path, username=username, error=err.message, status=err.status
        )
        response.headers["Retry-After"] = str(err.retry_after_s)
        return response
    except AuthenticationFailed as err:
        db.commit()  # keep the failed attempt: it is what throttling counts
        return _login_page(request, next_path=next_path, username=username, error=err.message, status=401)
    start_web_session(request, db, user)
    db.commit()
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
async def logout(request: Request, principal: OptionalWebPrincipal, db: SessionDep) -> Response:
    if principal is not None:
        # Checked here rather than with CsrfProtected: a visitor already signed out just goes to /login.
        form = await request.form()
        supplied = request.headers.get("x-csrf-token") or form.get("csrf_token")
        require_csrf(request, supplied if isinstance(supplied, str) else None)
        audit.record(db, action="auth.logout", actor=principal, ip=client_ip(request))
        end_web_session(request, db)  # revoked on the server: a copy of the cookie stops working too
        db.commit()
    else:
        end_web_session(request)
    _flash(request, "Bạn đã đăng xuất.")
    return RedirectResponse("/login", status_code=303)


def _password_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    return render(
        request,
        "accounts/password.html",
        {"password_min": PASSWORD_MIN_CHARS, "error": error, "flash": _pop_flash(request)},
        status_code=status,
    )


@router.get("/account/password")
def own_password_form(request: Request, principal: WebPrincipal) -> Response:
    return _password_page(request)


@router.post("/account/password")
def own_password_change(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
    confirm_password: FormStr = "",
) -> Response:
    """Change one's own password; other browsers and API tokens are signed out, this one stays."""
    user = service.get_user(db, principal.user_id)
    if not verify_password(user.password_hash, current_password):
        return _password_page(request, error="Mật khẩu hiện tại không đúng.", status=422)
    if new_password != confirm_password:
        return _password_page(request, error="Hai lần nhập mật khẩu mới không khớp.", status=422)
    try:
        service.set_password(
            db,
            user=user,
            password=new_password,
            actor=service.Actor(principal=principal, ip=client_ip(request)),
        )
    except LoaError as err:
        db.rollback()
        return _password_page(request, error=err.message, status=err.status)
    start_web_session(request, db, user)
    db.commit()
    _flash(request, "Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.")
    return RedirectResponse("/account/password", status_code=303)

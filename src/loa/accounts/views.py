"""HTML pages of accounts: sign in/out, user administration and the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
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
from loa.accounts.logic import PASSWORD_MIN_CHARS, format_vietnam_time, parse_role
from loa.accounts.models import User
from loa.accounts.passwords import verify_password
from loa.accounts.principal import ROLES, Permission, Principal
from loa.accounts.scope import require
from loa.areas import picker
from loa.errors import AuthenticationFailed, LoaError
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "flash"
SESSION_EXPIRED = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."

FormStr = Annotated[str, Form()]
AreaList = Annotated[list[str] | None, Form()]


_flash, _pop_flash = flash_pair(FLASH)


def _split_codes(raw: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", raw) if c]


def _area_codes(db: Session, principal: Principal, chosen: list[str] | None, typed: str) -> list[str]:
    """The areas chosen in the combobox (one field per choice; a comma-separated list also reads), and
    without JavaScript the one name typed."""
    codes = _split_codes(",".join(chosen or []))
    if typed.strip():
        unit = picker.resolve(db, principal, code="", text=typed, kinds=picker.kinds_of(()))
        codes.append(unit.code)
    return list(dict.fromkeys(codes))


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


def _users_context(db: SessionDep, principal: Principal) -> dict[str, Any]:
    users = service.list_users(db, principal=principal)
    return {
        "active_nav": "users",
        "rows": [(u, service.user_units(db, u)) for u in users],
        "roles": ROLES,
        "password_min": PASSWORD_MIN_CHARS,
        "when": format_vietnam_time,
        "chips_of": lambda codes: sorted(picker.chosen_labels(db, _split_codes(codes or "")).items()),
    }


@router.get("/users")
def users_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.MANAGE_USERS)
    ctx = _users_context(db, principal)
    return render(request, "accounts/users.html", {**ctx, "form": {}, "flash": _pop_flash(request)})


@router.post("/users")
def users_create(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    username: FormStr = "",
    display_name: FormStr = "",
    password: FormStr = "",
    role: FormStr = "",
    areas: AreaList = None,
    areas_text: FormStr = "",
) -> Response:
    require(principal, Permission.MANAGE_USERS)
    form = {"username": username, "display_name": display_name, "role": role, "areas": ",".join(areas or [])}
    try:
        codes = _area_codes(db, principal, areas, areas_text)
        form["areas"] = ",".join(codes)
        user = service.create_user(
            db,
            username=username,
            password=password,
            role=parse_role(role),
            display_name=display_name or None,
            area_codes=codes,
            actor=service.Actor(principal=principal, ip=client_ip(request)),
        )
    except LoaError as err:
        db.rollback()
        ctx = _users_context(db, principal)
        return render(
            request,
            "accounts/users.html",
            {**ctx, "form": form, "error": err.message},
            status_code=err.status,
        )
    db.commit()
    _flash(request, f"Đã tạo người dùng «{user.username}».")
    return RedirectResponse("/users", status_code=303)


def _user_page(
    request: Request, db: SessionDep, user: User, *, error: str | None = None, status: int = 200
) -> Response:
    units = service.user_units(db, user)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "active_nav": "users",
            "user": user,
            "units": units,
            "area_chips": sorted(picker.chosen_labels(db, [u.code for u in units]).items()),
            "roles": ROLES,
            "password_min": PASSWORD_MIN_CHARS,
            "when": format_vietnam_time,
            "error": error,
            "flash": _pop_flash(request),
        },
        status_code=status,
    )


@router.get("/users/{user_id}")
def user_detail(request: Request, user_id: int, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.MANAGE_USERS)
    return _user_page(request, db, service.get_user(db, user_id))


def _user_change(
    request: Request, db: SessionDep, principal: Principal, user_id: int, change: Any, done: str
) -> Response:
    """Run one audited change on a user, then redirect (or show the page again with the error)."""
    require(principal, Permission.MANAGE_USERS)
    user = service.get_user(db, user_id)
    actor = service.Actor(principal=principal, ip=client_ip(request))
    try:
        change(user, actor)
    except LoaError as err:
        db.rollback()
        return _user_page(request, db, service.get_user(db, user_id), error=err.message, status=err.status)
    db.commit()
    _flash(request, done)
    return RedirectResponse(f"/users/{user_id}", status_code=303)


@router.post("/users/{user_id}/role")
def user_role(
    request: Request,
    user_id: int,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    role: FormStr = "",
    areas: AreaList = None,
    areas_text: FormStr = "",
) -> Response:
    def change(user: User, actor: service.Actor) -> None:
        codes = _area_codes(db, principal, areas, areas_text)
        service.change_role(db, user=user, role=parse_role(role), area_codes=codes, actor=actor)

    return _user_change(request, db, principal, user_id, change, "Đã cập nhật vai trò và địa bàn.")


@router.post("/users/{user_id}/active")
def user_active(
    request: Request,
    user_id: int,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    active: FormStr = "0",
) -> Response:
    wanted = active == "1"

    def change(user: User, actor: service.Actor) -> None:
        service.set_active(db, user=user, active=wanted, actor=actor)

    done = "Đã mở khóa tài khoản." if wanted else "Đã khóa tài khoản."
    return _user_change(request, db, principal, user_id, change, done)


@router.post("/users/{user_id}/password")
def user_password(
    request: Request,
    user_id: int,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    password: FormStr = "",
) -> Response:
    def change(user: User, actor: service.Actor) -> None:
        service.set_password(db, user=user, password=password, actor=actor)

    return _user_change(request, db, principal, user_id, change, "Đã đặt mật khẩu mới.")


@router.post("/users/{user_id}/sessions/revoke")
def user_sessions_revoke(
    request: Request, user_id: int, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    def change(user: User, actor: service.Actor) -> None:
        service.sign_out_everywhere(db, user=user, actor=actor)

    done = "Đã đăng xuất người dùng khỏi mọi phiên và thu hồi mọi mã truy cập API."
    return _user_change(request, db, principal, user_id, change, done)


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

"""The administration of users: the list, a new user, a user's page with their role and areas (chosen
by name through ``loa.areas.picker``), locking, a new password and signing out everywhere. Each change
goes through ``loa.accounts.service`` (validated as a pair of role and areas, audited).

It sits above both ``accounts`` and ``areas``: people are scoped to units (``accounts``), and the areas
are chosen with the area picker, which asks who is acting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts import service
from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.logic import PASSWORD_MIN_CHARS, format_vietnam_time, parse_role
from loa.accounts.models import User
from loa.accounts.principal import ROLES, Permission, Principal
from loa.accounts.scope import require
from loa.areas import picker
from loa.errors import LoaError
from loa.web.deps import SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "flash"  # the same key as the sign-in pages: one flash per browser session

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
    return render(request, "users/users.html", {**ctx, "form": {}, "flash": _pop_flash(request)})


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
            "users/users.html",
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
        "users/user_detail.html",
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

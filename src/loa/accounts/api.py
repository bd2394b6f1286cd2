"""JSON routes of accounts: tokens, the current user, users (administrators) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from loa.accounts import audit, service
from loa.accounts.auth import LoginPolicy, authenticate, issue_token, revoke_token
from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.logic import as_vietnam_time, parse_role
from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.errors import AuthenticationFailed
from loa.settings import Settings
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class TokenRequest(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class AreaOut(BaseModel):
    id: int
    code: str
    name: str
    path: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    permissions: list[str]
    areas: list[AreaOut]
    scope_label: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    active: bool
    areas: list[str]
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: str
    display_name: str | None = Field(default=None, max_length=200)
    areas: list[str] = Field(default_factory=list, max_length=50)


class UserUpdate(BaseModel):
    role: str | None = None
    areas: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_name: str
    action: str
    action_label: str
    target_type: str
    target_id: str
    area_id: int | None
    details: dict[str, Any]
    ip: str


class AuditPageOut(BaseModel):
    items: list[AuditEventOut]
    total: int
    page: int
    per_page: int


def login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_s,
        max_delay_s=settings.login_max_delay_s,
    )


def _user_out(db: SessionDep, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        role_label=service.role_label(user.role),
        active=user.active,
        areas=[u.code for u in service.user_units(db, user)],
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        at=event.at,
        actor_user_id=event.actor_user_id,
        actor_name=event.actor_name,
        action=event.action,
        action_label=audit.action_label(event.action),
        target_type=event.target_type,
        target_id=event.target_id,
        area_id=event.area_id,
        details=event.details,
        ip=event.ip,
    )


@router.post("/auth/token", response_model=TokenOut)
def create_token(body: TokenRequest, request: Request, db: SessionDep, settings: SettingsDep) -> TokenOut:
    """Exchange a username and password for a bearer token (valid ``token_ttl_s`` seconds)."""
    try:
        user = authenticate(
            db,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            policy=login_policy(settings),
            via="api",
        )
    except AuthenticationFailed:
        db.commit()  # keep the failed attempt: it is what throttling counts
        raise
    issued = issue_token(db, user=user, ttl_s=settings.token_ttl_s)
    db.commit()
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.delete("/auth/token", status_code=204)
def delete_token(principal: ApiPrincipal, request: Request, db: SessionDep) -> None:
    """Revoke the bearer token this request carries (sign out of an API client)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        revoke_token(db, token=token.strip(), actor=principal, ip=client_ip(request))
        db.commit()


@router.get("/me", response_model=MeOut)
def me(principal: ApiPrincipal, db: SessionDep) -> MeOut:
    user = service.get_user(db, principal.user_id)
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        role_label=principal.role_label,
        permissions=sorted(p.value for p in Permission if principal.has(p)),
        areas=[AreaOut(id=u.id, code=u.code, name=u.name, path=u.path) for u in service.user_units(db, user)],
        scope_label=principal.scope_label,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(principal: ApiPrincipal, db: SessionDep) -> list[UserOut]:
    require(principal, Permission.MANAGE_USERS)
    return [_user_out(db, u) for u in service.list_users(db, principal=principal)]


def _actor(principal: Principal, request: Request) -> service.Actor:
    return service.Actor(principal=principal, ip=client_ip(request))


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, principal: ApiPrincipal, request: Request, db: SessionDep) -> UserOut:
    require(principal, Permission.MANAGE_USERS)
    user = service.create_user(
        db,
        username=body.username,
        password=body.password,
        role=parse_role(body.role),
        display_name=body.display_name,
        area_codes=body.areas,
        actor=_actor(principal, request),
    )
    db.commit()
    return _user_out(db, user)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: int, body: UserUpdate, principal: ApiPrincipal, request: Request, db: SessionDep
) -> UserOut:
    """Change role and/or areas (omitted ones keep their value) and/or (de)activate."""
    require(principal, Permission.MANAGE_USERS)
    user = service.get_user(db, user_id)
    actor = _actor(principal, request)
    if body.role is not None or body.areas is not None:
        role = parse_role(body.role) if body.role is not None else user.role
        areas = body.areas if body.areas is not None else [u.code for u in service.user_units(db, user)]
        service.change_role(db, user=user, role=role, area_codes=areas, actor=actor)
    if body.active is not None:
        service.set_active(db, user=user, active=body.active, actor=actor)
    db.commit()
    return _user_out(db, user)


@router.post("/users/{user_id}/sessions/revoke", status_code=204)
def revoke_user_sessions(user_id: int, principal: ApiPrincipal, request: Request, db: SessionDep) -> None:
    """Sign the user out everywhere: every web session and API token ends (the password stays)."""
    require(principal, Permission.MANAGE_USERS)
    service.sign_out_everywhere(db, user=service.get_user(db, user_id), actor=_actor(principal, request))
    db.commit()


@router.get("/audit", response_model=AuditPageOut)
def list_audit(
    principal: ApiPrincipal,
    db: SessionDep,
    action: str | None = Query(default=None, max_length=64, description="exact, or a family: 'auth.'"),
    actor_user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = Query(default=1, ge=1),
    per_page: int = Query(default=50, ge=1, le=audit.MAX_PAGE_SIZE),
) -> AuditPageOut:
    require(principal, Permission.VIEW_AUDIT)
    since, until = as_vietnam_time(since), as_vietnam_time(until)
    result = audit.query(
        db,
        principal=principal,
        action=action,
        actor_user_id=actor_user_id,
        since=since,
        until=until,
        page=page,
        per_page=per_page,
    )
    return AuditPageOut(
        items=[_event_out(e) for e in result.events], total=result.total, page=result.page, per_page=per_page
    )

"""Use cases on users: create, change role and area scopes, (de)activate, set password, list, and build
the ``Principal`` a request acts as. Keyword-only, session first; never commits (the caller does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.logic import (
    check_scope_kinds,
    normalize_username,
    validate_display_name,
    validate_password,
    validate_username,
)
from loa.accounts.models import ApiToken, User, UserArea
from loa.accounts.passwords import hash_password
from loa.accounts.principal import ROLES, Permission, Principal, Role
from loa.accounts.scope import require
from loa.accounts.sessions import revoke_user_sessions
from loa.db.base import utcnow
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.units.models import AdminUnit


@dataclass(frozen=True)
class Actor:
    """Who performs a change, for permission checks and the audit log (None principal = the CLI)."""

    principal: Principal | None = None
    ip: str = ""

    @property
    def name(self) -> str:
        return self.principal.username if self.principal else "hệ thống (dòng lệnh)"


SYSTEM = Actor()


def _require_manage(actor: Actor, units: Sequence[AdminUnit] = ()) -> None:
    if actor.principal is None:
        return
    require(actor.principal, Permission.MANAGE_USERS)
    for unit in units:
        if not actor.principal.can_access_path(unit.path):
            raise PermissionDenied(f"Địa bàn «{unit.name}» nằm ngoài phạm vi quản lý của bạn.")


def find_units(session: Session, codes: Sequence[str]) -> list[AdminUnit]:
    """The units with these codes, in the given order (duplicates dropped); NotFound names the first
    missing code."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        return []
    found = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted)))}
    for code in wanted:
        if code not in found:
            raise NotFound(f"Không tìm thấy địa bàn mã {code}.", code="area_not_found")
    today = utcnow().date()
    for code in wanted:
        unit = found[code]
        if unit.valid_to is not None and unit.valid_to <= today:
            raise InvalidInput(
                f"Địa bàn «{unit.name}» (mã {code}) đã hết hiệu lực từ {unit.valid_to:%d/%m/%Y}.",
                code="area_expired",
            )
    return [found[c] for c in wanted]


def user_units(session: Session, user: User) -> list[AdminUnit]:
    ids = [link.admin_unit_id for link in user.area_links]
    if not ids:
        return []
    return list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)).order_by(AdminUnit.path)))


def principal_for(session: Session, user: User) -> Principal:
    units = user_units(session, user)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        scope_paths=tuple(u.path for u in units),
        scope_label=", ".join(u.name for u in units),
    )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng.", code="user_not_found")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == normalize_username(username))).first()


def get_user_by_username(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"Không tìm thấy người dùng «{username}».", code="user_not_found")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    area_codes: Sequence[str] = (),
    actor: Actor = SYSTEM,
) -> User:
    name = validate_username(username)
    validate_password(password, username=name)
    shown = validate_display_name(display_name if display_name is not None else name)
    units = find_units(session, area_codes)
    check_scope_kinds(role, [(u.name, u.kind) for u in units])
    _require_manage(actor, units)
    if find_user(session, name) is not None:
        raise Conflict(f"Tên đăng nhập «{name}» đã tồn tại.", code="username_taken")
    user = User(
        username=name,
        display_name=shown,
        password_hash=hash_password(password),
        role=role,
        active=True,
        session_version=1,
        area_links=[UserArea(admin_unit_id=u.id) for u in units],
    )
    session.add(user)
    session.flush()
    _record(
        session,
        actor,
        user,
        action="user.create",
        area_id=units[0].id if units else None,
        details={"username": name, "role": role.value, "areas": [u.code for u in units]},
    )
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True))) or 0


def _refuse_losing_last_admin(session: Session, user: User) -> None:
    if user.role is Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict(
            "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng đang hoạt động.", code="last_admin"
        )


def change_role(
    session: Session, *, user: User, role: Role, area_codes: Sequence[str], actor: Actor = SYSTEM
) -> User:
    """Replace the user's role and area scopes together (they are validated as a pair)."""
    units = find_units(session, area_codes)
    check_scope_kinds(role, [(u.name, u.kind) for u in units])
    _require_manage(actor, [*units, *user_units(session, user)])
    if role is not Role.ADMIN:
        _refuse_losing_last_admin(session, user)
    before = {"role": user.role.value, "areas": [u.code for u in user_units(session, user)]}
    after = {"role": role.value, "areas": [u.code for u in units]}
    if before == after:
        return user
    user.role = role
    # Keep the links that stay: replacing them all would insert before deleting and hit the unique key.
    wanted = [u.id for u in units]
    kept = [link for link in user.area_links if link.admin_unit_id in wanted]
    kept_ids = {link.admin_unit_id for link in kept}
    user.area_links = kept + [UserArea(admin_unit_id=i) for i in wanted if i not in kept_ids]
    user.session_version += 1
    session.flush()
    _record(
        session,
        actor,
        user,
        action="user.role_change",
        area_id=units[0].id if units else None,
        details={"username": user.username, "before": before, "after": after},
    )
    return user


def _revoke_all_tokens(session: Session, user: User) -> None:
    """Revoke the user's API tokens and web sessions (the latter also end by ``session_version``;
    revoking the rows keeps the server's record true)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    revoke_user_sessions(session, user.id)


def _record(
    session: Session,
    actor: Actor,
    user: User,
    *,
    action: str,
    area_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a change to ``user`` (its username is the detail unless others are given)."""
    audit.record(
        session,
        action=action,
        actor=actor.principal,
        actor_name=actor.name,
        target_type="user",
        target_id=user.id,
        area_id=area_id,
        details=details if details is not None else {"username": user.username},
        ip=actor.ip,
    )


def _require_self_or_manager(session: Session, actor: Actor, user: User) -> None:
    """The user themself, or someone who manages every area of theirs."""
    if actor.principal is not None and actor.principal.user_id != user.id:
        _require_manage(actor, user_units(session, user))


def _end_sessions(session: Session, user: User) -> None:
    """Every web session and API token of ``user`` stops working."""
    user.session_version += 1
    _revoke_all_tokens(session, user)
    session.flush()


def set_active(session: Session, *, user: User, active: bool, actor: Actor = SYSTEM) -> User:
    """Deactivate (sign out everywhere, revoke tokens) or reactivate a user."""
    _require_manage(actor, user_units(session, user))
    if user.active == active:
        return user
    if not active:
        if actor.principal is not None and actor.principal.user_id == user.id:
            raise Conflict("Bạn không thể tự khóa tài khoản của chính mình.", code="self_deactivate")
        _refuse_losing_last_admin(session, user)
        _revoke_all_tokens(session, user)
    user.active = active
    user.session_version += 1
    session.flush()
    _record(session, actor, user, action="user.activate" if active else "user.deactivate")
    return user


def set_password(session: Session, *, user: User, password: str, actor: Actor = SYSTEM) -> User:
    """Set a new password; every session and token issued before stops working."""
    validate_password(password, username=user.username)
    _require_self_or_manager(session, actor, user)
    user.password_hash = hash_password(password)
    _end_sessions(session, user)
    _record(session, actor, user, action="user.password_change")
    return user


def sign_out_everywhere(session: Session, *, user: User, actor: Actor = SYSTEM) -> User:
    """End every web session and API token of ``user`` (a lost phone, a shared computer); the
    password stays as it is."""
    _require_self_or_manager(session, actor, user)
    _end_sessions(session, user)
    _record(session, actor, user, action="user.sessions_revoke")
    return user


def list_users(session: Session, *, principal: Principal | None = None) -> list[User]:
    """All users for an administrator (or the CLI); others with MANAGE_USERS see users whose every
    area lies inside their own scopes."""
    users = list(session.scalars(select(User).order_by(User.username)))
    if principal is None or principal.is_admin:
        return users
    require(principal, Permission.MANAGE_USERS)
    paths = {u.id: u.path for u in session.scalars(select(AdminUnit).join(UserArea))}
    return [
        u
        for u in users
        if u.area_links and all(principal.can_access_path(paths[link.admin_unit_id]) for link in u.area_links)
    ]


def role_label(role: Role) -> str:
    return ROLES[role].label

"""Signing in: password checks with throttling and audit, and opaque API tokens.

``authenticate`` writes its login attempt and audit event to the session before raising; callers that
turn the error into a response must commit first, or the failure (and so the throttle) is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.logic import IP_FAILURE_FACTOR, describe_wait, new_token, normalize_username, retry_after_s
from loa.accounts.models import ApiToken, LoginAttempt, User
from loa.accounts.passwords import burn_verify, hash_password, needs_rehash, verify_password
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, TooManyRequests

WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."
ACCOUNT_DISABLED = "Tài khoản đã bị khóa. Vui lòng liên hệ quản trị viên."
TOKEN_INVALID = "Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi."


class LoginThrottled(TooManyRequests):
    """Too many failed logins; ``retry_after_s`` becomes the HTTP Retry-After header."""

    default_code = "login_throttled"

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {describe_wait(retry_after_s)}.",
            details={"retry_after_s": retry_after_s},
        )


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window_s: int


def attempts_kept_for(policy: LoginPolicy) -> timedelta:
    """How long a login attempt is kept: the throttling window, and at least a day for anyone
    looking into an incident (the audit log keeps the failures for good)."""
    return timedelta(seconds=max(policy.window_s, 24 * 3600))


def _throttle_wait(
    session: Session, *, username: str, ip: str, policy: LoginPolicy, now: datetime
) -> int | None:
    since = now - timedelta(seconds=policy.window_s)
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True), LoginAttempt.at >= since
        )
    )
    by_user = list(
        session.scalars(
            select(LoginAttempt.at).where(
                LoginAttempt.username == username,
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= (last_success or since),
            )
        )
    )
    by_ip = list(
        session.scalars(
            select(LoginAttempt.at).where(
                LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since
            )
        )
    )
    waits = [
        retry_after_s(by_user, max_failures=policy.max_failures, window_s=policy.window_s, now=now),
        retry_after_s(
            by_ip, max_failures=policy.max_failures * IP_FAILURE_FACTOR, window_s=policy.window_s, now=now
        ),
    ]
    present = [w for w in waits if w is not None]
    return max(present) if present else None


def authenticate(
    session: Session, *, username: str, password: str, ip: str, policy: LoginPolicy, via: str = "web"
) -> User:
    """The active user with these credentials, or AuthenticationFailed / LoginThrottled.

    While throttled nothing is checked and nothing is written, so the correct password is refused too
    and an attacker cannot grow the tables."""
    name = normalize_username(username)[:64]
    ip = ip[:64]
    now = utcnow()
    wait = _throttle_wait(session, username=name, ip=ip, policy=policy, now=now)
    if wait is not None:
        raise LoginThrottled(wait)
    user = session.scalars(select(User).where(User.username == name)).first()
    if user is None:
        burn_verify(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    # Attempts matter only inside the throttling window (failures stay in the audit log): older
    # ones go, so the table stays small however long an attack lasts.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - attempts_kept_for(policy)))
    session.add(LoginAttempt(username=name, ip=ip, at=now, success=ok))
    if not ok or user is None:
        audit.record(
            session,
            action="auth.login_failed",
            actor_name=name,
            target_type="user",
            target_id=user.id if user else "",
            details={"via": via, "known_user": user is not None},
            ip=ip,
            at=now,
        )
        session.flush()
        raise AuthenticationFailed(WRONG_CREDENTIALS, code="wrong_credentials")
    if not user.active:
        audit.record(
            session,
            action="auth.login_failed",
            actor_name=name,
            target_type="user",
            target_id=user.id,
            details={"via": via, "reason": "inactive"},
            ip=ip,
            at=now,
        )
        raise AuthenticationFailed(ACCOUNT_DISABLED, code="account_disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    audit.record(
        session,
        action="auth.login",
        actor_user_id=user.id,
        actor_name=user.username,
        target_type="user",
        target_id=user.id,
        details={"via": via},
        ip=ip,
        at=now,
    )
    session.flush()
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    row: ApiToken


def issue_token(session: Session, *, user: User, ttl_s: int) -> IssuedToken:
    """A new bearer token; the plain value is returned once and never stored."""
    token = new_token()
    now = utcnow()
    row = ApiToken(
        token_sha256=hash_token(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    session.flush()
    return IssuedToken(token=token, expires_at=row.expires_at, row=row)


def find_token(session: Session, token: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_sha256 == hash_token(token))).first()


def resolve_token(session: Session, token: str) -> tuple[User, ApiToken]:
    """The active user behind a valid (known, unexpired, unrevoked) token."""
    row = find_token(session, token) if token else None
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise AuthenticationFailed(TOKEN_INVALID, code="invalid_token")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise AuthenticationFailed(TOKEN_INVALID, code="invalid_token")
    return user, row


def revoke_token(session: Session, *, token: str, actor: Principal | None = None, ip: str = "") -> bool:
    """Revoke a token; False when it was unknown or already revoked."""
    row = find_token(session, token)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit.record(
        session,
        action="auth.token_revoke",
        actor=actor,
        target_type="api_token",
        target_id=row.id,
        ip=ip,
    )
    return True


def prune_login_attempts(session: Session, *, before: datetime) -> int:
    """Delete attempts older than ``before`` (housekeeping; they only matter inside the window)."""
    rows = list(session.scalars(select(LoginAttempt).where(LoginAttempt.at < before)))
    for row in rows:
        session.delete(row)
    return len(rows)

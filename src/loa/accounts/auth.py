"""Signing in: password checks with throttling and audit, and opaque API tokens.

``authenticate`` writes its login attempt and audit event to the session before raising; callers that
turn the error into a response must commit first, or the failure (and so the throttle) is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.logic import (
    ACCOUNT_FAILURE_FACTOR,
    IP_FAILURE_FACTOR,
    Backoff,
    backoff_wait_s,
    describe_wait,
    new_token,
    normalize_username,
)
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
    """Throttling parameters (settings ``login_*``); the rules built from them are ``THROTTLE_RULES``."""

    max_failures: int = 5
    window_s: int = 24 * 3600
    max_delay_s: int = 15 * 60
    base_delay_s: int = 2

    @property
    def account_ceiling(self) -> int:
        return self.max_failures * ACCOUNT_FAILURE_FACTOR

    @property
    def source_ceiling(self) -> int:
        return self.max_failures * IP_FAILURE_FACTOR


SOURCE_WINDOW_S = 3600  # spraying is judged per hour: an office's typos over a day must not add up
KNOWN_SOURCE_DAYS = 30  # an address the account signed in from this recently is the owner's


@dataclass(frozen=True)
class ThrottleRule:
    """One row of the throttling table: whose failures count, how many are free, over what window.

    ``unfamiliar_only``: the rule does not apply from an address the account signed in from in the
    last ``KNOWN_SOURCE_DAYS`` days, so an attack spread over many addresses cannot lock out the
    owner at their usual place. ``since_success``: a successful login from the same key resets it."""

    name: str
    by_account: bool
    by_source: bool
    free: Callable[[LoginPolicy], int]
    window_s: Callable[[LoginPolicy], int]
    since_success: bool = False
    unfamiliar_only: bool = False


THROTTLE_RULES: tuple[ThrottleRule, ...] = (
    ThrottleRule(
        "account+source", True, True, lambda p: p.max_failures, lambda p: p.window_s, since_success=True
    ),
    ThrottleRule(
        "source", False, True, lambda p: p.source_ceiling, lambda p: min(SOURCE_WINDOW_S, p.window_s)
    ),
    ThrottleRule(
        "account", True, False, lambda p: p.account_ceiling, lambda p: p.window_s, unfamiliar_only=True
    ),
)


def attempts_kept_for(policy: LoginPolicy) -> timedelta:
    """How long a failed attempt is kept: the throttling window, and at least a day for anyone
    looking into an incident (the audit log keeps the failures for good). Successes are kept
    ``KNOWN_SOURCE_DAYS`` days: they are how the owner's usual addresses are known."""
    return timedelta(seconds=max(policy.window_s, 24 * 3600))


def _key(rule: ThrottleRule, *, username: str, ip: str) -> list[ColumnElement[bool]]:
    """The conditions selecting the attempts this rule counts."""
    return [
        *([LoginAttempt.username == username] if rule.by_account else []),
        *([LoginAttempt.ip == ip] if rule.by_source else []),
    ]


def _known_source(session: Session, *, username: str, ip: str, now: datetime) -> bool:
    since = now - timedelta(days=KNOWN_SOURCE_DAYS)
    found = session.scalar(
        select(LoginAttempt.id)
        .where(LoginAttempt.username == username, LoginAttempt.ip == ip)
        .where(LoginAttempt.success.is_(True), LoginAttempt.at >= since)
        .limit(1)
    )
    return found is not None


def _rule_wait(
    session: Session, rule: ThrottleRule, *, username: str, ip: str, policy: LoginPolicy, now: datetime
) -> int | None:
    since = now - timedelta(seconds=rule.window_s(policy))
    if rule.since_success:
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(
                *_key(rule, username=username, ip=ip),
                LoginAttempt.success.is_(True),
                LoginAttempt.at >= since,
            )
        )
        since = max(since, last_success) if last_success is not None else since
    failures, latest_at = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            *_key(rule, username=username, ip=ip), LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    ).one()
    backoff = Backoff(free=rule.free(policy), base_s=policy.base_delay_s, max_s=policy.max_delay_s)
    return backoff_wait_s(failures, latest_at, rule=backoff, now=now)


def _throttle_wait(
    session: Session, *, username: str, ip: str, policy: LoginPolicy, now: datetime
) -> int | None:
    """The longest wait any rule imposes on this (account, address), or None."""
    known: bool | None = None
    waits = []
    for rule in THROTTLE_RULES:
        if rule.unfamiliar_only:
            known = _known_source(session, username=username, ip=ip, now=now) if known is None else known
            if known:
                continue
        wait = _rule_wait(session, rule, username=username, ip=ip, policy=policy, now=now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def authenticate(
    session: Session, *, username: str, password: str, ip: str, policy: LoginPolicy, via: str = "web"
) -> User:
    """The active user with these credentials, or AuthenticationFailed / LoginThrottled.

    While throttled nothing is checked and nothing is written, so an attacker cannot grow the tables;
    the rules (``THROTTLE_RULES``, docs/security.md) are keyed so that failures elsewhere do not
    throttle the owner at their usual address."""
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
    # Failures matter only inside the throttling window (they stay in the audit log), successes
    # for a month (the owner's usual addresses): older ones go, so the table stays small however
    # long an attack lasts.
    session.execute(
        delete(LoginAttempt).where(
            or_(
                and_(LoginAttempt.success.is_(False), LoginAttempt.at < now - attempts_kept_for(policy)),
                LoginAttempt.at < now - max(attempts_kept_for(policy), timedelta(days=KNOWN_SOURCE_DAYS)),
            )
        )
    )
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

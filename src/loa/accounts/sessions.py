"""Web sessions kept on the server, so that signing out really ends them.

Starlette's session cookie is signed but lives in the browser: before this, a copy of it kept working
after logout until the user's ``session_version`` changed. Now the cookie carries a random token, and
a request is signed in only while the ``web_sessions`` row with that token's SHA-256 is unrevoked,
not idle for longer than the session lifetime, and its user is active with the same
``session_version`` as when it was issued — one indexed lookup (the row joined to its user).

Why a table rather than only a per-user counter: a counter can end *all* of a user's sessions, not
the one browser that signs out, and cannot tell an administrator which sessions exist. The counter
(``User.session_version``) is kept for what it is good at: password, role or activity changes end
every session in the same write.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from loa.accounts.models import User, WebSession
from loa.db.base import utcnow

TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen_at is written at most this often
REVOKED_KEPT = timedelta(days=1)  # revoked rows stay a day for anyone looking into an incident


@dataclass(frozen=True)
class LiveSession:
    row: WebSession
    user: User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(db: Session, *, user: User, ip: str, max_idle_s: int) -> str:
    """Record a new session for ``user`` and return the token for its cookie (never stored)."""
    now = utcnow()
    prune_sessions(db, max_idle_s=max_idle_s, now=now)
    token = secrets.token_urlsafe(32)
    db.add(
        WebSession(token_sha256=_digest(token), user_id=user.id, created_at=now, last_seen_at=now, ip=ip[:64])
    )
    db.flush()
    return token


def resolve_session(db: Session, token: str, *, version: object, max_idle_s: int) -> LiveSession | None:
    """The live session behind ``token`` (issued at ``version`` of its user), or None."""
    found = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_sha256 == _digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    idle_since = utcnow() - timedelta(seconds=max_idle_s)
    if row.revoked_at is not None or row.last_seen_at < idle_since:
        return None
    if not user.active or user.session_version != version:
        return None
    return LiveSession(row, user)


def needs_touch(row: WebSession, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_INTERVAL


def touch(db: Session, session_id: int, now: datetime) -> None:
    db.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))


def revoke_session(db: Session, token: str) -> WebSession | None:
    """Revoke the session behind ``token``; the row, or None when it was unknown or already revoked."""
    row = db.scalars(select(WebSession).where(WebSession.token_sha256 == _digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = utcnow()
    return row


def revoke_user_sessions(db: Session, user_id: int) -> int:
    """Revoke every live session of a user (sign out everywhere); how many there were."""
    result = db.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def prune_sessions(db: Session, *, max_idle_s: int, now: datetime) -> None:
    """Forget sessions long dead: idle past their lifetime, or revoked, for more than a day."""
    cutoff = now - timedelta(seconds=max_idle_s) - REVOKED_KEPT
    db.execute(
        delete(WebSession).where(
            or_(WebSession.last_seen_at < cutoff, WebSession.revoked_at < now - REVOKED_KEPT)
        )
    )

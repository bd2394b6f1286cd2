"""Tables of people and their access: users, area scopes, API tokens, web sessions, login attempts,
the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from loa.accounts.principal import Role
from loa.db.base import Base, UtcDateTime, utcnow


class User(Base):
    """A person who signs in. ``username`` is stored case-folded, so uniqueness is case-insensitive.

    ``session_version`` is copied into the signed session cookie at login; bumping it (password change,
    role change, deactivation) invalidates every cookie issued before, although cookies live client-side.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            name="user_role",
            native_enum=False,
            length=24,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    area_links: Mapped[list[UserArea]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class UserArea(Base):
    """One administrative unit a user acts in; a user may hold several (e.g. two merged communes)."""

    __tablename__ = "user_areas"
    __table_args__ = (UniqueConstraint("user_id", "admin_unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    admin_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)

    user: Mapped[User] = relationship(back_populates="area_links")


class ApiToken(Base):
    """An opaque bearer token. Only its SHA-256 is stored: a database leak does not leak tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A signed-in browser. The signed cookie carries a random token; only its SHA-256 is stored, and
    a request is accepted only while this row is unrevoked and recently seen, so signing out (or an
    administrator signing the user out everywhere) ends the session on the server, copied cookies
    included. ``User.session_version`` still ends every session of a user at once (password, role or
    activity change) without touching these rows."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ip: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(Base):
    """One password check, kept for throttling by username and by client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_at", "at"),  # pruning
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One entry of the append-only audit log (who did what, to what, where, from which address).

    Append-only: ``loa.accounts.audit.record`` is the only writer and nothing updates or deletes rows;
    the ORM refuses both (listeners below). ``actor_name`` is copied so the log stays readable after a
    user is renamed.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> NoReturn:
    raise RuntimeError(f"audit event {target.id} is append-only")


event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)

"""Pure rules of accounts: usernames, password policy, which unit kinds a role may be scoped to,
and login back-off arithmetic. No database, no web."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from loa.accounts.common_passwords import is_common
from loa.accounts.principal import ROLES, Role
from loa.errors import InvalidInput
from loa.units.models import UnitKind

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256
DISPLAY_NAME_MAX_CHARS = 200

_LOCAL_UNITS = frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE})
_PROVINCE_TIER = frozenset({UnitKind.PROVINCE, UnitKind.CITY})


@dataclass(frozen=True)
class ScopeRule:
    """Which unit kinds a role's area scopes may be, and how to say so when they are not."""

    kinds: frozenset[UnitKind]
    kinds_label: str


# Roles not listed here take no area (system administrators act everywhere).
SCOPE_RULES: dict[Role, ScopeRule] = {
    Role.PROVINCE_EDITOR: ScopeRule(_LOCAL_UNITS | _PROVINCE_TIER, "tỉnh/thành phố, xã, phường hoặc đặc khu"),
    Role.APPROVER: ScopeRule(_LOCAL_UNITS | _PROVINCE_TIER, "tỉnh/thành phố, xã, phường hoặc đặc khu"),
    Role.COMMUNE_OPERATOR: ScopeRule(_LOCAL_UNITS, "xã, phường hoặc đặc khu"),
    Role.VIEWER: ScopeRule(frozenset(UnitKind), "bất kỳ cấp nào"),
}

# Many users of one office share a public address (NAT), so the per-address ceiling is looser; the
# per-account ceiling too, since it also slows the owner when they sign in from a new address.
IP_FAILURE_FACTOR = 4
ACCOUNT_FAILURE_FACTOR = 4


def normalize_username(raw: str) -> str:
    """Case-fold and trim; usernames are compared case-insensitively everywhere."""
    return raw.strip().casefold()


def validate_username(raw: str) -> str:
    username = normalize_username(raw)
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput(
            "Tên đăng nhập phải dài 2–64 ký tự, chỉ gồm chữ không dấu, chữ số và các dấu . _ -"
            " (bắt đầu bằng chữ hoặc số).",
            code="invalid_username",
        )
    return username


def validate_display_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("Họ tên hiển thị không được để trống.", code="invalid_display_name")
    if len(name) > DISPLAY_NAME_MAX_CHARS:
        raise InvalidInput(
            f"Họ tên hiển thị dài quá {DISPLAY_NAME_MAX_CHARS} ký tự.", code="invalid_display_name"
        )
    return name


def validate_password(password: str, *, username: str = "") -> None:
    """At least ``PASSWORD_MIN_CHARS`` characters, not too repetitive, not containing the username (of
    3 characters or more) or a part of it of 4 or more, not a common password; Vietnamese messages."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidInput(f"Mật khẩu phải có ít nhất {PASSWORD_MIN_CHARS} ký tự.", code="weak_password")
    if len(password) > PASSWORD_MAX_CHARS:
        raise InvalidInput(f"Mật khẩu dài quá {PASSWORD_MAX_CHARS} ký tự.", code="invalid_password")
    if len(set(password)) < 4:
        raise InvalidInput("Mật khẩu quá đơn giản (quá ít ký tự khác nhau).", code="weak_password")
    folded = password.casefold()
    name = normalize_username(username)
    parts = {*([name] if len(name) >= 3 else []), *(p for p in re.split(r"[._-]+", name) if len(p) >= 4)}
    if any(p and p in folded for p in parts):
        raise InvalidInput("Mật khẩu không được chứa tên đăng nhập.", code="weak_password")
    if is_common(password):
        raise InvalidInput(
            "Mật khẩu này quá phổ biến, dễ bị đoán. Vui lòng chọn mật khẩu khác.", code="weak_password"
        )


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip())
    except ValueError:
        known = ", ".join(f"{r.value} ({info.label})" for r, info in ROLES.items())
        raise InvalidInput(
            f"Vai trò «{raw}» không tồn tại. Các vai trò: {known}.", code="invalid_role"
        ) from None


def check_scope_kinds(role: Role, units: Sequence[tuple[str, UnitKind]]) -> None:
    """Check the (name, kind) of each unit a user of ``role`` would be scoped to."""
    info = ROLES[role]
    rule = SCOPE_RULES.get(role)
    if rule is None:
        if units:
            raise InvalidInput(f"Vai trò «{info.label}» không gắn với địa bàn.", code="area_not_allowed")
        return
    if info.needs_area and not units:
        raise InvalidInput(
            f"Vai trò «{info.label}» cần được gắn với ít nhất một địa bàn.", code="area_required"
        )
    for name, kind in units:
        if kind not in rule.kinds:
            raise InvalidInput(
                f"Vai trò «{info.label}» chỉ gắn được với {rule.kinds_label}; «{name}» không phù hợp.",
                code="area_kind_not_allowed",
            )


def new_token() -> str:
    """An opaque bearer token (256 bits of randomness, URL-safe)."""
    return "loa_" + secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Backoff:
    """Growing delays: after ``free`` failures, each further failure doubles the wait (from the
    latest failure) from ``base_s``, up to ``max_s``."""

    free: int
    base_s: int
    max_s: int


def backoff_wait_s(failures: int, latest_at: datetime | None, *, rule: Backoff, now: datetime) -> int | None:
    """Seconds still to wait before the next attempt, or None when the caller may try now, given
    how many failures count (inside the window) and when the latest of them was."""
    if latest_at is None or rule.free <= 0 or failures < rule.free:
        return None
    excess = failures - rule.free
    delay_s = rule.max_s if excess >= 32 else min(rule.max_s, rule.base_s * 2**excess)
    wait = math.ceil((latest_at + timedelta(seconds=delay_s) - now).total_seconds())
    return wait if wait > 0 else None


VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")  # no daylight saving in Vietnam


def as_vietnam_time(value: datetime | None) -> datetime | None:
    """Times without an offset (typed by a person) are read as Vietnam time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=VIETNAM_TZ)


def format_vietnam_time(value: datetime | None) -> str:
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else ""


def describe_wait(seconds: int) -> str:
    if seconds <= 90:
        return f"{seconds} giây"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} phút {rest} giây" if rest else f"{minutes} phút"

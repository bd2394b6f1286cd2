"""Pure rules of accounts: usernames, password policy, which unit kinds a role may be scoped to,
and login throttling arithmetic. No database, no web."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from loa.accounts.principal import ROLES, Role
from loa.areas.models import UnitKind
from loa.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN_CHARS = 10
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

# Many users of one office share a public address (NAT), so the per-address limit is looser.
IP_FAILURE_FACTOR = 4


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


def validate_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidInput(f"Mật khẩu phải có ít nhất {PASSWORD_MIN_CHARS} ký tự.", code="weak_password")
    if len(password) > PASSWORD_MAX_CHARS:
        raise InvalidInput(f"Mật khẩu dài quá {PASSWORD_MAX_CHARS} ký tự.", code="invalid_password")
    if len(set(password)) < 4:
        raise InvalidInput("Mật khẩu quá đơn giản (quá ít ký tự khác nhau).", code="weak_password")


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


def retry_after_s(
    failures_at: Sequence[datetime], *, max_failures: int, window_s: int, now: datetime
) -> int | None:
    """Seconds until fewer than ``max_failures`` failures remain inside the window, or None when the
    caller is not throttled. ``failures_at`` are the failures inside the window, in any order."""
    if max_failures <= 0 or len(failures_at) < max_failures:
        return None
    ordered = sorted(failures_at)
    # Dropping below the limit needs the (n - max + 1) oldest failures to leave the window.
    release_at = ordered[len(ordered) - max_failures] + timedelta(seconds=window_s)
    return max(1, math.ceil((release_at - now).total_seconds()))


VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")  # no daylight saving in Vietnam


def as_vietnam_time(value: datetime | None) -> datetime | None:
    """Times without an offset (typed by a person) are read as Vietnam time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=VIETNAM_TZ)


def format_vietnam_time(value: datetime | None) -> str:
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else ""


def describe_wait(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} phút" if seconds > 60 else f"{seconds} giây"

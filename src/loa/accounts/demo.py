"""Demo accounts for ``loa demo``: an administrator and, when Quảng Ngãi is loaded, people scoped to it.

Idempotent: existing usernames are left alone. Each new user gets a random password that is printed
once, to the person starting the demo, and stored only as a hash; a demo must never be exposed publicly
(the settings refuse the demo secret outside demo mode).
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import service
from loa.accounts.principal import ROLES, Role
from loa.units.models import AdminUnit

# (username, display name, role, area code or None)
DEMO_USERS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("admin", "Quản trị hệ thống", Role.ADMIN, None),
    ("bientap.quangngai", "Biên tập viên tỉnh Quảng Ngãi", Role.PROVINCE_EDITOR, "51"),
    ("lanhdao.quangngai", "Lãnh đạo duyệt tin tỉnh Quảng Ngãi", Role.APPROVER, "51"),
    ("canbo.bato", "Cán bộ đài xã Ba Tơ", Role.COMMUNE_OPERATOR, "21484"),
    ("xem.bato", "Người xem xã Ba Tơ", Role.VIEWER, "21484"),
)


def _demo_password() -> str:
    """Readable but random: four groups of four lowercase letters/digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def seed_demo_users(session: Session) -> list[str]:
    """Create the demo users whose areas exist; return lines to print."""
    codes = {code for *_, code in DEMO_USERS if code}
    present = set(session.scalars(select(AdminUnit.code).where(AdminUnit.code.in_(codes))))
    lines: list[str] = []
    for username, display_name, role, code in DEMO_USERS:
        if service.find_user(session, username) is not None or (code and code not in present):
            continue
        password = _demo_password()
        service.create_user(
            session,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            area_codes=[code] if code else [],
        )
        lines.append(f"  {username:<20} {password}   ({role_label(role)})")
    if not lines:
        return []
    return ["Tài khoản mẫu (mật khẩu chỉ hiện một lần, hãy ghi lại):", *lines]


def role_label(role: Role) -> str:
    return ROLES[role].label

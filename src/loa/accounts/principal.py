"""Who is acting, and what their role lets them do where. Pure: no database, no web.

Area scopes are expressed as materialised area paths (``AdminUnit.path``, e.g. ``/51/21484/``): a
principal may act on a unit when the unit's path starts with one of the principal's scope paths.
System administrators act everywhere. The whole rule, and its SQL form, is ``loa.accounts.scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PROVINCE_EDITOR = "province_editor"
    APPROVER = "approver"
    COMMUNE_OPERATOR = "commune_operator"
    VIEWER = "viewer"


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_AREAS = "manage_areas"
    EDIT_CONTENT = "edit_content"
    APPROVE_CONTENT = "approve_content"
    OPERATE_STATION = "operate_station"
    BROADCAST = "broadcast"
    MAKE_REPORTS = "make_reports"  # draw up, save and download the periodic reports of one's areas
    VIEW = "view"
    VIEW_AUDIT = "view_audit"


@dataclass(frozen=True)
class RoleInfo:
    label: str
    label_en: str
    permissions: frozenset[Permission]
    needs_area: bool


_ALL = frozenset(Permission)

ROLES: dict[Role, RoleInfo] = {
    Role.ADMIN: RoleInfo("Quản trị hệ thống", "System administrator", _ALL, needs_area=False),
    Role.PROVINCE_EDITOR: RoleInfo(
        "Biên tập viên",
        "Editor",
        frozenset({Permission.EDIT_CONTENT, Permission.MAKE_REPORTS, Permission.VIEW}),
        needs_area=True,
    ),
    # The leader approves bulletins and draws up and signs the reports of their areas.
    Role.APPROVER: RoleInfo(
        "Lãnh đạo duyệt tin",
        "Approver",
        frozenset(
            {Permission.APPROVE_CONTENT, Permission.MAKE_REPORTS, Permission.VIEW, Permission.VIEW_AUDIT}
        ),
        needs_area=True,
    ),
    Role.COMMUNE_OPERATOR: RoleInfo(
        "Cán bộ vận hành đài xã",
        "Commune operator",
        frozenset(
            {
                Permission.OPERATE_STATION,
                Permission.BROADCAST,
                Permission.EDIT_CONTENT,
                Permission.MAKE_REPORTS,
                Permission.VIEW,
            }
        ),
        needs_area=True,
    ),
    Role.VIEWER: RoleInfo("Người xem", "Viewer", frozenset({Permission.VIEW}), needs_area=True),
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: Role
    scope_paths: tuple[str, ...] = ()
    scope_label: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def role_label(self) -> str:
        return ROLES[self.role].label

    def has(self, permission: Permission) -> bool:
        return permission in ROLES[self.role].permissions

    # The Python half of the scope rule; the SQL half and the rule itself are in loa.accounts.scope.

    def can_access_path(self, area_path: str) -> bool:
        """In scope: the unit at ``area_path`` is one of this principal's scope units or lies below one.
        ``""`` (no unit) is in scope for administrators only."""
        if self.is_admin:
            return True
        return any(area_path.startswith(scope) for scope in self.scope_paths)

    def can_see_ancestor_path(self, area_path: str) -> bool:
        """Above scope: the unit at ``area_path`` is one of this principal's scope units or an ancestor
        of one (shown read-only for navigation context). ``""`` and ``"/"`` are no unit's path."""
        if self.is_admin:
            return True
        if len(area_path) < 2 or not area_path.endswith("/"):
            return False
        return any(scope.startswith(area_path) for scope in self.scope_paths)

"""The area-scope rule, in one place: what a principal may see and change, by the areas their role is
scoped to. Every domain applies it through this module (NetBox's single ``restrict(user, action)`` is
the model), so the rule is written once in Python and once in SQL, and the two are tested to agree.

The rule
    A principal's scopes are materialised unit paths (``AdminUnit.path``, e.g. ``/51/21484/``).
    - *In scope*: a unit whose path starts with one of the scope paths (the scope unit and everything
      below it). System administrators are in scope everywhere; anyone else with no scope: nowhere.
    - *Above scope*: a unit on the way up to a scope unit (its province for a commune user). Shown
      read-only for navigation, and for what higher levels send down (published bulletins, programmes).
    - A record outside scope is answered like a record that does not exist (``NotFound``, 404), so an
      id never reveals whether another commune has it. ``PermissionDenied`` (403) is for what the role
      may not do to a record it can see.

Python (pure, on the value object): ``Principal.can_access_path(path)`` (in scope) and
``Principal.can_see_ancestor_path(path)`` (above scope: a scope unit or one of its ancestors).
SQL: ``in_scope(principal, column)`` and ``above_scope(principal, column)``; ``under(column, prefixes)``
is the one builder of "path starts with one of these prefixes", with ``%``, ``_`` and the escape
character escaped (village codes may contain ``_``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Integer, SQLColumnExpression, false, or_, select, true
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.errors import NotFound, PermissionDenied
from loa.units.models import AdminUnit
from loa.units.paths import ancestor_paths

__all__ = [
    "NO_AREA",
    "above_scope",
    "area_path",
    "in_scope",
    "require",
    "scope_units",
    "sees_path",
    "under",
    "unit_not_found",
    "visible_unit",
]

# A unit path column (``AdminUnit.path`` of a joined unit) or a unit id column (``Bulletin.area_id``).
UnitColumn = SQLColumnExpression[str] | SQLColumnExpression[int] | SQLColumnExpression[int | None]
NO_AREA = ""  # the path of "no unit": in scope for administrators only


def require(principal: Principal, permission: Permission) -> None:
    """PermissionDenied (403) unless the principal's role allows ``permission``."""
    if not principal.has(permission):
        raise PermissionDenied(
            f"Vai trò «{principal.role_label}» không có quyền thực hiện thao tác này.",
            code="permission_denied",
        )


def under(path: SQLColumnExpression[str], prefixes: Iterable[str]) -> ColumnElement[bool]:
    """SQL for "``path`` starts with one of ``prefixes``" (false when there are none)."""
    conditions = [path.startswith(prefix, autoescape=True) for prefix in prefixes]
    return or_(*conditions) if conditions else false()


def in_scope(principal: Principal, column: UnitColumn) -> ColumnElement[bool]:
    """SQL condition: the row's unit is in the principal's scope (``true()`` for administrators).

    ``column`` is either a unit path column (``AdminUnit.path`` of a joined unit) or a column holding a
    unit id (``Bulletin.area_id``, ``AuditEvent.area_id``), matched through a sub-select of the units
    in scope; a NULL id is outside every scope but an administrator's."""
    if principal.is_admin:
        return true()
    if not principal.scope_paths:
        return false()
    if isinstance(getattr(column, "type", None), Integer):
        return column.in_(select(AdminUnit.id).where(under(AdminUnit.path, principal.scope_paths)))
    return under(column, principal.scope_paths)  # type: ignore[arg-type]


def sees_path(principal: Principal, path: str) -> bool:
    """In scope or above it: the unit at ``path`` may be shown to the principal (read-only when above)."""
    return principal.can_access_path(path) or principal.can_see_ancestor_path(path)


def above_scope(principal: Principal, path: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL condition: the unit at ``path`` is an ancestor of one of the principal's scope units (false
    for administrators, for whom everything is in scope)."""
    above = sorted({a for scope in principal.scope_paths for a in ancestor_paths(scope)})
    if principal.is_admin or not above:
        return false()
    return path.in_(above)


def area_path(session: Session, area_id: int | None) -> str:
    """The path of unit ``area_id``; ``NO_AREA`` when there is none."""
    if area_id is None:
        return NO_AREA
    return session.scalar(select(AdminUnit.path).where(AdminUnit.id == area_id)) or NO_AREA


def scope_units(session: Session, principal: Principal) -> list[AdminUnit]:
    """The units the principal was given, in path order (none for an administrator, who has no
    particular unit but works everywhere)."""
    if principal.is_admin or not principal.scope_paths:
        return []
    return list(
        session.scalars(
            select(AdminUnit).where(AdminUnit.path.in_(principal.scope_paths)).order_by(AdminUnit.path)
        )
    )


def visible_unit(
    session: Session, principal: Principal, *, area_id: int | None = None, code: str | None = None
) -> AdminUnit:
    """The unit with this id (or code) if it is in the principal's scope; otherwise NotFound, the same
    answer as for a unit that does not exist."""
    if code is not None:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code.strip()))
    else:
        unit = session.get(AdminUnit, area_id) if area_id is not None else None
    if unit is None or not principal.can_access_path(unit.path):
        raise unit_not_found(code)
    return unit


def unit_not_found(code: str | None = None) -> NotFound:
    """The one answer for a unit that is missing or outside scope (ids are not shown to people)."""
    what = f" mã “{code.strip()}”" if code is not None else ""
    return NotFound(f"Không tìm thấy địa bàn{what} trong phạm vi của bạn.", code="area_not_found")

"""A programme or an announcement as a principal may see it (read-only when it belongs to a unit above
their scope) or edit it. Another area's record is answered like a missing one: its id reveals nothing.

Shared by the programme, slot, announcement and proposal use cases, so none of them imports another
to reach these lookups.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path, require, sees_path
from loa.errors import NotFound, PermissionDenied
from loa.schedule import models as m

PROGRAMME_NOT_FOUND = "Không tìm thấy chương trình."
ANNOUNCEMENT_NOT_FOUND = "Không tìm thấy thông báo."


_Row = TypeVar("_Row", m.Programme, m.Announcement)


def _visible(
    session: Session, principal: Principal, model: type[_Row], ident: int, missing: str, code: str
) -> _Row:
    require(principal, Permission.VIEW)
    row = session.get(model, ident)
    # Another area's record is answered like a missing one: its id reveals nothing.
    if row is None or not sees_path(principal, area_path(session, row.area_id)):
        raise NotFound(missing, code=code)
    return row


def _editable(session: Session, principal: Principal, row: _Row, permission: Permission, what: str) -> _Row:
    require(principal, permission)
    if not principal.can_access_path(area_path(session, row.area_id)):
        raise PermissionDenied(
            f"{what} thuộc cấp trên hoặc địa bàn khác: bạn chỉ được xem.", code="out_of_scope"
        )
    return row


def visible_programme(session: Session, *, principal: Principal, programme_id: int) -> m.Programme:
    return _visible(session, principal, m.Programme, programme_id, PROGRAMME_NOT_FOUND, "programme_not_found")


def editable_programme(session: Session, *, principal: Principal, programme_id: int) -> m.Programme:
    programme = visible_programme(session, principal=principal, programme_id=programme_id)
    return _editable(
        session, principal, programme, Permission.OPERATE_STATION, f"Chương trình «{programme.name}»"
    )


def visible_announcement(session: Session, *, principal: Principal, announcement_id: int) -> m.Announcement:
    return _visible(
        session, principal, m.Announcement, announcement_id, ANNOUNCEMENT_NOT_FOUND, "announcement_not_found"
    )


def editable_announcement(session: Session, *, principal: Principal, announcement_id: int) -> m.Announcement:
    a = visible_announcement(session, principal=principal, announcement_id=announcement_id)
    return _editable(session, principal, a, Permission.BROADCAST, "Thông báo")

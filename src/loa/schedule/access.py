"""A programme or an announcement as a principal may see it (read-only when it belongs to a unit above
their scope) or edit it. Another area's record is answered like a missing one: its id reveals nothing.

Shared by the programme, slot, announcement and proposal use cases, so none of them imports another
to reach these lookups.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path, require, sees_path
from loa.errors import NotFound, PermissionDenied
from loa.schedule import models as m

PROGRAMME_NOT_FOUND = "Không tìm thấy chương trình."
ANNOUNCEMENT_NOT_FOUND = "Không tìm thấy thông báo."


def visible_programme(session: Session, *, principal: Principal, programme_id: int) -> m.Programme:
    require(principal, Permission.VIEW)
    programme = session.get(m.Programme, programme_id)
    # Another area's programme is answered like a missing one: its id reveals nothing.
    if programme is None or not sees_path(principal, area_path(session, programme.area_id)):
        raise NotFound(PROGRAMME_NOT_FOUND, code="programme_not_found")
    return programme


def editable_programme(session: Session, *, principal: Principal, programme_id: int) -> m.Programme:
    programme = visible_programme(session, principal=principal, programme_id=programme_id)
    require(principal, Permission.OPERATE_STATION)
    if not principal.can_access_path(area_path(session, programme.area_id)):
        raise PermissionDenied(
            f"Chương trình «{programme.name}» thuộc cấp trên hoặc địa bàn khác: bạn chỉ được xem.",
            code="out_of_scope",
        )
    return programme


def visible_announcement(session: Session, *, principal: Principal, announcement_id: int) -> m.Announcement:
    require(principal, Permission.VIEW)
    a = session.get(m.Announcement, announcement_id)
    if a is None or not sees_path(principal, area_path(session, a.area_id)):
        raise NotFound(ANNOUNCEMENT_NOT_FOUND, code="announcement_not_found")
    return a


def editable_announcement(session: Session, *, principal: Principal, announcement_id: int) -> m.Announcement:
    a = visible_announcement(session, principal=principal, announcement_id=announcement_id)
    require(principal, Permission.BROADCAST)
    if not principal.can_access_path(area_path(session, a.area_id)):
        raise PermissionDenied(
            "Thông báo thuộc cấp trên hoặc địa bàn khác: bạn chỉ được xem.", code="out_of_scope"
        )
    return a

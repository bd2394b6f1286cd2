"""The audit log page (``/audit``): ``loa.accounts.audit`` records and queries events; this composition
module (like ``loa.dashboard``) reads them in words, which needs every domain's vocabulary — a bulletin's
statuses, the roles, the fleet's commands, the priority ladder, area names — and names each event's
object: "Chương trình «Bản tin sáng»", "Buổi phát 07:00 ngày 16/01/2023 của «Bản tin sáng»", never
"programme #12" or "commune:21484:vi".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.responses import Response

from loa.accounts import audit
from loa.accounts.deps import WebPrincipal
from loa.accounts.logic import format_vietnam_time
from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import ROLES, Permission, Role
from loa.accounts.scope import require
from loa.alerts.models import EmergencyAlert
from loa.content.catalog import LANGUAGES, PRIORITIES, STATUSES, Priority, Status
from loa.content.models import Bulletin
from loa.exchange.models import ExchangePeer, InboxItem
from loa.fleet.commands import command_label
from loa.fleet.models import Device
from loa.reports.models import Report
from loa.schedule import models as m
from loa.schedule.snapshot import TARGET_KIND_LABELS, TargetKind
from loa.topics.models import Topic
from loa.units.models import AdminUnit
from loa.vocab.ladder import rung_of
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

AUDIT_FILTERS: dict[str, str] = {
    "": "Tất cả",
    "auth.": "Đăng nhập / đăng xuất",
    "user.": "Quản lý người dùng",
    "schedule.": "Lịch phát sóng",
    "device.": "Cụm loa",
    **{action: label for action, label in audit.ACTION_LABELS.items()},
}
TARGET_TYPES: dict[str, str] = {
    "programme": "Chương trình",
    "slot": "Buổi phát",
    "announcement": "Thông báo",
    "bulletin": "Tin bài",
    "user": "Người dùng",
    "api_token": "Mã truy cập API",
    "device": "Cụm loa",
    "agent_release": "Phần mềm cụm loa",
    "alert": "Cảnh báo khẩn cấp",
    "report": "Báo cáo",
    "schedule": "Lịch phát của các cụm loa",
    "topic": "Chủ đề",
    "area": "Địa bàn",
    "activity_import": "Tệp nhập sổ theo dõi",
    "radio-items": "Sổ phát thanh",
    "portal-posts": "Sổ cổng thông tin",
    "press-items": "Sổ báo chí",
    "visual-items": "Sổ trực quan",
    "mobile-trips": "Sổ xe lưu động",
    "events": "Sổ sự kiện",
    "exchange_peer": "Kết nối liên thông",
    "exchange_inbox": "Tin nhận từ cấp trên",
    "feedback": "Ý kiến người dân",
}
# The record an event's target id names, and the column that names it for a person.
NAMED_BY: dict[str, tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]] = {
    "programme": (m.Programme.id, m.Programme.name),
    "announcement": (m.Announcement.id, m.Announcement.title),
    "bulletin": (Bulletin.id, Bulletin.title),
    "user": (User.id, User.username),
    "device": (Device.uid, Device.name),
    "alert": (EmergencyAlert.id, EmergencyAlert.title),
    "report": (Report.id, Report.title),
    "topic": (Topic.code, Topic.name),
    "area": (AdminUnit.code, AdminUnit.name),
    "exchange_peer": (ExchangePeer.id, ExchangePeer.name),
    "exchange_inbox": (InboxItem.id, InboxItem.title),
}
MANIFEST_REASONS: dict[str, str] = {
    "periodic": "lập lại định kỳ",
    "admin": "quản trị hệ thống lập lại",
    "devices": "cụm loa thay đổi",
    "demo": "dữ liệu mẫu",
    "programme": "chương trình thay đổi",
    "slot": "buổi phát thay đổi",
    "bulletin": "tin bài thay đổi",
    "announcement": "thông báo thay đổi",
}


def _status_or_time(value: Any) -> str:
    """ "from"/"to": a bulletin's status (its label) or a slot's time (in words)."""
    if isinstance(value, str) and value in {s.value for s in Status}:
        return STATUSES[Status(value)].label
    return audit.details_text({"x": value}).removeprefix("x: ")


def _priority(value: Any) -> str:
    if isinstance(value, int):
        return rung_of(value).label
    if isinstance(value, str) and value in {p.value for p in Priority}:
        return PRIORITIES[Priority(value)].label
    return str(value)


def _role(value: Any) -> str:
    return ROLES[Role(value)].label if value in {r.value for r in Role} else str(value)


def words_for(session: Session, events: Sequence[AuditEvent]) -> audit.Words:
    """The vocabulary of these events' details, with the area names their codes need (one query)."""
    codes: set[str] = set()
    for e in events:
        codes.update(str(a) for a in e.details.get("areas", []) if isinstance(a, str))
        for t in e.details.get("targets", []) if isinstance(e.details.get("targets"), list) else []:
            parts = str(t).split(":")
            if len(parts) >= 2:
                codes.add(parts[1])
    names = (
        dict(session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes))).all())
        if codes
        else {}
    )

    def target(token: Any) -> str:
        kind, _, rest = str(token).partition(":")
        code, _, language = rest.partition(":")
        name = names.get(code)
        if name is None:
            label = (
                TARGET_KIND_LABELS.get(TargetKind(kind)) if kind in {k.value for k in TargetKind} else None
            )
            name = f"{label or 'nơi phát'} {code}"
        spoken = LANGUAGES[language].label if language in LANGUAGES and language != "vi" else ""
        return f"{name} ({spoken})" if spoken else name

    def reason(value: Any) -> str:
        head = str(value).split(":")[0]
        return MANIFEST_REASONS.get(head, str(value))

    return {
        "from": _status_or_time,
        "to": _status_or_time,
        "priority": _priority,
        "role": _role,
        "reason": reason,
        "incremental": lambda v: "chỉ các cụm loa có thay đổi" if v else "lập lại toàn bộ",
        "kind": lambda v: command_label(str(v)),
        "language": lambda v: LANGUAGES[v].label if v in LANGUAGES else str(v),
        "areas": lambda v: (
            ", ".join(names.get(str(c), str(c)) for c in v) or "—" if isinstance(v, list) else str(v)
        ),
        "targets": lambda v: ", ".join(target(t) for t in v) if isinstance(v, list) else str(v),
        "args": lambda v: (
            ", ".join(f"{k}: {x}" for k, x in v.items() if k in ("title", "level")) or "—"
            if isinstance(v, Mapping)
            else str(v)
        ),
    }


def _names(session: Session, events: Iterable[AuditEvent]) -> dict[tuple[str, str], str]:
    """(target type, id) → the name of the record it names, one query per type."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        kind = "programme" if e.target_type == "slot" else e.target_type
        ident = e.target_id.split("-")[0] if e.target_type == "slot" else e.target_id
        if kind in NAMED_BY and ident:
            wanted[kind].add(ident)
    out: dict[tuple[str, str], str] = {}
    for kind, idents in wanted.items():
        key, name = NAMED_BY[kind]
        values: list[Any] = (
            [int(i) for i in idents if i.isdigit()] if key.type.python_type is int else list(idents)
        )
        if values:
            for ident, label in session.execute(select(key, name).where(key.in_(values))):
                out[(kind, str(ident))] = str(label)
    return out


def target_text(event: AuditEvent, names: Mapping[tuple[str, str], str]) -> str:
    """ "Chương trình «Bản tin sáng»", "Buổi phát 07:00 ngày 16/01/2023 của «Bản tin sáng»"."""
    kind = event.target_type
    if not kind:
        return ""
    label = TARGET_TYPES.get(kind, "Đối tượng")
    if kind == "slot":
        programme_id, _, stamp = event.target_id.partition("-")
        when = ""
        try:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M")
            when = f" {at:%H:%M} ngày {at:%d/%m/%Y}"
        except ValueError:
            pass
        programme = names.get(("programme", programme_id)) or event.details.get("programme")
        return f"{label}{when}" + (f" của «{programme}»" if programme else "")
    name = names.get((kind, event.target_id))
    for key in ("name", "title", "programme", "username", "register"):
        if not name and isinstance(event.details.get(key), str):
            name = event.details[key]
    if name:
        return f"{label} «{name}»"
    if kind == "device" and not event.target_id.isascii():  # "12 cụm loa": already words
        return event.target_id
    return label


@router.get("/audit")
def audit_page(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    action: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    require(principal, Permission.VIEW_AUDIT)
    result = audit.query(db, principal=principal, action=action or None, page=page, per_page=50)
    words = words_for(db, result.events)
    names = _names(db, result.events)
    details: Callable[[Mapping[str, Any]], str] = lambda d: audit.details_text(d, words)  # noqa: E731
    return render(
        request,
        "accounts/audit.html",
        {
            "active_nav": "audit",
            "result": result,
            "action": action,
            "filters": AUDIT_FILTERS,
            "label": audit.action_label,
            "details_text": details,
            "target_text": lambda e: target_text(e, names),
            "when": format_vietnam_time,
        },
    )

"""JSON routes of scheduling around devices: a loudspeaker's day (duty beside receipts), the full
recompilation, the manifest public key and a station's iCalendar export."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from loa.accounts.deps import ApiPrincipal
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.db.base import utcnow
from loa.errors import PermissionDenied
from loa.protocol.manifest import key_id, public_key_bytes
from loa.schedule import calendar, deviceday, hooks
from loa.schedule.api import query_date, today_local
from loa.schedule.ics import IcsEvent, calendar_bytes
from loa.schedule.manifests import compile_and_store, signing_key
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["schedule"])
ICS_DEFAULT_DAYS = 90


@router.get("/devices/{uid}/schedule")
def device_schedule(
    uid: str, db: SessionDep, principal: ApiPrincipal, date_: str | None = Query(default=None, alias="date")
) -> dict[str, Any]:
    """Loa này phát gì trong ngày (đã xử lý ưu tiên và ngắt quãng như trên thiết bị)."""
    day = deviceday.device_day(
        db, principal=principal, uid=uid, day=query_date(date_, today_local(), "date"), now=utcnow()
    )
    return {
        "device_id": uid,
        "date": day.day.isoformat(),
        "content_hash": day.content_hash,
        "items": [
            {
                "title": r.title,
                "source_id": r.source_id,
                "start_local": r.planned_start_local.isoformat() if r.planned_start_local else None,
                "end_local": r.planned_end_local.isoformat() if r.planned_end_local else None,
                "played_start_local": r.played_start_local.isoformat() if r.played_start_local else None,
                "duration_ms": r.duration_ms,
                "priority": r.priority,
                "priority_label": r.rung_label,
                "status": r.evidence.value,  # from its receipts: played, partial, failed, missing, upcoming
                "status_label": r.status_label,
                "planned_status": r.status.value if r.status is not None else None,  # the prediction
                "planned_status_label": r.planned_label,
                "message": r.message,
            }
            for r in day.rows
        ],
        "conflicts": list(day.conflicts),
        "overfull": list(day.overfull),
        "notices": list(day.notices),
    }


@router.post("/schedule/compile")
def compile_all(db: SessionDep, principal: ApiPrincipal, settings: SettingsDep) -> dict[str, Any]:
    """Lập lại toàn bộ lịch phát 48 giờ tới cho mọi thiết bị (chỉ quản trị hệ thống)."""
    if not principal.is_admin:
        raise PermissionDenied("Chỉ quản trị hệ thống được lập lại toàn bộ lịch phát.", code="admin_only")
    report = compile_and_store(
        db,
        key=signing_key(settings.data_dir),
        cache=hooks.cache_for(db),
        full=True,
        actor=principal,
        reason="admin",
    )
    db.commit()
    return report.as_dict()


@router.get("/schedule/public-key")
def public_key(settings: SettingsDep) -> dict[str, str]:
    """Khóa công khai Ed25519 dùng để kiểm tra chữ ký lịch phát."""
    key = signing_key(settings.data_dir)
    return {
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(public_key_bytes(key)).decode(),
        "key_id": key_id(key),
    }


@router.get("/stations/{station_id}/schedule.ics")
def station_ics(
    station_id: int,
    request: Request,
    db: SessionDep,
    principal: ApiPrincipal,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = None,
) -> Response:
    """Lịch phát của đài dạng iCalendar (RFC 5545) để mở bằng ứng dụng lịch."""
    require(principal, Permission.VIEW)
    start = query_date(from_, today_local(), "from")
    end = query_date(to, start + timedelta(days=ICS_DEFAULT_DAYS), "to")
    start_at, end_at = calendar.day_range(start, end)
    station, events = calendar.station_events(
        db, principal=principal, station_id=station_id, start_at=start_at, end_at=end_at
    )
    host = request.url.hostname or "loa"
    body = calendar_bytes(
        (
            IcsEvent(
                uid=e.uid.replace("@loa", f"@{host}"),
                start_at=e.start_at,
                end_at=e.end_at,
                summary=e.title,
                description=f"Mức ưu tiên: {e.rung_label}."
                + (f" Danh mục: {e.item_count} mục." if e.kind == "slot" else " Thông báo."),
                location=station.name,
                status="CANCELLED" if e.status == "cancelled" else "CONFIRMED",
                categories=("Chương trình" if e.kind == "slot" else "Thông báo",),
            )
            for e in events
        ),
        name=f"Lịch phát sóng – {station.name}",
        generated_at=utcnow(),
    )
    filename = f"lich-phat-dai-{station.id}.ics"
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

"""JSON routes of emergency alerts (``loa.alerts.service``), for a provincial warning system or a
script: list, start, stop. Bearer token or session, the same permissions and scope as the page."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.fleet import commands
from loa.protocol.messages import REPEAT_GAP_MAX_S
from loa.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertIn(BaseModel):
    commune_codes: list[str] = Field(min_length=1, max_length=5000)
    audio_sha256: str = Field(min_length=64, max_length=64)
    repeat_gap_s: int = Field(default=commands.DEFAULT_REPEAT_GAP_S, ge=0, le=REPEAT_GAP_MAX_S)


class AlertOut(BaseModel):
    id: int
    title: str
    audio_sha256: str
    commune_codes: list[str]
    repeat_gap_s: int
    device_count: int
    acknowledged: int | None = None
    started_by: str
    started_at: datetime
    stopped_by: str | None
    stopped_at: datetime | None


def _out(alert: EmergencyAlert, acknowledged: int | None = None) -> AlertOut:
    return AlertOut(
        id=alert.id,
        title=alert.title,
        audio_sha256=alert.audio_sha256,
        commune_codes=json.loads(alert.commune_codes),
        repeat_gap_s=alert.repeat_gap_s,
        device_count=alert.device_count,
        acknowledged=acknowledged,
        started_by=alert.started_by,
        started_at=alert.started_at,
        stopped_by=alert.stopped_by,
        stopped_at=alert.stopped_at,
    )


@router.get("", response_model=list[AlertOut])
def list_alerts(db: SessionDep, principal: ApiPrincipal) -> list[AlertOut]:
    """Các cảnh báo khẩn cấp gần đây trong địa bàn (mới nhất trước), kèm số cụm loa đã nhận."""
    require(principal, Permission.VIEW)
    return [_out(r.alert, r.acknowledged) for r in alerts.list_alerts(db, principal)]


@router.post("", response_model=AlertOut, status_code=202)
def start_alert(body: AlertIn, request: Request, db: SessionDep, principal: ApiPrincipal) -> AlertOut:
    """Phát cảnh báo khẩn cấp (mức 900) tới mọi cụm loa đang hoạt động của các xã, lặp lại đến khi dừng."""
    alert = alerts.start_alert(
        db,
        principal=principal,
        commune_codes=body.commune_codes,
        audio_sha256=body.audio_sha256,
        repeat_gap_s=body.repeat_gap_s,
        ip=client_ip(request),
    )
    db.commit()
    return _out(alert)


@router.post("/{alert_id}/stop", response_model=AlertOut)
def stop_alert(alert_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> AlertOut:
    """Dừng cảnh báo trên các cụm loa của các xã đã nhận."""
    alert = alerts.stop_alert(db, principal=principal, alert_id=alert_id, ip=client_ip(request))
    db.commit()
    return _out(alert)

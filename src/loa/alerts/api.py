"""JSON routes of emergency alerts (``loa.alerts.service``), for a provincial warning system or a
script: list, start, stop, and the acknowledgement board of one alert. Bearer token or session, the
same permissions and scope as the page."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.alerts import board as boards
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.alerts.views import aired_audio
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
    hazard: str | None = None
    risk_level: int | None = None
    status: str = "active"
    expires_at: datetime | None = None
    aired_sha256: str | None = None  # lead-in + message, what the loudspeakers play each round


class BoardDeviceOut(BaseModel):
    device_id: str
    name: str
    commune: str
    state: boards.DeviceState
    acknowledged_at: datetime | None
    rounds_played: int
    online: bool
    last_seen_at: datetime | None
    stop_result: str | None


class BoardOut(BaseModel):
    alert: AlertOut
    total: int
    acknowledged: int
    counts: dict[str, int]
    time_to_s: dict[str, float | None]  # "50", "90", "99" → seconds from the start (None: not yet)
    stopped_confirmed: int
    devices: list[BoardDeviceOut]


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
        hazard=alert.hazard,
        risk_level=alert.risk_level,
        status=alert.status,
        expires_at=alert.expires_at,
        aired_sha256=alert.aired_sha256,
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
        aired=aired_audio(request),
    )
    db.commit()
    return _out(alert)


@router.post("/{alert_id}/stop", response_model=AlertOut)
def stop_alert(alert_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> AlertOut:
    """Dừng cảnh báo trên các cụm loa của các xã đã nhận."""
    alert = alerts.stop_alert(db, principal=principal, alert_id=alert_id, ip=client_ip(request))
    db.commit()
    return _out(alert)


@router.get("/{alert_id}/board", response_model=BoardOut)
def alert_board(alert_id: int, db: SessionDep, principal: ApiPrincipal) -> BoardOut:
    """Bảng theo dõi phản hồi: từng cụm loa đã nhận / đang phát / đã phát / chưa phản hồi, thời gian đạt
    50/90/99% phản hồi, và (sau khi dừng) cụm loa nào đã xác nhận lệnh dừng."""
    require(principal, Permission.VIEW)
    board = boards.build_board(db, alerts.visible_alert(db, principal, alert_id))
    return BoardOut(
        alert=_out(board.alert, board.acknowledged),
        total=board.total,
        acknowledged=board.acknowledged,
        counts={state.value: n for state, n in board.counts.items()},
        time_to_s={str(q): s for q, s in board.time_to_s.items()},
        stopped_confirmed=board.stopped_confirmed,
        devices=[
            BoardDeviceOut(
                device_id=r.uid,
                name=r.name,
                commune=r.commune,
                state=r.state,
                acknowledged_at=r.acknowledged_at,
                rounds_played=r.rounds_played,
                online=r.online,
                last_seen_at=r.last_seen_at,
                stop_result=r.stop_result,
            )
            for r in board.rows
        ],
    )

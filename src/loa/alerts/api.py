"""JSON routes of emergency alerts (``loa.alerts.service``), for a provincial warning system or a
script: list, count what a target covers, start (typed text spoken at once, or stored audio), confirm as
the second person, stop, and the acknowledgement board of one alert. Bearer token or session, the same
permissions and scope as the page.

A script's call is its own confirmation (there is no page to show); the province's two-person rule
applies to it all the same (``loa.alerts.confirm``): such an alert comes back ``pending_confirmation``."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.responses import Response

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.alerts import board as boards
from loa.alerts import compose, confirm, targeting
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.alerts.views import aired_audio
from loa.db.base import utcnow
from loa.fleet import commands
from loa.protocol.messages import REPEAT_GAP_MAX_S
from loa.speech.runtime import runtime_for
from loa.web.deps import SessionDep
from loa.web.errors import problem

MAX_BODY_BYTES = 256 * 1024  # a warning of 4000 characters, 2000 chosen places, 200 corners: far less
BODY_TOO_LARGE = (
    f"Dữ liệu gửi quá lớn (tối đa {MAX_BODY_BYTES // 1024} KB): nội dung cảnh báo tối đa "
    f"{compose.MAX_WARNING_CHARS} ký tự, vùng vẽ trên bản đồ tối đa {targeting.POLYGON_MAX_POINTS} đỉnh."
)
LENGTH_REQUIRED = "Hãy gửi kèm độ dài dữ liệu (Content-Length): không nhận dữ liệu gửi theo từng khúc."


class BoundedRoute(APIRoute):
    """A body is refused before it is read (so before JSON parsing and validation) when it is larger
    than ``MAX_BODY_BYTES`` or streamed without its length: a hostile call costs bounded memory."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if not declared and "transfer-encoding" in request.headers:
                return problem(411, "length_required", LENGTH_REQUIRED)
            if declared and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
                return problem(413, "payload_too_large", BODY_TOO_LARGE)
            return await handler(request)

        return bounded


router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], route_class=BoundedRoute)


class TargetIn(BaseModel):
    """Where: every commune of the caller's areas, chosen communes, villages, device groups, or a polygon
    of ``[latitude, longitude]`` corners (3–200)."""

    mode: Literal["province", "communes", "villages", "groups", "polygon"] = "communes"
    communes: list[str] = Field(default_factory=list, max_length=targeting.MAX_CHOSEN)
    villages: list[str] = Field(default_factory=list, max_length=targeting.MAX_CHOSEN)
    groups: list[int] = Field(default_factory=list, max_length=targeting.MAX_CHOSEN)
    # Bounded by the body's size; more than 200 corners is refused in words by ``parse_polygon``.
    polygon: list[tuple[float, float]] = Field(default_factory=list)

    def choice(self) -> targeting.TargetChoice:
        return targeting.TargetChoice(
            mode=self.mode,
            communes=tuple(self.communes),
            villages=tuple(self.villages),
            groups=tuple(self.groups),
            polygon=targeting.parse_polygon([list(p) for p in self.polygon])
            if self.mode == "polygon"
            else (),
        )


class AlertIn(BaseModel):
    commune_codes: list[str] = Field(default_factory=list, max_length=5000)  # or ``target``
    target: TargetIn | None = None
    audio_sha256: str | None = Field(default=None, min_length=64, max_length=64)  # or ``text``
    text: str | None = None  # bounded by the body's size; ``compose.check_text`` refuses it in words
    hazard: str | None = Field(default=None, max_length=32)
    risk_level: int | None = Field(default=None, ge=1, le=5)
    expires_at: datetime | None = None
    repeat_gap_s: int = Field(default=commands.DEFAULT_REPEAT_GAP_S, ge=0, le=REPEAT_GAP_MAX_S)


class CoverageOut(BaseModel):
    devices: int
    people: int | None
    villages_counted: int
    commune_codes: list[str]
    communes: list[str]


class AlertOut(BaseModel):
    id: int
    title: str
    audio_sha256: str
    commune_codes: list[str]
    repeat_gap_s: int
    device_count: int
    status: str
    hazard: str | None
    risk_level: int | None
    confirmed_by: str | None
    acknowledged: int | None = None
    started_by: str
    started_at: datetime
    stopped_by: str | None
    stopped_at: datetime | None
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
        status=alert.status,
        hazard=alert.hazard,
        risk_level=alert.risk_level,
        confirmed_by=alert.confirmed_by,
        acknowledged=acknowledged,
        started_by=alert.started_by,
        started_at=alert.started_at,
        stopped_by=alert.stopped_by,
        stopped_at=alert.stopped_at,
        expires_at=alert.expires_at,
        aired_sha256=alert.aired_sha256,
    )


@router.get("", response_model=list[AlertOut])
def list_alerts(db: SessionDep, principal: ApiPrincipal) -> list[AlertOut]:
    """Các cảnh báo khẩn cấp gần đây trong địa bàn (mới nhất trước), kèm số cụm loa đã nhận."""
    require(principal, Permission.VIEW)
    return [_out(r.alert, r.acknowledged) for r in alerts.list_alerts(db, principal)]


@router.post("/coverage", response_model=CoverageOut)
def alert_coverage(body: TargetIn, db: SessionDep, principal: ApiPrincipal) -> CoverageOut:
    """Bao nhiêu cụm loa (và bao nhiêu người, theo số dân các thôn) nằm trong nơi nhận đã chọn."""
    require(principal, Permission.BROADCAST)
    c = targeting.resolve(db, principal, body.choice())
    return CoverageOut(
        devices=c.devices,
        people=c.people,
        villages_counted=c.villages_counted,
        commune_codes=c.commune_codes,
        communes=c.commune_names,
    )


@router.post("", response_model=AlertOut, status_code=202)
def start_alert(body: AlertIn, request: Request, db: SessionDep, principal: ApiPrincipal) -> AlertOut:
    """Phát cảnh báo khẩn cấp (mức 900) tới các cụm loa đang hoạt động của nơi nhận, lặp lại đến khi dừng:
    ``text`` được đọc bằng giọng máy ngay (hoặc ``audio_sha256``: âm thanh đã có). Khi tỉnh quy định cấp độ
    này cần người thứ hai, cảnh báo chờ lãnh đạo xác nhận (``status``: ``pending_confirmation``)."""
    require(principal, Permission.BROADCAST)
    pressed_at = utcnow()
    target = body.target or TargetIn(mode="communes", communes=body.commune_codes)
    warning = compose.Warning(
        coverage=targeting.resolve(db, principal, target.choice()),
        hazard=body.hazard,
        risk_level=body.risk_level,
        repeat_gap_s=commands.check_repeat_gap(body.repeat_gap_s),
        expires_at=body.expires_at,
        text=body.text or "",
        audio_sha256=body.audio_sha256 or "",
    )
    context = runtime_for(request.app.state).context
    alert = compose.send(
        db,
        principal=principal,
        context=context,
        warning=warning,
        pressed_at=pressed_at,
        ip=client_ip(request),
        aired=aired_audio(request),
    )
    db.commit()
    return _out(alert)


@router.post("/{alert_id}/confirm", response_model=AlertOut)
def confirm_alert(alert_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> AlertOut:
    """Người thứ hai (lãnh đạo của mọi xã nhận, không phải người soạn) xác nhận: cảnh báo phát ngay."""
    alert = confirm.confirm_pending(
        db, principal=principal, alert_id=alert_id, ip=client_ip(request), aired=aired_audio(request)
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

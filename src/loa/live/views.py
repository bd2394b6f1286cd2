"""The "Phát trực tiếp" page: choose communes/villages, go on air from the browser's microphone
(``/static/live.js``: getUserMedia → MediaRecorder WebM/Opus → WebSocket ``/live/ws/{id}``), see the
level, the elapsed time and how many loudspeakers are listening, stop. Also the recent sessions with
their recordings, and each station's source credentials for an external encoder."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from starlette.responses import JSONResponse, RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.logic import format_vietnam_time
from loa.accounts.principal import Permission
from loa.accounts.scope import in_scope, require
from loa.errors import InvalidInput, LoaError
from loa.live import service
from loa.live.api import runtime_for, session_status, stream_base_url
from loa.live.models import KIND_LABELS, STATUS_LABELS, StreamKind, StreamStatus
from loa.live.relay_url import allowed_hosts
from loa.protocol.streams import live_mount, relay_mount
from loa.units.models import AdminUnit, UnitKind
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_COMMUNES = 30
_COMMUNES = (UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE)
_VILLAGES = (UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)


def _choices(db: Any, principal: Any) -> list[dict[str, Any]]:
    communes = list(
        db.scalars(
            select(AdminUnit)
            .where(AdminUnit.kind.in_(_COMMUNES), in_scope(principal, AdminUnit.path))
            .order_by(AdminUnit.name)
            .limit(MAX_COMMUNES)
        )
    )
    villages: dict[int, list[AdminUnit]] = {c.id: [] for c in communes}
    if communes:
        for v in db.scalars(
            select(AdminUnit)
            .where(AdminUnit.parent_id.in_(list(villages)), AdminUnit.kind.in_(_VILLAGES))
            .order_by(AdminUnit.name)
        ):
            villages[v.parent_id].append(v)
    return [{"code": c.code, "name": c.name, "villages": villages[c.id]} for c in communes]


@router.get("/live")
def live_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    can = principal.has(Permission.BROADCAST)
    runtime = runtime_for(request.app.state) if can else None
    choices = _choices(db, principal) if can else []
    base = stream_base_url(request, runtime) if runtime is not None else ""
    encoders = [
        {
            "name": c["name"],
            "live_url": f"{base}/{live_mount(c['code'])}",
            "relay_url": f"{base}/{relay_mount(c['code'])}",
            "password": runtime.source_password(c["code"]) if runtime is not None else "",
        }
        for c in choices
    ]
    rows = service.sessions_list(db, principal=principal)
    context = {
        "active_nav": "live",
        "can_broadcast": can,
        "communes": choices,
        "encoders": encoders,
        "rows": rows,
        "kind_labels": {k.value: v for k, v in KIND_LABELS.items()},
        "status_labels": {k.value: v for k, v in STATUS_LABELS.items()},
        "when": format_vietnam_time,
        "on_air": [
            r for r in rows if r.status == StreamStatus.ON_AIR.value and r.kind == StreamKind.LIVE.value
        ],
    }
    return render(request, "live/index.html", context)


def _error(err: LoaError) -> JSONResponse:
    return JSONResponse({"error": err.message}, status_code=err.status)


@router.post("/live/start")
def live_start(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    codes: Annotated[list[str] | None, Form()] = None,
    title: Annotated[str, Form()] = "",
) -> Response:
    try:
        row = service.start_live(
            db,
            principal=principal,
            codes=codes or [],
            title=title,
            stream_base_url=stream_base_url(request, runtime_for(request.app.state)),
        )
    except LoaError as err:
        db.rollback()
        return _error(err)
    db.commit()
    return JSONResponse(session_status(row, 0), status_code=201)


@router.post("/live/{stream_id}/stop")
def live_stop(stream_id: int, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep) -> Response:
    try:
        row = service.stop(db, principal=principal, stream_id=stream_id)
    except LoaError as err:
        db.rollback()
        return _error(err)
    db.commit()
    return JSONResponse(session_status(row, 0))


@router.get("/live/{stream_id}/status")
async def live_status(stream_id: int, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    try:
        row = service.get_session(db, principal=principal, stream_id=stream_id)
    except LoaError as err:
        return _error(err)
    runtime = runtime_for(request.app.state)
    listeners = await runtime.server.listeners(row.mount) if row.status == StreamStatus.ON_AIR.value else 0
    if listeners > row.max_listeners:
        service.note_listeners(db, row, listeners)
        db.commit()
    return JSONResponse(session_status(row, listeners))


@router.post("/live/relays")
def relay_schedule(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    codes: Annotated[list[str] | None, Form()] = None,
    title: Annotated[str, Form()] = "",
    source_url: Annotated[str, Form()] = "",
    start_local: Annotated[str, Form()] = "",
    end_local: Annotated[str, Form()] = "",
) -> Response:
    """A relay from the page's form: local times (Asia/Ho_Chi_Minh) from ``datetime-local`` inputs."""
    try:
        start_at, end_at = _local(start_local), _local(end_local)
        service.schedule_relay(
            db,
            principal=principal,
            codes=codes or [],
            title=title,
            source_url=source_url,
            start_at=start_at,
            end_at=end_at,
            stream_base_url=stream_base_url(request, runtime_for(request.app.state)),
            allowed_hosts=allowed_hosts(request.app.state.settings.relay_allowed_hosts),
        )
    except LoaError as err:
        db.rollback()
        return render(
            request, "live/relay_error.html", {"active_nav": "live", "error": err.message}, err.status
        )
    db.commit()
    return RedirectResponse("/live", status_code=303)


def _local(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as err:
        raise InvalidInput(
            "Giờ tiếp sóng không hợp lệ (ngày và giờ, ví dụ 07/12/2026 06:00).", code="relay_time"
        ) from err
    return value.replace(tzinfo=VIETNAM) if value.tzinfo is None else value

"""The out-of-band page (``/alerts/sms``): which warning clips every loudspeaker keeps, and the SMS to
send from a phone to make chosen loudspeakers play one (or stop) when the data network is down."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require
from loa.alerts import clips, levels
from loa.errors import LoaError
from loa.fleet.models import Device
from loa.speech.runtime import runtime_for
from loa.units.models import AdminUnit
from loa.web.deps import SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("sms_flash")
DEVICES_LISTED = 300


def _devices(db: Session, principal: Principal) -> list[tuple[str, str, str]]:
    rows = db.execute(
        select(Device.uid, Device.name, AdminUnit.name)
        .join(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.active.is_(True), in_scope(principal, AdminUnit.path))
        .order_by(AdminUnit.name, Device.name)
        .limit(DEVICES_LISTED)
    )
    return [(uid, name, commune) for uid, name, commune in rows]


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    texts: list[clips.SmsText] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "active_nav": "alerts",
        "flash": _pop_flash(request),
        "error": error,
        "clips": clips.current_clips(db),
        "levels": levels.RISK_LEVELS,
        "devices": _devices(db, principal) if principal.has(Permission.BROADCAST) else [],
        "can_broadcast": principal.has(Permission.BROADCAST),
        "is_admin": principal.is_admin,
        "texts": texts or [],
    }
    return render(request, "alerts/sms.html", context, status_code=status)


@router.get("/alerts/sms")
def sms_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _page(request, db, principal)


@router.post("/alerts/sms")
def sms_compose(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    level: Annotated[str, Form()] = "",
    devices: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        texts = clips.compose_sms(
            db,
            principal=principal,
            device_uids=devices or [],
            action=int(level) if level.isdigit() else -1,
            data_dir=request.app.state.settings.data_dir,
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    return _page(request, db, principal, texts=texts)


@router.post("/alerts/sms/clips")
def sms_make_clips(
    request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    try:
        clips.make_clips(
            db, principal=principal, speech=runtime_for(request.app.state).context, ip=client_ip(request)
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(request, "Đã tạo đoạn cảnh báo soạn sẵn cho 5 cấp độ; mọi cụm loa sẽ tải về qua lịch phát.")
    return RedirectResponse("/alerts/sms", status_code=303)

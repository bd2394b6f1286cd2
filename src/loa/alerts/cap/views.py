"""The page of CAP drafts (``/alerts/cap``): alerts made from CAP messages that wait for a person, with
what they say, where and how severe; send one now or withdraw it. The JSON twin of the two actions is
``POST /api/v1/cap/drafts/{id}/send`` (``loa.alerts.cap.api``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import confirm, levels
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.alerts.views import aired_audio
from loa.errors import LoaError
from loa.fleet import present
from loa.units.models import AdminUnit
from loa.web.deps import SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("cap_flash")


@dataclass(frozen=True)
class DraftRow:
    alert: EmergencyAlert
    communes: list[str]
    hazard: levels.Hazard | None
    level: levels.RiskLevel | None


def cap_drafts(session: Session, principal: Principal) -> list[DraftRow]:
    """CAP alerts waiting for a person, in the principal's areas, newest first."""
    rows = list(
        session.scalars(
            select(EmergencyAlert)
            .where(EmergencyAlert.source == "cap", EmergencyAlert.status == alerts.DRAFT)
            .order_by(EmergencyAlert.id.desc())
            .limit(200)
        )
    )
    codes = sorted({c for a in rows for c in json.loads(a.commune_codes)})
    units = {
        u.code: u
        for u in session.scalars(
            select(AdminUnit).where(AdminUnit.code.in_(codes), AdminUnit.valid_to.is_(None))
        )
    }
    out = []
    for alert in rows:
        mine = [units[c] for c in json.loads(alert.commune_codes) if c in units]
        if not any(principal.can_access_path(u.path) for u in mine):
            continue
        out.append(
            DraftRow(
                alert,
                [u.name for u in mine],
                levels.HAZARDS.get(alert.hazard or ""),
                levels.RISK_LEVELS.get(alert.risk_level or 0),
            )
        )
    return out


def _page(
    request: Request, db: Session, principal: Principal, *, error: str | None = None, status: int = 200
) -> Response:
    context = {
        "active_nav": "alerts",
        "flash": _pop_flash(request),
        "error": error,
        "rows": cap_drafts(db, principal),
        "can_broadcast": principal.has(Permission.BROADCAST),
        "when": present.when,
    }
    return render(request, "alerts/cap.html", context, status_code=status)


@router.get("/alerts/cap")
def cap_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _page(request, db, principal)


@router.post("/alerts/cap/{alert_id}/send")
def cap_send(
    alert_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    try:
        alert = confirm.send_draft(
            db, principal=principal, alert_id=alert_id, ip=client_ip(request), aired=aired_audio(request)
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    if alert.status == alerts.PENDING_CONFIRMATION:
        _flash(request, f"Cảnh báo «{alert.title}» chờ lãnh đạo xác nhận (người thứ hai) trước khi phát.")
    else:
        _flash(request, f"Đã phát cảnh báo «{alert.title}» tới {alert.device_count} cụm loa.")
    return RedirectResponse("/alerts/cap", status_code=303)


@router.post("/alerts/cap/{alert_id}/withdraw")
def cap_withdraw(
    alert_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    try:
        alert = alerts.stop_alert(db, principal=principal, alert_id=alert_id, ip=client_ip(request))
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(request, f"Đã hủy bản nháp «{alert.title}»; không cụm loa nào phát.")
    return RedirectResponse("/alerts/cap", status_code=303)

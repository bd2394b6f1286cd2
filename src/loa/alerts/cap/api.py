"""CAP 1.2 routes: a warning system posts a message (``POST /api/v1/cap``, with the API token of the
account it acts as: its areas and rights), and any system reads an alert as CAP
(``GET /api/v1/alerts/{id}.cap``) or the active ones as an Atom feed (``GET /api/v1/cap/alerts.atom``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import confirm
from loa.alerts import service as alerts
from loa.alerts.cap import export
from loa.alerts.cap.parse import CapRefused, CapTooLarge, read_bounded_async
from loa.alerts.cap.service import CapPolicy, IngestResult, count_refusal, ingest
from loa.alerts.models import EmergencyAlert
from loa.alerts.service import AiredAudio
from loa.alerts.views import aired_audio
from loa.db.base import utcnow
from loa.speech.runtime import runtime_for
from loa.speech.service import SpeechContext
from loa.units.models import AdminUnit
from loa.web.deps import SessionDep

router = APIRouter(tags=["alerts"])
CAP_MEDIA_TYPE = "application/cap+xml"


class CapResult(BaseModel):
    outcome: str
    message: str
    alert_ids: list[int]


def policy_of(request: Request) -> CapPolicy:
    state = request.app.state
    policy: CapPolicy | None = getattr(state, "cap_policy", None)
    if policy is None:
        policy = state.cap_policy = CapPolicy.from_settings(state.settings)
    return policy


@router.post("/api/v1/cap", response_model=CapResult, status_code=202)
async def post_cap(request: Request, db: SessionDep, principal: ApiPrincipal) -> CapResult:
    """Nhận một bản tin CAP 1.2 (XML): tạo bản nháp cảnh báo chờ xác nhận, cập nhật hoặc dừng cảnh báo."""
    require(principal, Permission.BROADCAST)
    policy = policy_of(request)
    declared = request.headers.get("content-length", "")
    try:
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise CapTooLarge(f"Bản tin CAP quá lớn (tối đa {policy.max_bytes // 1024} KB).")
        data = await read_bounded_async(request.stream(), policy.max_bytes)
    except CapTooLarge as err:
        await run_in_threadpool(_count, db, err.reason)
        raise
    speech = runtime_for(request.app.state).context
    # The parse, the TTS and the writes are blocking work: off the event loop.
    result = await run_in_threadpool(
        _ingest,
        db,
        principal=principal,
        data=data,
        policy=policy,
        speech=speech,
        aired=aired_audio(request),
        ip=client_ip(request),
    )
    return CapResult(outcome=result.outcome, message=result.message, alert_ids=list(result.alert_ids))


def _ingest(
    db: Session,
    *,
    principal: Principal,
    data: bytes,
    policy: CapPolicy,
    speech: SpeechContext,
    aired: AiredAudio,
    ip: str,
) -> IngestResult:
    """One message in its transaction; a refusal is counted in a transaction of its own."""
    try:
        result = ingest(db, principal=principal, data=data, policy=policy, speech=speech, aired=aired, ip=ip)
    except (CapRefused, CapTooLarge) as err:
        _count(db, err.reason)
        raise
    db.commit()
    return result


def _count(db: Session, reason: str) -> None:
    db.rollback()
    count_refusal(db, reason)
    db.commit()


def exported(session: Session, alert: EmergencyAlert) -> export.ExportedAlert:
    codes: list[str] = json.loads(alert.commune_codes)
    rows = session.execute(
        select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes), AdminUnit.valid_to.is_(None))
    )
    names = {code: name for code, name in rows}
    target = json.loads(alert.target) if alert.target else {}
    polygon = target.get("polygon") if isinstance(target, dict) else None
    return export.ExportedAlert(
        id=alert.id,
        title=alert.title,
        hazard=alert.hazard,
        risk_level=alert.risk_level,
        message_text=alert.message_text,
        started_at=alert.started_at,
        expires_at=alert.expires_at,
        stopped_at=alert.stopped_at,
        communes=[(c, names.get(c, c)) for c in codes],
        polygon=polygon if isinstance(polygon, list) else None,
        source=alert.source,
        source_ref=alert.source_ref,
        narrowed=isinstance(target, dict) and "device_uids" in target,
    )


def _visible(session: Session, principal: Principal, alert_id: int) -> EmergencyAlert:
    # The alerts service's own rule: an alert outside every area of the principal is "not found".
    return alerts.visible_alert(session, principal, alert_id)


@router.get("/api/v1/alerts/{alert_id}.cap", response_class=Response)
def alert_as_cap(alert_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> Response:
    """Cảnh báo dưới dạng bản tin CAP 1.2 (XML)."""
    require(principal, Permission.VIEW)
    alert = _visible(db, principal, alert_id)
    body = export.to_cap(exported(db, alert), sender=policy_of(request).sender)
    return Response(body, media_type=CAP_MEDIA_TYPE)


@router.get("/api/v1/cap/alerts.atom", response_class=Response)
def active_alerts_feed(request: Request, db: SessionDep, principal: ApiPrincipal) -> Response:
    """Nguồn tin Atom các cảnh báo đang phát trong địa bàn, mỗi mục dẫn tới bản tin CAP của nó."""
    require(principal, Permission.VIEW)
    rows = [r.alert for r in alerts.list_alerts(db, principal) if r.active]
    base = str(request.base_url).rstrip("/")
    body = export.atom_feed(
        [exported(db, a) for a in rows],
        sender=policy_of(request).sender,
        feed_url=f"{base}/api/v1/cap/alerts.atom",
        alert_url=base + "/api/v1/alerts/{id}.cap",
        now=utcnow(),
    )
    return Response(body, media_type="application/atom+xml")


class SentOut(BaseModel):
    id: int
    status: str
    device_count: int


@router.post("/api/v1/cap/drafts/{alert_id}/send", response_model=SentOut)
def send_draft(alert_id: int, request: Request, db: SessionDep, principal: ApiPrincipal) -> SentOut:
    """Phát bản nháp cảnh báo (từ bản tin CAP) sau khi người có thẩm quyền đã kiểm tra."""
    alert = confirm.send_draft(
        db, principal=principal, alert_id=alert_id, ip=client_ip(request), aired=aired_audio(request)
    )
    db.commit()
    return SentOut(id=alert.id, status=alert.status, device_count=alert.device_count)

"""The officers' pages of citizens' feedback: the queue of their communes (``/feedback``), one item
(assign, answer, make a bulletin draft of the answer), and the item's photo and voice note. The
phone number and name are shown only to officers of that commune (``service.sees_personal_data``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.models import User
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.db.base import utcnow
from loa.errors import LoaError, NotFound
from loa.feedback import logic, media, service, sms
from loa.feedback.models import Feedback, FeedbackState
from loa.topics.models import Topic
from loa.topics.service import list_topics
from loa.vocab.dates import vn_date
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("feedback_flash")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def when(value: datetime | None) -> str:
    return value.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else "—"


@router.get("/feedback")
def queue_page(
    request: Request, principal: WebPrincipal, db: SessionDep, state: str = "", commune: str = ""
) -> Response:
    require(principal, Permission.VIEW)
    chosen = FeedbackState(state) if state in {s.value for s in FeedbackState} else None
    rows = service.queue(db, principal=principal, state=chosen, commune_code=commune or None)
    now = utcnow()
    topics = {t.id: t.name for t in list_topics(db, include_inactive=True)}
    return render(
        request,
        "feedback/queue.html",
        {
            "active_nav": "feedback",
            "flash": _pop_flash(request),
            "rows": rows,
            "topics": topics,
            "states": logic.STATES,
            "chosen": chosen.value if chosen else "",
            "overdue": lambda f: logic.is_overdue(f.state, f.due_at, now),
            "when": when,
        },
    )


def _item_page(
    request: Request,
    db: Session,
    principal: Principal,
    item: Feedback,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    commune = service.commune_of(db, item)
    personal = service.sees_personal_data(principal, commune.path)
    assignee = db.get(User, item.assignee_id) if item.assignee_id else None
    topic = db.get(Topic, item.topic_id) if item.topic_id else None
    return render(
        request,
        "feedback/item.html",
        {
            "active_nav": "feedback",
            "flash": _pop_flash(request),
            "error": error,
            "item": item,
            "commune": commune,
            "topic": topic,
            "state": logic.STATES[item.state],
            "channel": logic.CHANNELS[item.channel],
            "personal": personal,
            "phone": item.phone if personal else logic.mask_phone(item.phone),
            "name": item.sender_name if personal else ("(ẩn)" if item.sender_name else ""),
            "assignee": assignee,
            "can_handle": service.can_handle(principal, commune.path),
            "people": service.assignable(db, commune=commune)
            if service.can_handle(principal, commune.path)
            else [],
            "overdue": logic.is_overdue(item.state, item.due_at, utcnow()),
            "when": when,
            "due": vn_date(item.due_at.astimezone(VIETNAM).date()),
        },
        status_code=status,
    )


@router.get("/feedback/{feedback_id}")
def item_page(feedback_id: int, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    return _item_page(request, db, principal, service.get_item(db, principal=principal, item_id=feedback_id))


def _act(request: Request, db: Session, principal: Principal, item_id: int, work: Any, done: str) -> Response:
    try:
        work()
    except LoaError as err:
        db.rollback()
        item = service.get_item(db, principal=principal, item_id=item_id)
        return _item_page(request, db, principal, item, error=err.message, status=err.status)
    db.commit()
    if done:
        _flash(request, done)
    return RedirectResponse(f"/feedback/{item_id}", status_code=303)


@router.post("/feedback/{feedback_id}/assign")
def assign(
    feedback_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    user_id: Annotated[int, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def work() -> None:
        service.assign(
            db,
            principal=principal,
            item_id=feedback_id,
            user_id=user_id,
            version=version,
            ip=client_ip(request),
        )

    return _act(request, db, principal, feedback_id, work, "Đã giao ý kiến cho cán bộ xử lý.")


@router.post("/feedback/{feedback_id}/reply")
def reply(
    feedback_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    def work() -> None:
        service.reply(
            db,
            principal=principal,
            item_id=feedback_id,
            text=text,
            now=utcnow(),
            version=version,
            ip=client_ip(request),
        )

    response = _act(
        request, db, principal, feedback_id, work, "Đã gửi trả lời. Người gửi xem được bằng mã tra cứu."
    )
    if response.status_code == 303:
        _notify(request, db, settings, feedback_id)
    return response


def _notify(request: Request, db: Session, settings: Any, item_id: int) -> None:
    """After the answer is committed: an SMS to the citizen who left a number (best effort, recorded)."""
    item = db.get(Feedback, item_id)
    if item is None or not item.phone:
        return
    gateway: sms.SmsGateway = getattr(request.app.state, "feedback_sms", None) or sms.gateway_for(settings)
    commune = service.commune_of(db, item)
    error = ""
    try:
        gateway.send(
            item.phone, sms.answer_notice(commune.name, vn_date(item.received_at.astimezone(VIETNAM).date()))
        )
    except sms.SmsError as err:
        error = str(err)
        log.info("feedback %s: answer notice not sent: %s", item_id, error)
    service.record_notice(db, item_id=item_id, error=error, now=datetime.now(UTC))
    db.commit()


@router.post("/feedback/{feedback_id}/bulletin")
def to_bulletin(
    feedback_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    made: dict[str, int] = {}

    def work() -> None:
        made["id"] = service.draft_bulletin(
            db, principal=principal, item_id=feedback_id, ip=client_ip(request)
        ).id

    response = _act(request, db, principal, feedback_id, work, "")
    if response.status_code == 303:
        return RedirectResponse(f"/bulletins/{made['id']}", status_code=303)
    return response


@router.get("/feedback/{feedback_id}/photo")
def photo(feedback_id: int, principal: WebPrincipal, db: SessionDep, settings: SettingsDep) -> Response:
    item = service.get_item(db, principal=principal, item_id=feedback_id)
    return _file(settings, item.photo_sha256, item.photo_type)


@router.get("/feedback/{feedback_id}/voice")
def voice(feedback_id: int, principal: WebPrincipal, db: SessionDep, settings: SettingsDep) -> Response:
    item = service.get_item(db, principal=principal, item_id=feedback_id)
    return _file(settings, item.voice_sha256, item.voice_type)


def _file(settings: Any, sha256: str | None, content_type: str | None) -> Response:
    if not sha256:
        raise NotFound("Ý kiến này không có tệp đính kèm.")
    path = media.store_for(settings.data_dir).path(sha256)
    if not path.exists():
        raise NotFound("Không tìm thấy tệp đính kèm.")
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )

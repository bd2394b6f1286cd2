"""Pages of the exchange: the inbox of bulletins from above (a commune operator schedules, orders or
declines them), bulletins sent down with their answers, and the figures lower systems reported. The
connections themselves are managed on ``/exchange/connections`` (``loa.exchange.connections_views``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import service as alerts
from loa.areas import picker
from loa.content.catalog import Status
from loa.content.models import Bulletin
from loa.content.queries import visible_to
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError
from loa.exchange import inbox, lower, outbox, sending
from loa.exchange.logic import INBOX_STATES, PRIORITY_RULES, state_label
from loa.exchange.models import ExchangePeer, InboxState, OutboxMessage
from loa.speech.runtime import runtime_for
from loa.units.models import AdminUnit
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("exchange_flash")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def when(value: datetime | None) -> str:
    return value.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else "—"


def _base(request: Request, tab: str, **extra: Any) -> dict[str, Any]:
    return {"active_nav": "exchange", "tab": tab, "flash": _pop_flash(request), "when": when, **extra}


# --- the inbox --------------------------------------------------------------------------------------


def _inbox_page(
    request: Request, db: Session, principal: Principal, *, error: str | None = None, status: int = 200
) -> Response:
    items = inbox.list_inbox(db, principal=principal)
    peers = {p.id: p.name for p in db.scalars(select(ExchangePeer))}
    default_start = (utcnow() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:00")
    return render(
        request,
        "exchange/inbox.html",
        _base(
            request,
            "inbox",
            error=error,
            items=items,
            peers=peers,
            rules=PRIORITY_RULES,
            states=INBOX_STATES,
            communes={i.id: inbox.communes_named(db, i.commune_codes) for i in items},
            can_broadcast=principal.has(Permission.BROADCAST),
            default_start=default_start,
            waiting={InboxState.RECEIVED, InboxState.NEEDS_ORDER},
        ),
        status_code=status,
    )


@router.get("/exchange")
def inbox_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _inbox_page(request, db, principal)


def _decide(
    request: Request, db: Session, principal: Principal, work: Callable[[], Any], done: str
) -> Response:
    try:
        work()
    except LoaError as err:
        db.rollback()
        return _inbox_page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(request, done)
    return RedirectResponse("/exchange", status_code=303)


def _local(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.strip()).replace(tzinfo=VIETNAM)
    except ValueError as err:
        raise InvalidInput("Hãy chọn ngày giờ phát.", code="start_missing") from err


@router.post("/exchange/inbox/{inbox_id}/schedule")
def schedule(
    inbox_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    start_local: Annotated[str, Form()] = "",
    keep_overlap: Annotated[str, Form()] = "",
) -> Response:
    def work() -> None:
        inbox.schedule_item(
            db,
            principal=principal,
            item_id=inbox_id,
            start_at=_local(start_local),
            keep_overlap=bool(keep_overlap),
            context=inbox.Context(settings.data_dir, utcnow(), alerts.aired_audio(settings)),
        )

    return _decide(request, db, principal, work, "Đã xếp lịch phát tin của cấp trên; cấp trên được báo lại.")


@router.post("/exchange/inbox/{inbox_id}/order")
def order(
    inbox_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    place: Annotated[str, Form()] = "",
) -> Response:
    def work() -> None:
        if place not in ("ahead", "after"):
            raise InvalidInput("Hãy chọn phát trước hay sau tin của xã.", code="order_missing")
        inbox.order_item(
            db,
            principal=principal,
            item_id=inbox_id,
            ahead=place == "ahead",
            context=inbox.Context(settings.data_dir, utcnow(), alerts.aired_audio(settings)),
        )

    return _decide(request, db, principal, work, "Đã sắp thứ tự phát; cấp trên được báo lại.")


@router.post("/exchange/inbox/{inbox_id}/decline")
def decline(
    inbox_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    def work() -> None:
        inbox.decline_item(db, principal=principal, item_id=inbox_id, reason=reason, now=utcnow())

    return _decide(request, db, principal, work, "Đã ghi không phát tin này; lý do được báo lên cấp trên.")


# --- sent down --------------------------------------------------------------------------------------


def _approved_bulletins(db: Session, principal: Principal) -> list[Bulletin]:
    visible = visible_to(principal)
    stmt = (
        select(Bulletin)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(Bulletin.status.in_([Status.APPROVED, Status.PUBLISHED]))
        .order_by(Bulletin.updated_at.desc())
        .limit(100)
    )
    if visible is not None:
        stmt = stmt.where(visible)
    return list(db.scalars(stmt))


def _sent_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = sending.list_sent(db, principal=principal)
    delivery = {
        m.idempotency_key: m
        for m in db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key.in_([f"bulletin:{s.peer_id}:{s.id}" for s, _ in rows])
            )
        )
    }
    form = form or {"communes": []}
    can_send = sending.may_send(principal)
    return render(
        request,
        "exchange/sent.html",
        _base(
            request,
            "sent",
            error=error,
            rows=rows,
            delivery=lambda s: delivery.get(f"bulletin:{s.peer_id}:{s.id}"),
            state_label=state_label,
            rules=PRIORITY_RULES,
            can_send=can_send,
            peers=sending.lower_peers(db) if can_send else [],
            bulletins=_approved_bulletins(db, principal) if can_send else [],
            form=form,
            chosen_communes=sorted(picker.chosen_labels(db, form.get("communes", [])).items()),
        ),
        status_code=status,
    )


@router.get("/exchange/sent")
def sent_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _sent_page(request, db, principal)


@router.post("/exchange/sent")
def send(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    peer_id: Annotated[int, Form()] = 0,
    bulletin_id: Annotated[int, Form()] = 0,
    communes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = communes or []
    try:
        sent = sending.send_bulletin(
            db,
            principal=principal,
            peer_id=peer_id,
            bulletin_id=bulletin_id,
            area_codes=chosen,
            store=runtime_for(request.app.state).context.store,
            now=utcnow(),
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        form = {"peer_id": peer_id, "bulletin_id": bulletin_id, "communes": chosen}
        return _sent_page(request, db, principal, error=err.message, form=form, status=err.status)
    db.commit()
    _flash(request, f"Đã đưa «{sent.title}» vào hàng gửi xuống cấp dưới.")
    return RedirectResponse("/exchange/sent", status_code=303)


# --- what lower systems reported --------------------------------------------------------------------


def _day(raw: str | None, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as err:
        raise InvalidInput("Ngày không hợp lệ.", code="date_invalid") from err


@router.get("/exchange/statistics")
def statistics_page(
    request: Request, principal: WebPrincipal, db: SessionDep, start: str = "", end: str = ""
) -> Response:
    require(principal, Permission.VIEW)
    today = utcnow().astimezone(VIETNAM).date()
    first, last = _day(start, today.replace(day=1)), _day(end, today)
    if last < first:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="period_reversed")
    rows = lower.remote_statistics(
        db,
        principal=principal,
        start=datetime.combine(first, time(), VIETNAM),
        end=datetime.combine(last + timedelta(days=1), time(), VIETNAM),
    )
    return render(
        request,
        "exchange/statistics.html",
        _base(request, "statistics", rows=rows, start=first.isoformat(), end=last.isoformat()),
    )


def queue_words(state: outbox.QueueState) -> str:
    parts = [f"{state.sent} đã gửi"]
    if state.waiting:
        parts.append(
            f"{state.waiting} đang chờ gửi" + (f" ({state.failing} đang thử lại)" if state.failing else "")
        )
    if state.gave_up:
        parts.append(f"{state.gave_up} bị bên kia từ chối")
    return ", ".join(parts)

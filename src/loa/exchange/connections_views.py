"""The page of connected systems (``/exchange/connections``, system administrators only): register a
higher or lower system with its areas, issue and revoke its keys (a new key is shown once), set where
and how we send to it (its address, the key it gave us, through the LGSP or not), pause it, see its
outbox and its last calls, and send again a message it refused once the fault is fixed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts import audit
from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Principal
from loa.areas import picker
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError, PermissionDenied
from loa.exchange import calls, outbox, peers
from loa.exchange.logic import RELATIONS
from loa.exchange.models import OutboxMessage, PeerRelation
from loa.exchange.views import queue_words, when
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
_flash, _pop_flash = flash_pair("exchange_connections_flash")
KIND_WORDS = {
    "bulletin": "Bản tin gửi xuống",
    "ack": "Xác nhận",
    "plays": "Nhật ký phát",
    "snapshot": "Danh mục, số liệu",
}


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            "Chỉ quản trị hệ thống được quản lý kết nối liên thông.", code="exchange_admin"
        )


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    error: str | None = None,
    new_key: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    _admin(principal)
    rows = []
    for peer in peers.list_peers(db):
        rows.append(
            {
                "peer": peer,
                "relation": RELATIONS[peer.relation],
                "areas": ", ".join(picker.chosen_labels(db, peer.area_codes).values()) or "—",
                "peer_keys": peers.keys_of(db, peer.id),
                "queue": queue_words(outbox.queue_state(db, peer.id)),
                "messages": outbox.recent(db, peer.id, limit=10),
                "calls": calls.recent_calls(db, peer_id=peer.id, limit=10),
                "has_push_key": bool(peer.push_key_encrypted),
            }
        )
    form = form or {"areas": []}
    return render(
        request,
        "exchange/connections.html",
        {
            "active_nav": "exchange",
            "tab": "connections",
            "flash": _pop_flash(request),
            "error": error,
            "new_key": new_key,
            "rows": rows,
            "relations": RELATIONS,
            "kind_words": KIND_WORDS,
            "form": form,
            "chosen_areas": sorted(picker.chosen_labels(db, form.get("areas", [])).items()),
            "when": when,
            "refused_today": calls.refused_calls(db, since=utcnow().replace(hour=0, minute=0, second=0)),
        },
        status_code=status,
    )


@router.get("/exchange/connections")
def connections_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    return _page(request, db, principal)


def _done(request: Request, db: Session, message: str) -> Response:
    db.commit()
    _flash(request, message)
    return RedirectResponse("/exchange/connections", status_code=303)


@router.post("/exchange/connections")
def add_connection(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
    areas: Annotated[list[str] | None, Form()] = None,
    push_url: Annotated[str, Form()] = "",
    push_key: Annotated[str, Form()] = "",
    via_lgsp: Annotated[str, Form()] = "",
) -> Response:
    chosen = areas or []
    try:
        kind = PeerRelation(relation) if relation in {r.value for r in PeerRelation} else None
        if kind is None:
            raise InvalidInput("Hãy chọn hệ thống là cấp trên hay cấp dưới.", code="peer_relation")
        peers.create_peer(
            db,
            principal=principal,
            name=name,
            relation=kind,
            area_codes=chosen,
            push_url=push_url,
            push_key=push_key,
            via_lgsp=bool(via_lgsp),
            secret_key=settings.secret_key.get_secret_value(),
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        form = {
            "name": name,
            "relation": relation,
            "areas": chosen,
            "push_url": push_url,
            "via_lgsp": via_lgsp,
        }
        return _page(request, db, principal, error=err.message, form=form, status=err.status)
    return _done(request, db, f"Đã thêm kết nối «{name.strip()}». Hãy cấp khóa cho hệ thống này.")


@router.post("/exchange/connections/{peer_id}/keys")
def issue_key(
    peer_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    try:
        key = peers.issue_key(db, principal=principal, peer_id=peer_id, ip=client_ip(request))
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    # Shown once, on this page (not through the session cookie): only its hash is kept.
    return _page(request, db, principal, new_key=key.token)


@router.post("/exchange/connections/keys/{key_id}/revoke")
def revoke_key(
    key_id: str, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    peers.revoke_key(db, principal=principal, key_id=key_id, ip=client_ip(request))
    return _done(request, db, "Đã thu hồi khóa; hệ thống dùng khóa này không gọi được nữa.")


@router.post("/exchange/connections/{peer_id}/push")
def set_push(
    peer_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    push_url: Annotated[str, Form()] = "",
    push_key: Annotated[str, Form()] = "",
    via_lgsp: Annotated[str, Form()] = "",
) -> Response:
    try:
        peers.set_push_target(
            db,
            principal=principal,
            peer_id=peer_id,
            push_url=push_url,
            push_key=push_key if push_key.strip() else None,
            via_lgsp=bool(via_lgsp),
            secret_key=settings.secret_key.get_secret_value(),
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    return _done(request, db, "Đã lưu địa chỉ gửi của kết nối.")


@router.post("/exchange/connections/{peer_id}/active")
def set_active(
    peer_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    active: Annotated[str, Form()] = "",
) -> Response:
    peers.set_active(db, principal=principal, peer_id=peer_id, active=active == "1", ip=client_ip(request))
    return _done(request, db, "Đã mở lại kết nối." if active == "1" else "Đã tạm dừng kết nối.")


@router.post("/exchange/connections/messages/{message_id}/retry")
def retry(
    message_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    _admin(principal)
    message = db.get(OutboxMessage, message_id)
    if message is None or message.gave_up_at is None:
        return _page(request, db, principal, error="Không có tin nào bị từ chối để gửi lại.", status=404)
    outbox.retry_now(db, message_id=message_id)
    audit.record(
        db,
        action="exchange.message_retry",
        actor=principal,
        target_type="exchange_peer",
        target_id=message.peer_id,
        details={"message_kind": message.kind},
        ip=client_ip(request),
    )
    return _done(request, db, "Tin sẽ được gửi lại ở lượt tới.")

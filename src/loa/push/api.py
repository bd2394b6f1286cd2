"""JSON routes of Web Push for the signed-in person's own browser (``/static/pwa.js`` calls them):
the server's public key, subscribe, leave, and a trial notice. Session (with the CSRF header) or
bearer token; a person only ever touches their own subscriptions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.errors import Conflict
from loa.push import notices, service
from loa.push.sender import VapidConfig
from loa.push.triggers import deliver
from loa.settings import Settings
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/push", tags=["push"])

NOT_ENABLED = "Máy chủ chưa bật thông báo đẩy (người quản trị cần đặt khóa VAPID)."


class KeyOut(BaseModel):
    enabled: bool
    public_key: str | None  # applicationServerKey for PushManager.subscribe


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class SubscriptionIn(BaseModel):
    """What the browser's ``PushSubscription.toJSON()`` gives."""

    endpoint: str = Field(min_length=1, max_length=1000)
    keys: SubscriptionKeys


class EndpointIn(BaseModel):
    endpoint: str = Field(min_length=1, max_length=1000)


class SubscriptionsOut(BaseModel):
    count: int


class TrialOut(BaseModel):
    sent: int


def vapid_config(settings: Settings) -> VapidConfig | None:
    if settings.vapid_private_key is None:
        return None
    return VapidConfig(
        private_key=settings.vapid_private_key.get_secret_value(),
        subject=settings.vapid_subject,
        timeout_s=settings.push_timeout_s,
    )


@router.get("/key", response_model=KeyOut)
def public_key(settings: SettingsDep, principal: ApiPrincipal) -> KeyOut:
    """Khóa công khai VAPID của máy chủ (để trình duyệt đăng ký nhận thông báo đẩy)."""
    require(principal, Permission.VIEW)
    vapid = vapid_config(settings)
    return KeyOut(enabled=vapid is not None, public_key=vapid.public_key if vapid else None)


@router.get("/subscriptions", response_model=SubscriptionsOut)
def count_subscriptions(db: SessionDep, principal: ApiPrincipal) -> SubscriptionsOut:
    """Số trình duyệt của bạn đang nhận thông báo đẩy."""
    return SubscriptionsOut(count=len(service.own_subscriptions(db, principal=principal)))


@router.post("/subscriptions", response_model=SubscriptionsOut, status_code=201)
def subscribe(
    body: SubscriptionIn, request: Request, db: SessionDep, settings: SettingsDep, principal: ApiPrincipal
) -> SubscriptionsOut:
    """Nhận thông báo đẩy trên trình duyệt này (cụm loa mất kết nối, tin cấp trên chờ xác nhận)."""
    if vapid_config(settings) is None:
        raise Conflict(NOT_ENABLED, code="push_not_enabled")
    service.subscribe(
        db,
        principal=principal,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        services=settings.push_services,
        ip=client_ip(request),
    )
    db.commit()
    return SubscriptionsOut(count=len(service.own_subscriptions(db, principal=principal)))


@router.post("/subscriptions/remove", response_model=SubscriptionsOut)
def unsubscribe(
    body: EndpointIn, request: Request, db: SessionDep, principal: ApiPrincipal
) -> SubscriptionsOut:
    """Thôi nhận thông báo đẩy trên trình duyệt này."""
    service.unsubscribe(db, principal=principal, endpoint=body.endpoint, ip=client_ip(request))
    db.commit()
    return SubscriptionsOut(count=len(service.own_subscriptions(db, principal=principal)))


@router.post("/trial", response_model=TrialOut)
def trial(request: Request, db: SessionDep, settings: SettingsDep, principal: ApiPrincipal) -> TrialOut:
    """Gửi một thông báo thử tới các trình duyệt của bạn."""
    vapid = vapid_config(settings)
    if vapid is None:
        raise Conflict(NOT_ENABLED, code="push_not_enabled")
    mine = [r for r in service.recipients(db) if r.principal.user_id == principal.user_id]
    db.rollback()  # nothing held open while the push service answers
    sent = deliver(
        request.app.state.session_factory, [(r, notices.trial_notice()) for r in mine], vapid=vapid
    )
    return TrialOut(sent=sent)

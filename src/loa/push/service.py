"""Use cases of push subscriptions: a signed-in person's browser subscribes or leaves, and the
subscriptions a notice about some areas goes to (area scope through ``loa.accounts.scope``'s
principal). Keyword-only, take the session, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.models import User
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.accounts.service import principal_for
from loa.db.base import utcnow
from loa.errors import InvalidInput
from loa.push.keys import b64url_decode
from loa.push.models import PushSubscription
from loa.push.sender import Delivery, Target

MAX_FAILURES = 20  # in a row, over days: the browser is gone without saying so


@dataclass(frozen=True)
class Recipient:
    principal: Principal
    subscription_id: int
    target: Target


def allowed_endpoint(endpoint: str, services: str) -> bool:
    """The endpoint is one of the allowed push services (see ``Settings.push_services``)."""
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        return False
    host = (url.hostname or "").lower()
    origin = f"{url.scheme}://{host}" + (f":{port}" if port else "")
    for entry in (e.strip().lower() for e in services.split(",")):
        if not entry:
            continue
        if "://" in entry:
            if origin == entry.rstrip("/"):
                return True
        elif url.scheme == "https" and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _key(value: str, *, size: int, what: str) -> str:
    try:
        ok = len(b64url_decode(value)) == size
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput(f"Khóa {what} của trình duyệt không đúng dạng.", code="push_key_invalid")
    return value


def subscribe(
    session: Session,
    *,
    principal: Principal,
    endpoint: str,
    p256dh: str,
    auth: str,
    services: str,
    ip: str = "",
) -> PushSubscription:
    """Keep (or move to this person) a browser's subscription."""
    require(principal, Permission.VIEW)
    if len(endpoint) > 1000 or not allowed_endpoint(endpoint, services):
        raise InvalidInput(
            "Trình duyệt này dùng một dịch vụ thông báo đẩy mà máy chủ không cho phép.",
            code="push_service_not_allowed",
        )
    p256dh = _key(p256dh, size=65, what="mã hóa (p256dh)")
    auth = _key(auth, size=16, what="xác thực (auth)")
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, user_id=principal.user_id, failures=0)
        session.add(row)
    row.user_id, row.p256dh, row.auth, row.failures = principal.user_id, p256dh, auth, 0
    session.flush()
    audit.record(
        session,
        action="push.subscribe",
        actor=principal,
        target_type="push_subscription",
        target_id=row.id,
        ip=ip,
    )
    return row


def unsubscribe(session: Session, *, principal: Principal, endpoint: str, ip: str = "") -> bool:
    """Forget this person's subscription at ``endpoint``; False when there was none."""
    row = session.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == principal.user_id
        )
    )
    if row is None:
        return False
    audit.record(
        session,
        action="push.unsubscribe",
        actor=principal,
        target_type="push_subscription",
        target_id=row.id,
        ip=ip,
    )
    session.delete(row)
    session.flush()
    return True


def own_subscriptions(session: Session, *, principal: Principal) -> list[PushSubscription]:
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == principal.user_id)
            .order_by(PushSubscription.id)
        )
    )


def recipients(session: Session, *, permission: Permission = Permission.VIEW) -> list[Recipient]:
    """Every subscription of an active user holding ``permission``, with that user's principal (the
    caller keeps those whose scope covers what the notice is about)."""
    rows = session.execute(
        select(PushSubscription, User)
        .join(User, User.id == PushSubscription.user_id)
        .where(User.active.is_(True))
        .order_by(PushSubscription.id)
    ).all()
    principals: dict[int, Principal] = {}
    found: list[Recipient] = []
    for subscription, user in rows:
        principal = principals.get(user.id) or principals.setdefault(user.id, principal_for(session, user))
        if principal.has(permission):
            target = Target(subscription.endpoint, subscription.p256dh, subscription.auth)
            found.append(Recipient(principal, subscription.id, target))
    return found


def in_scope_of(recipients_: Sequence[Recipient], area_paths: Sequence[str]) -> dict[int, list[str]]:
    """subscription id → the paths (of ``area_paths``) its person may see."""
    return {
        r.subscription_id: [p for p in area_paths if r.principal.can_access_path(p)]
        for r in recipients_
        if any(r.principal.can_access_path(p) for p in area_paths)
    }


def record_delivery(session: Session, *, subscription_id: int, delivery: Delivery) -> None:
    """A gone browser's subscription is deleted; failures are counted, and past ``MAX_FAILURES`` in
    a row the subscription is dropped too."""
    row = session.get(PushSubscription, subscription_id)
    if row is None:
        return
    if delivery is Delivery.SENT:
        row.last_sent_at, row.failures = utcnow(), 0
    elif delivery is Delivery.GONE or row.failures + 1 >= MAX_FAILURES:
        session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))
    else:
        row.failures += 1

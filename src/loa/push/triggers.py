"""What is pushed, and to whom, when another domain announces a change (subscribed in
``loa.wiring``, run in the ``Pusher``'s thread after the commit):

* loudspeakers went offline (fleet's ingest or sweep): "… mất kết nối", one notice per person naming
  the loudspeakers of their areas, to anyone who may view them;
* a bulletin from above waits for the commune (exchange inbox): "Tin từ … chờ xác nhận", to whoever
  may broadcast in its communes;
* an emergency alert waits for a second person (``loa.alerts.confirm``): "Cảnh báo … chờ bạn xác nhận",
  to the leaders who may confirm it (of every commune it reaches; never its sender).

Each job reads the records again in its own session (a loudspeaker back online by then is not
announced), sends outside any transaction, then records the deliveries in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.principal import Permission
from loa.alerts import confirm, levels
from loa.alerts.models import EmergencyAlert
from loa.alerts.service import PENDING_CONFIRMATION
from loa.exchange.models import InboxItem, InboxState
from loa.fleet.health import AlarmChange
from loa.fleet.models import Device
from loa.push import notices, service
from loa.push.notices import Notice
from loa.push.sender import Delivery, VapidConfig, send
from loa.push.service import Recipient
from loa.units.models import AdminUnit

WAITING = (InboxState.RECEIVED, InboxState.NEEDS_ORDER)


def deliver(
    sessions: sessionmaker[Session], messages: Iterable[tuple[Recipient, Notice]], *, vapid: VapidConfig
) -> int:
    """Send each notice, then record what became of each subscription. Returns how many were sent."""
    outcomes = [
        (recipient.subscription_id, send(recipient.target, notice, vapid=vapid))
        for recipient, notice in messages
    ]
    if outcomes:
        with sessions() as session, session.begin():
            for subscription_id, delivery in outcomes:
                service.record_delivery(session, subscription_id=subscription_id, delivery=delivery)
    return sum(1 for _, delivery in outcomes if delivery is Delivery.SENT)


def devices_offline(
    sessions: sessionmaker[Session],
    device_ids: Sequence[int],
    *,
    vapid: VapidConfig,
    announced_at: datetime | None = None,
) -> int:
    """Tell of the loudspeakers still offline. With ``announced_at`` (when their going offline was
    committed), one that came back and went offline again since is left to that later announcement."""
    query = (
        select(Device.name, AdminUnit.path)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.id.in_(list(device_ids)), Device.online.is_(False))
    )
    if announced_at is not None:
        query = query.where(Device.online_changed_at <= announced_at)
    with sessions() as session:
        rows = session.execute(query).all()
        people = service.recipients(session, permission=Permission.VIEW) if rows else []
    messages = []
    for recipient in people:
        names = [name for name, path in rows if recipient.principal.can_access_path(path or "")]
        if names:
            messages.append((recipient, notices.devices_offline(names)))
    return deliver(sessions, messages, vapid=vapid)


def device_alarms(
    sessions: sessionmaker[Session], changes: Sequence[AlarmChange], *, vapid: VapidConfig
) -> int:
    """Raised and cleared health alarms, to whoever may view the loudspeakers concerned."""
    with sessions() as session:
        people = service.recipients(session, permission=Permission.VIEW) if changes else []
    messages = []
    for recipient in people:
        texts = [c.text for c in changes if recipient.principal.can_access_path(c.area_path)]
        if texts:
            messages.append((recipient, notices.device_alarms(texts)))
    return deliver(sessions, messages, vapid=vapid)


def bulletins_waiting(sessions: sessionmaker[Session], item_ids: Sequence[int], *, vapid: VapidConfig) -> int:
    with sessions() as session:
        items = list(
            session.scalars(
                select(InboxItem).where(InboxItem.id.in_(list(item_ids)), InboxItem.state.in_(WAITING))
            )
        )
        codes = sorted({code for item in items for code in item.commune_codes})
        paths = dict(
            session.execute(select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))).all()
        )
        people = service.recipients(session, permission=Permission.BROADCAST) if items else []
        wanted = [
            (
                [paths[c] for c in item.commune_codes if c in paths],
                notices.bulletin_waiting(
                    item.title, source=item.source_name, needs_order=item.state is InboxState.NEEDS_ORDER
                ),
            )
            for item in items
        ]
    messages = [
        (recipient, notice)
        for item_paths, notice in wanted
        for recipient in people
        if any(recipient.principal.can_access_path(p) for p in item_paths)
    ]
    return deliver(sessions, messages, vapid=vapid)


def alerts_awaiting(sessions: sessionmaker[Session], alert_ids: Sequence[int], *, vapid: VapidConfig) -> int:
    """Tell the leaders who may confirm them of the alerts still waiting for a second person."""
    with sessions() as session:
        waiting = list(
            session.scalars(
                select(EmergencyAlert).where(
                    EmergencyAlert.id.in_(list(alert_ids)), EmergencyAlert.status == PENDING_CONFIRMATION
                )
            )
        )
        people = service.recipients(session, permission=confirm.CONFIRM_PERMISSION) if waiting else []
        messages = []
        for alert in waiting:
            units = confirm.alert_units(session, alert)
            hazard = levels.HAZARDS[alert.hazard].label if alert.hazard in levels.HAZARDS else "thiên tai"
            level = f" cấp độ {alert.risk_level}" if alert.risk_level else ""
            notice = notices.alert_awaiting(
                alert.id,
                what=f"Cảnh báo {hazard}{level}",
                sender=alert.started_by,
                devices=alert.device_count,
            )
            messages += [(r, notice) for r in people if confirm.can_confirm(r.principal, alert, units)]
    return deliver(sessions, messages, vapid=vapid)

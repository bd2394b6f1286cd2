"""The home page: what needs a person's attention now, within their areas. It composes read-only
queries of several domains, so it lives beside the other composition modules (``app``, ``demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from loa.accounts import audit
from loa.accounts.deps import WebPrincipal
from loa.accounts.logic import format_vietnam_time
from loa.accounts.principal import Permission, Principal
from loa.alerts import service as alerts
from loa.alerts.views import level_context
from loa.content.catalog import PRIORITIES
from loa.content.queries import review_queue
from loa.fleet import health
from loa.fleet.listing import FleetFilter, devices_page, state_counts
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter()

RECENT_EVENTS = 8
OFFLINE_SHOWN = 10


@dataclass(frozen=True)
class FleetSummary:
    total: int
    online: int
    offline: int  # enrolled and silent (never enrolled ones are neither)


ALARMS_SHOWN = 20


@dataclass(frozen=True)
class AlarmLine:
    device_uid: str
    device_name: str
    label: str
    raised_at: str


def visible_alarms(db: Session, principal: Principal) -> list[AlarmLine]:
    """The open health alarms of the loudspeakers in the person's areas, newest first."""
    lines = [
        AlarmLine(
            device.uid, device.name, health.alarm_label(alarm.kind), format_vietnam_time(alarm.raised_at)
        )
        for alarm, device, path in health.open_alarms(db)
        if principal.can_access_path(path)
    ]
    return lines[:ALARMS_SHOWN]


@router.get("/")
def dashboard(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    counts = state_counts(db, principal=principal)  # counted by the database, never row by row
    fleet = FleetSummary(total=counts["total"], online=counts["online"], offline=counts["offline"])
    offline = devices_page(
        db, principal=principal, f=FleetFilter(state="offline"), per_page=OFFLINE_SHOWN
    ).rows
    alarms = visible_alarms(db, principal)
    recent = (
        audit.query(db, principal=principal, per_page=RECENT_EVENTS)
        if principal.has(Permission.VIEW_AUDIT)
        else None
    )
    return render(
        request,
        "dashboard.html",
        {
            "active_nav": "dashboard",
            "review": review_queue(db, principal=principal)[:10],
            "fleet": fleet,
            "offline": offline,
            "alarms": alarms,
            "recent": recent.events if recent is not None else [],
            "action_label": audit.action_label,
            "priority_label": lambda priority: PRIORITIES[priority].label,
            "when": format_vietnam_time,
            "active_alerts": alerts.active_alerts(db, principal),
            **level_context(),
        },
    )

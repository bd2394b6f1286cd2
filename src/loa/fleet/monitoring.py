"""What the gateways counted (issue 20.11), for people and for Prometheus: ``/fleet/counters``, the
administrators' page of dropped messages, refused receipts and traffic (today, the last 7 days, all
time), and ``/metrics``, the same counters in Prometheus' text format behind ``LOA_METRICS_TOKEN``
(off when unset). Both read ``loa.fleet.counters``; rates are Prometheus' ``rate()`` of the totals."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from loa.accounts.deps import WebPrincipal
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, NotFound, PermissionDenied
from loa.fleet import counters
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep, SettingsDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
TOKEN_REFUSED = "Mã truy cập số liệu giám sát không đúng."


@dataclass(frozen=True)
class CounterRow:
    label: str
    today: str
    week: str
    total: str
    alarming: bool  # a drop counted today


def _rows(
    items: tuple[counters.Counter, ...], today: dict[str, int], week: dict[str, int], total: dict[str, int]
) -> list[CounterRow]:
    return [
        CounterRow(
            c.label,
            number_text(today.get(c.name, 0)),
            number_text(week.get(c.name, 0)),
            number_text(total.get(c.name, 0)),
            c.name.startswith(counters.DROP) and today.get(c.name, 0) > 0,
        )
        for c in items
    ]


@router.get("/fleet/counters")
def counters_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    if not principal.is_admin:
        raise PermissionDenied()
    day = utcnow().date()
    today = counters.totals(db, since=day)
    week = counters.totals(db, since=day - timedelta(days=6))
    total = counters.totals(db)
    known = {c.name for c in counters.DROPS}
    others = tuple(
        counters.counter(n) for n in sorted(total) if n.startswith(counters.DROP) and n not in known
    )
    context = {
        "drops": _rows(counters.DROPS + counters.CAP_REFUSALS + others, today, week, total),
        "traffic": _rows(counters.TRAFFIC, today, week, total),
    }
    return render(request, "fleet/counters.html", context)


@router.get("/metrics")
def metrics(request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not expected:
        raise NotFound()
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise AuthenticationFailed(TOKEN_REFUSED, code="metrics_token_invalid")
    return PlainTextResponse(counters.prometheus_text(counters.totals(db)), media_type=PROMETHEUS_TEXT)

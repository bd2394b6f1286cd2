"""Broadcasts of an area and period from the database: what the loudspeakers reported (play receipts,
summed in SQL by commune, local day and item: ``loa.reports.receipts``) — the evidence — and what the
schedule planned (``loa.schedule.plan``, counted by ``loa.reports.scheduled``) — the plan beside it.
Everything is as of one moment, the report's ``now``: receipts dated later are not evidence.
Definitions: ``loa.reports.airtime``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from loa.reports.credit import expected_items
from loa.reports.facts import BulletinIndex, Facts, period_bounds
from loa.reports.receipts import (
    communes_with_clusters,
    count_future_receipts,
    count_played,
    load_devices,
    start_receipt_rows,
)
from loa.reports.scheduled import count_scheduled
from loa.schedule.plan import ProgrammePlan, load_plan, planned_bulletin_ids
from loa.vocab.period import Period


@dataclass(frozen=True)
class StartedReceipts:
    """The receipt aggregate of an area and period, started ahead (``start_receipts``)."""

    scope: frozenset[int]
    communes: list[int]  # the communes in scope that have clusters (retired ones included)
    now: datetime
    fetch_rows: Callable[[], Sequence[Any]]


def evidence_end(period: Period, now: datetime) -> datetime:
    """Where the evidence of a period stops: its end, or the report's moment if earlier."""
    return min(period_bounds(period)[1], now)


def start_receipts(session: Session, *, period: Period, scope: set[int], now: datetime) -> StartedReceipts:
    """Start summing the receipts of every cluster of the communes in ``scope`` (unit ids), including
    clusters retired since: the database works while Python reads the registers and expands the
    schedule. The report starts it first of all, as soon as its area is known."""
    start_at, _ = period_bounds(period)
    communes = communes_with_clusters(session, scope)
    fetch_rows = start_receipt_rows(
        session, start_at=start_at, end_at=max(start_at, evidence_end(period, now)), commune_ids=communes
    )
    return StartedReceipts(frozenset(scope), communes, now, fetch_rows)


def collect_facts(
    session: Session,
    *,
    period: Period,
    scope: set[int],
    topic_id: int | None,
    now: datetime,
    started: StartedReceipts | None = None,
    meanwhile: Callable[[Facts], None] | None = None,
) -> tuple[Facts, Mapping[int, ProgrammePlan], BulletinIndex]:
    """Planned and played broadcasts on the clusters of the communes in ``scope`` (unit ids), as of
    ``now``; ``started``: the receipt aggregate of the same scope, period and moment, if already
    started; ``meanwhile``: work to do with the planned facts while the database still sums receipts."""
    start_at, end_at = period_bounds(period)
    if started is None or started.scope != scope or started.now != now:
        started = start_receipts(session, period=period, scope=scope, now=now)
    communes, fetch_rows = started.communes, started.fetch_rows
    facts = Facts(now=now)
    topics = BulletinIndex(session)
    plan = load_plan(session, start_at=start_at, end_at=end_at)
    topics.load_where(planned_bulletin_ids(start_at, end_at))
    reached = {d for p in plan.programmes.values() for d in p.device_ids}
    reached.update(d for a in plan.announcements for d in a.device_ids)
    devices = load_devices(session, reached)  # only the clusters the plan reaches
    count_scheduled(facts, plan, devices=devices, scope=scope, topic_id=topic_id, topics=topics)
    prepared = expected_items(facts, topics=topics, programmes=plan.programmes, topic_id=topic_id)
    if meanwhile is not None:
        meanwhile(facts)
    until = max(start_at, evidence_end(period, now))
    count_played(
        session,
        facts,
        start_at=start_at,
        end_at=until,
        scope_communes=communes,
        topic_id=topic_id,
        topics=topics,
        programmes=plan.programmes,
        fetch_rows=fetch_rows,
        prepared=prepared,
    )
    facts.future_receipts = count_future_receipts(
        session, now=max(now, start_at), end_at=end_at, commune_ids=communes
    )
    return facts, plan.programmes, topics

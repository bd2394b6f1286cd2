"""Broadcasts of an area and period from the database: what the schedule planned (programmes expanded
with their slot overrides, announcements: ``loa.reports.scheduled``) and what the loudspeakers
reported (play receipts, summed in SQL by commune, local day and item: ``loa.reports.receipts``).
Definitions: ``loa.reports.airtime``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.areas.models import Station
from loa.fleet.models import Device
from loa.reports.facts import BulletinIndex, Facts, load_devices, period_bounds
from loa.reports.receipts import count_played, expected_items, start_receipt_rows
from loa.reports.scheduled import count_scheduled
from loa.schedule import models as m
from loa.vocab.period import Period


@dataclass(frozen=True)
class StartedReceipts:
    """The receipt aggregate of an area and period, started ahead (``start_receipts``)."""

    scope: frozenset[int]
    communes: list[int]  # the communes in scope that have clusters (retired ones included)
    fetch_rows: Callable[[], Sequence[Any]]


def start_receipts(session: Session, *, period: Period, scope: set[int]) -> StartedReceipts:
    """Start summing the receipts of every cluster of the communes in ``scope`` (unit ids), including
    clusters retired since: the database works while Python reads the registers and expands the
    schedule. The report starts it first of all, as soon as its area is known."""
    start_at, end_at = period_bounds(period)
    all_communes = session.scalars(
        select(func.coalesce(Device.commune_id, Station.commune_id))
        .outerjoin(Station, Station.id == Device.station_id)
        .distinct()
    )
    communes = sorted(c for c in all_communes if c is not None and c in scope)
    fetch_rows = start_receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes)
    return StartedReceipts(frozenset(scope), communes, fetch_rows)


def collect_facts(
    session: Session,
    *,
    period: Period,
    scope: set[int],
    topic_id: int | None,
    started: StartedReceipts | None = None,
    meanwhile: Callable[[Facts], None] | None = None,
) -> tuple[Facts, dict[int, m.Programme], BulletinIndex]:
    """Scheduled and played broadcasts on the clusters of the communes in ``scope`` (unit ids);
    ``started``: the receipt aggregate of the same scope and period, if already started;
    ``meanwhile``: work to do with the scheduled facts while the database still sums receipts."""
    start_at, end_at = period_bounds(period)
    if started is None or started.scope != scope:
        started = start_receipts(session, period=period, scope=scope)
    communes, fetch_rows = started.communes, started.fetch_rows
    devices = load_devices(session)
    facts = Facts()
    topics = BulletinIndex(session)
    programmes = count_scheduled(
        session,
        facts,
        start_at=start_at,
        end_at=end_at,
        devices=devices,
        scope=scope,
        topic_id=topic_id,
        topics=topics,
    )
    prepared = expected_items(facts, topics=topics, programmes=programmes, topic_id=topic_id)
    if meanwhile is not None:
        meanwhile(facts)
    count_played(
        session,
        facts,
        start_at=start_at,
        end_at=end_at,
        scope_communes=communes,
        topic_id=topic_id,
        topics=topics,
        programmes=programmes,
        fetch_rows=fetch_rows,
        prepared=prepared,
    )
    return facts, programmes, topics

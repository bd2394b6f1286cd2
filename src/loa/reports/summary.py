"""Stored summaries of closed months' play receipts, so that a year's report reads twelve small
summaries instead of millions of receipts.

A summary row is exactly a row of the reports' receipt aggregate (``loa.reports.receipt_sql.
receipts_statement``: played, pre-empted, failed receipts and capped played milliseconds by commune,
local day and item), computed by that very statement over one Vietnam-local month. A day lies in one
month, so the rows of several months never share a group: a period's rows are the summaries' rows of
its summarised months followed by the raw aggregate of its other days, and the report adds them up as
it always did (``loa.reports.credit.add_rows``). Coverage (clusters per airing) stays exact: a cluster
reports an item once, so an item's played count is its clusters, and an item lies in one month.

A month is summarised once it is **closed**: its end plus ``GRACE`` (late receipts of clusters that
were offline) has passed. When it may be read:

- ``receipt_summary_months.dirty`` is false. The ingest upserts the month's row with ``dirty`` in
  the transaction that records a receipt of any ended month (``loa.fleet.ingest``); the summariser
  locks that row (``FOR UPDATE``) before reading the receipts, so a receipt is either in the summary
  or marks it dirty, never neither;
- every cluster counted in it still exists under the commune it was counted under
  (``receipt_summary_devices``): a cluster moved to another commune, or deleted with its receipts,
  sends the month back to its receipts until it is summarised again.

Audio lengths (the cap of played time) are not checked: audio assets are content-addressed, never
changed nor deleted, and a cluster plays only audio the server made and signed before. Play receipts
are never deleted (no retention touches them).

Anything that falls outside a valid summary is read from the receipts: the open month, the grace
days, dirty months, months not yet summarised, the parts of a period that cover a month only in part.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.db.base import dialect_insert
from loa.db.partitions import LOCAL_OFFSET, add_months, month_start
from loa.fleet.models import Device, PlayReceipt, ReceiptSummary, ReceiptSummaryDevice, ReceiptSummaryMonth
from loa.reports.receipt_sql import aggregate_settings, receipts_statement
from loa.units.models import Station

log = logging.getLogger(__name__)

GRACE = timedelta(days=2)  # after a month's end, before it is summarised: late receipts still coming
LOOKBACK_MONTHS = 120  # no summary older than this (a receipt dated by a clock that ran wild)
SYSTEM_ACTOR = "hệ thống"

_enabled: ContextVar[bool] = ContextVar("loa_receipt_summaries", default=True)


def enabled() -> bool:
    return _enabled.get()


@contextlib.contextmanager
def raw_receipts() -> Iterator[None]:
    """Reports made inside read every receipt, summaries or not (benchmarks, tests comparing)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def month_key(start: datetime) -> date:
    """The local month holding ``start``, as its first day."""
    local = month_start(start).astimezone(UTC) + LOCAL_OFFSET
    return date(local.year, local.month, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The UTC instants the local month ``month`` begins and ends."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC) - LOCAL_OFFSET
    return start, add_months(start, 1)


def is_closed(month: date, now: datetime) -> bool:
    return month_bounds(month)[1] + GRACE <= now


# --- reading ---------------------------------------------------------------------------------------


def _whole_months(start_at: datetime, end_at: datetime) -> list[date]:
    """The local months lying wholly in [start_at, end_at)."""
    first = month_start(start_at)
    if first < start_at:
        first = add_months(first, 1)
    out: list[date] = []
    while add_months(first, 1) <= end_at:
        out.append(month_key(first))
        first = add_months(first, 1)
    return out


def valid_months(connection: Connection, months: Sequence[date]) -> set[date]:
    """Those of ``months`` whose summary may be read now (clean, its clusters where they were)."""
    if not months:
        return set()
    sm = ReceiptSummaryMonth.__table__.c
    clean = set(
        connection.execute(select(sm.month).where(sm.month.in_(list(months)), sm.dirty.is_(False))).scalars()
    )
    if not clean:
        return clean
    sd, d, s = ReceiptSummaryDevice.__table__.c, Device.__table__.c, Station.__table__.c
    moved = connection.execute(
        select(sd.month)
        .select_from(
            ReceiptSummaryDevice.__table__.outerjoin(Device.__table__, d.id == sd.device_id).outerjoin(
                Station.__table__, s.id == d.station_id
            )
        )
        .where(
            sd.month.in_(sorted(clean)),
            or_(
                d.id.is_(None),
                func.coalesce(d.commune_id, s.commune_id, -1) != func.coalesce(sd.commune_id, -1),
            ),
        )
        .distinct()
    ).scalars()
    return clean - set(moved)


def _raw_ranges(
    start_at: datetime, end_at: datetime, months: Sequence[date]
) -> list[tuple[datetime, datetime]]:
    """[start_at, end_at) without the (sorted) ``months``: the stretches read from the receipts."""
    ranges: list[tuple[datetime, datetime]] = []
    at = start_at
    for month in months:
        lower, upper = month_bounds(month)
        if lower > at:
            ranges.append((at, lower))
        at = max(at, upper)
    if at < end_at:
        ranges.append((at, end_at))
    return ranges


def receipt_rows(
    connection: Connection,
    *,
    start_at: datetime,
    end_at: datetime,
    commune_ids: Sequence[int],
    use_summaries: bool = True,
) -> list[Any]:
    """The rows of the reports' receipt aggregate for [start_at, end_at) and ``commune_ids``: from the
    valid summaries of the months lying wholly in the period, from the receipts for the rest."""

    if not commune_ids:
        return []
    dialect = connection.dialect.name
    months = sorted(valid_months(connection, _whole_months(start_at, end_at))) if use_summaries else []
    rows: list[Any] = []
    if months:
        t = ReceiptSummary.__table__.c
        rows += connection.execute(
            select(t.commune_id, t.day, t.item_id, t.played, t.preempted, t.failed, t.played_ms).where(
                t.month.in_(months), t.commune_id.in_(list(commune_ids))
            )
        ).all()
    for lower, upper in _raw_ranges(start_at, end_at, months):
        statement = receipts_statement(dialect, start_at=lower, end_at=upper, commune_ids=commune_ids)
        rows += connection.execute(statement).all()
    return rows


# --- writing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summarised:
    month: date
    groups: int
    was_dirty: bool  # summarised again (a late receipt, a cluster moved) rather than for the first time


def months_to_summarise(session: Session, *, now: datetime) -> list[date]:
    """Closed months from the first receipt's on, whose summary is missing, dirty or no longer valid."""
    first = session.scalar(select(func.min(PlayReceipt.started_at)))
    if first is None:
        return []
    earliest = add_months(month_start(now), -LOOKBACK_MONTHS)
    at = max(month_start(first), earliest)
    closed: list[date] = []
    while add_months(at, 1) + GRACE <= now:
        closed.append(month_key(at))
        at = add_months(at, 1)
    if not closed:
        return []
    valid = valid_months(session.connection(), closed)
    return [m for m in closed if m not in valid]


def summarise_month(
    session: Session, month: date, *, now: datetime, actor_name: str = SYSTEM_ACTOR, via: str = "gateway"
) -> Summarised:
    """(Re)make the summary of the closed ``month`` in the caller's transaction; audited."""

    if not is_closed(month, now):
        raise ValueError(f"month {month:%m/%Y} is not closed yet")
    connection = session.connection()
    sm = ReceiptSummaryMonth.__table__
    # The row first, locked: a receipt of this month recorded meanwhile waits for this transaction
    # and then marks the month dirty; one recorded before is in what is read below.
    session.execute(
        dialect_insert(session, sm)
        .values(month=month, dirty=True, groups=0)
        .on_conflict_do_nothing(index_elements=["month"])
    )
    was_dirty = bool(
        session.execute(select(sm.c.dirty, sm.c.summarised_at).where(sm.c.month == month).with_for_update())
        .one()
        .summarised_at
        is not None
    )
    session.execute(delete(ReceiptSummary).where(ReceiptSummary.month == month))
    session.execute(delete(ReceiptSummaryDevice).where(ReceiptSummaryDevice.month == month))
    start_at, end_at = month_bounds(month)
    aggregate = receipts_statement(
        connection.dialect.name, start_at=start_at, end_at=end_at, commune_ids=None
    ).subquery()
    columns = ["commune_id", "day", "item_id", "played", "preempted", "failed", "played_ms"]
    with aggregate_settings(session):
        session.execute(
            insert(ReceiptSummary).from_select(
                ["month", *columns],
                select(
                    literal(month, ReceiptSummary.__table__.c.month.type), *(aggregate.c[c] for c in columns)
                ),
            )
        )
    d, s, r = Device.__table__.c, Station.__table__.c, PlayReceipt.__table__.c
    session.execute(
        insert(ReceiptSummaryDevice).from_select(
            ["month", "device_id", "commune_id"],
            select(
                literal(month, ReceiptSummaryDevice.__table__.c.month.type),
                d.id,
                func.coalesce(d.commune_id, s.commune_id),
            )
            .select_from(Device.__table__.outerjoin(Station.__table__, s.id == d.station_id))
            .where(exists().where(r.device_id == d.id, r.started_at >= start_at, r.started_at < end_at)),
        )
    )
    # Counted, not the INSERT's row count: psycopg reports none for INSERT … SELECT here.
    t = ReceiptSummary.__table__.c
    groups = int(session.scalar(select(func.count()).where(t.month == month)) or 0)
    session.execute(
        update(ReceiptSummaryMonth)
        .where(ReceiptSummaryMonth.month == month)
        .values(dirty=False, summarised_at=now, groups=groups)
    )
    audit.record(
        session,
        action="reports.receipt_summary",
        actor_name=actor_name,
        target_type="receipt_summary_months",
        details={"via": via, "month": f"{month:%m/%Y}", "groups": groups, "again": was_dirty},
        at=now,
    )
    session.flush()
    return Summarised(month, groups, was_dirty)


def summarise_closed_months(
    sessions: Any,
    *,
    now: datetime,
    actor_name: str = SYSTEM_ACTOR,
    via: str = "gateway",
    limit: int | None = None,
) -> list[Summarised]:
    """Summarise every closed month that needs it, one transaction per month (``sessions``: a session
    factory), oldest first; at most ``limit`` months in one call."""
    with sessions() as session:
        todo = months_to_summarise(session, now=now)
    done: list[Summarised] = []
    for month in todo[:limit] if limit is not None else todo:
        with sessions() as session, session.begin():
            done.append(summarise_month(session, month, now=now, actor_name=actor_name, via=via))
            log.info("receipts of %s summarised: %d groups", f"{month:%m/%Y}", done[-1].groups)
    return done

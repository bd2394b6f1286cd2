"""The one aggregate statement over play receipts that every report reads (by commune, local day and
item), and the PostgreSQL settings it runs under. Its own module because both the raw path
(``loa.reports.receipts``) and the closed months' summaries (``loa.reports.summary``, which stores
its rows) use it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Select, case, cast, func, literal_column, select, text
from sqlalchemy.orm import Session

from loa.fleet.models import Device, PlayReceipt, ReceiptOutcome
from loa.reports.facts import VIETNAM_UTC_OFFSET_HOURS
from loa.speech.models import AudioAsset
from loa.units.models import Station

STREAM_KIND = "stream"  # ``loa.protocol.messages.ReceiptKind.STREAM`` as the receipts table keeps it


def stream_heard_ms(dialect: str) -> Any:
    """A stream receipt's heard milliseconds, at most its span (``started_at`` to ``ended_at``): a
    receipt claiming more (forged, or a device clock stepped back meanwhile) counts its span."""
    r = PlayReceipt.__table__.c
    heard = cast(func.coalesce(r.heard_ms, 0), BigInteger)
    if dialect == "postgresql":
        span: Any = cast(func.round(func.date_part("epoch", r.ended_at - r.started_at) * 1000), BigInteger)
        return func.greatest(func.least(heard, span), 0)
    span = func.round((func.julianday(r.ended_at) - func.julianday(r.started_at)) * 86_400_000.0)
    return func.max(func.min(heard, span), 0)  # SQLite's scalar min and max of several arguments


def receipts_statement(
    dialect: str, *, start_at: datetime, end_at: datetime, commune_ids: Sequence[int] | None
) -> Select[Any]:
    """Played / pre-empted / failed receipts and capped played milliseconds, by commune, local day
    and item, for clusters in ``commune_ids`` (None: every cluster that has a commune — what a closed
    month's summary stores, ``loa.reports.summary``). A stream receipt (live, relay) counts the time its
    own audio was heard (``heard_ms``, at most its span: ``stream_heard_ms``), not the span between its
    first and last sound.

    The local day uses Vietnam's fixed offset (no daylight saving since 1975): a named zone costs a
    zone lookup per receipt. On PostgreSQL durations are whole microseconds (``date_part`` is a
    double, ``extract`` a numeric, several times slower to sum over a million rows), rounded to the
    millisecond once per group, as a numeric sum would be."""
    r, d, s, a = PlayReceipt.__table__, Device.__table__, Station.__table__, AudioAsset.__table__
    commune = func.coalesce(d.c.commune_id, s.c.commune_id)
    played = r.c.outcome == ReceiptOutcome.PLAYED.value
    stream = r.c.kind == STREAM_KIND
    if dialect == "postgresql":
        offset: Any = literal_column(f"INTERVAL '+{VIETNAM_UTC_OFFSET_HOURS:02d}:00'")
        day: Any = cast(func.timezone(offset, r.c.started_at), Date)
        micros = cast(
            func.round(func.date_part("epoch", r.c.ended_at - r.c.started_at) * 1_000_000), BigInteger
        )
        # Audio the store does not hold (NULL length) adds no time: a loudspeaker plays only audio
        # the server made, so such a receipt is forged, and its span is whatever it claims.
        length = func.coalesce(cast(a.c.duration_ms, BigInteger) * 1000, 0)
        capped = case(
            (stream, stream_heard_ms(dialect) * 1000),
            else_=func.least(func.greatest(micros, 0), length),
        )
        # BIGINT: one group may hold more than 2^31 ms (~596 hours: a month of relay).
        played_ms: Any = cast(func.sum(capped).filter(played) / literal_column("1000.0"), BigInteger)
    else:
        day = func.date(r.c.started_at, f"+{VIETNAM_UTC_OFFSET_HOURS} hours")
        # julianday is a double: round each receipt to the millisecond before summing
        duration = func.round((func.julianday(r.c.ended_at) - func.julianday(r.c.started_at)) * 86_400_000.0)
        capped_ms = case(
            (stream, stream_heard_ms(dialect)),
            (duration < 0, 0),
            (a.c.duration_ms.is_(None), 0),  # audio the store does not hold: no time (see above)
            (duration > a.c.duration_ms, a.c.duration_ms),
            else_=duration,
        )
        played_ms = cast(func.sum(capped_ms).filter(played), BigInteger)
    return (
        select(
            commune.label("commune_id"),
            day.label("day"),
            r.c.item_id,
            func.count().filter(played).label("played"),
            func.count().filter(r.c.outcome == ReceiptOutcome.PREEMPTED.value).label("preempted"),
            func.count().filter(r.c.outcome == ReceiptOutcome.FAILED.value).label("failed"),
            played_ms.label("played_ms"),
        )
        .select_from(
            r.join(d, d.c.id == r.c.device_id)
            .outerjoin(s, s.c.id == d.c.station_id)
            .outerjoin(a, a.c.sha256 == r.c.audio_sha256)
        )
        .where(
            r.c.started_at >= start_at,
            r.c.started_at < end_at,
            commune.is_not(None) if commune_ids is None else commune.in_(list(commune_ids)),
        )
        .group_by(commune, day, r.c.item_id)
    )


# Settings of the one aggregate statement on PostgreSQL (then back as they were: the caller's
# transaction keeps its own). Measured on a province-year (1,000,000 receipts, 50,000 groups, two
# cores):
# - JIT compiles the aggregate for about a quarter of a second on every run and gains less than that;
# - the planner guesses ten times too many groups and, with the default 4 MB of work memory, sorts
#   the million joined rows on disk in three processes (two parallel workers): alone that is faster
#   (0.8-0.9 s against 1.0-1.1 s for one process hashing the groups in 24 MB), but meanwhile the
#   report's Python, on the same two cores, took 1.0 s instead of 0.65 s to expand the schedule, and
#   the whole statistics came out no faster; one process leaves the other core to Python.
AGGREGATE_SETTINGS: dict[str, str] = {
    "jit": "off",
    "work_mem": "64MB",
    "max_parallel_workers_per_gather": "0",
}


def set_config(values: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """One statement setting ``values`` for the rest of the transaction."""
    calls = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(values)))
    params = {}
    for i, (name, value) in enumerate(values.items()):
        params[f"n{i}"], params[f"v{i}"] = name, value
    return text(f"SELECT {calls}"), params


@contextlib.contextmanager
def aggregate_settings(session: Session) -> Iterator[None]:
    """``AGGREGATE_SETTINGS`` for the statements inside, in the session's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    names = list(AGGREGATE_SETTINGS)
    current = ", ".join(f"current_setting('{name}')" for name in names)
    previous = dict(zip(names, session.execute(text(f"SELECT {current}")).one(), strict=True))
    session.execute(*set_config(AGGREGATE_SETTINGS))
    try:
        yield
    finally:
        session.execute(*set_config(previous))

"""What the loudspeakers reported — the evidence every aired figure rests on: play receipts of an area
and period, summed by the database by commune, local day and item (one pass over ``play_receipts``);
Python sees one row per commune, day and item, never one per receipt. The one module of the reports
that reads the fleet's tables (clusters and receipts). Definitions: ``loa.reports.airtime``.

Each item is resolved once: a running-order line to its programme airing and bulletin, an
announcement to its bulletin, anything else (a "play now" or an emergency message, ``cmd-…`` and its
rounds ``….rN``) to the bulletin whose audio the receipt carries. Whether the plan named the item
decides whether its plays count towards the plan or outside it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.db.base import one_of
from loa.fleet.models import Device, PlayReceipt
from loa.protocol.itemids import ItemRef
from loa.protocol.itemids import parse as parse_item_id
from loa.protocol.priority import Priority
from loa.reports import summary
from loa.reports.credit import Item, Resolved, add_rows, resolve
from loa.reports.facts import (
    BulletinIndex,
    DeviceRef,
    Facts,
)
from loa.reports.receipt_sql import (
    AGGREGATE_SETTINGS,
    STREAM_KIND,
    aggregate_settings,
    set_config,
    stream_heard_ms,
)
from loa.schedule.plan import ProgrammePlan, announcement_bulletins
from loa.units.models import Station

log = logging.getLogger(__name__)


def load_devices(session: Session, ids: Iterable[int] | None = None) -> dict[int, DeviceRef]:
    """Active loudspeaker clusters with their commune (their own, else their station's): all of them,
    or only ``ids`` (those a plan reaches: none read when it reaches none)."""
    wanted = None if ids is None else sorted(set(ids))
    if wanted == []:
        return {}
    rows: list[Any] = []
    for start in range(0, len(wanted or [None]), 10_000):  # below SQLite's parameter limit
        stmt = (
            select(Device.id, func.coalesce(Device.commune_id, Station.commune_id), Device.created_at)
            .outerjoin(Station, Station.id == Device.station_id)
            .where(Device.active.is_(True))
        )
        if wanted is not None:
            stmt = stmt.where(one_of(session, Device.id, wanted[start : start + 10_000]))
        rows += session.execute(stmt).all()
    return {
        device_id: DeviceRef(device_id, commune_id, created_at) for device_id, commune_id, created_at in rows
    }


def communes_with_clusters(session: Session, scope: frozenset[int] | set[int]) -> list[int]:
    """The communes in ``scope`` that have clusters, retired ones included (their receipts stay)."""
    all_communes = session.scalars(
        select(func.coalesce(Device.commune_id, Station.commune_id))
        .outerjoin(Station, Station.id == Device.station_id)
        .distinct()
    )
    return sorted(c for c in all_communes if c is not None and c in scope)


def count_future_receipts(
    session: Session, *, now: datetime, end_at: datetime, commune_ids: Sequence[int]
) -> int:
    """Receipts of the period dated after ``now``: a cluster whose clock runs ahead. Not evidence of
    anything yet; the report says how many it left out."""
    if now >= end_at or not commune_ids:
        return 0
    r, d, s = PlayReceipt.__table__, Device.__table__, Station.__table__
    commune = func.coalesce(d.c.commune_id, s.c.commune_id)
    return int(
        session.scalar(
            select(func.count())
            .select_from(r.join(d, d.c.id == r.c.device_id).outerjoin(s, s.c.id == d.c.station_id))
            .where(r.c.started_at >= now, r.c.started_at < end_at, commune.in_(list(commune_ids)))
        )
        or 0
    )


@dataclass(frozen=True)
class StreamAirtime:
    """Live broadcasts and relays heard by the clusters of an area in a period (issue 14)."""

    live_ms: int = 0
    relay_ms: int = 0
    receipts: int = 0
    interruptions: int = 0

    @property
    def live_hours(self) -> float:
        return self.live_ms / 3_600_000

    @property
    def relay_hours(self) -> float:
        return self.relay_ms / 3_600_000


def stream_airtime(
    session: Session, *, start_at: datetime, end_at: datetime, commune_ids: Sequence[int]
) -> StreamAirtime:
    """Hours of live broadcast and of relay: the time each stream receipt says its own audio was heard
    (``heard_ms``, at most the receipt's span: not the fallback clip or silence while it was down),
    every receipt once (the receipts table keeps one row per receipt id), dated by its start in the
    period; a stream at the live rung (``Priority.LIVE`` and above) is live, below it a relay. Any
    outcome counts what was heard: a live broadcast an emergency cut was on air until it was cut."""
    if not commune_ids:
        return StreamAirtime()
    r, d, s = PlayReceipt.__table__, Device.__table__, Station.__table__
    commune = func.coalesce(d.c.commune_id, s.c.commune_id)
    heard = stream_heard_ms(session.get_bind().dialect.name)
    live = func.coalesce(r.c.priority, 0) >= int(Priority.LIVE)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((live, heard), else_=0)), 0),
            func.coalesce(func.sum(case((live, 0), else_=heard)), 0),
            func.count(),
            func.coalesce(func.sum(func.coalesce(r.c.interruptions, 0)), 0),
        )
        .select_from(r.join(d, d.c.id == r.c.device_id).outerjoin(s, s.c.id == d.c.station_id))
        .where(
            r.c.kind == STREAM_KIND,
            r.c.started_at >= start_at,
            r.c.started_at < end_at,
            commune.in_(list(commune_ids)),
        )
    ).one()
    return StreamAirtime(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def receipt_rows(
    session: Session, *, start_at: datetime, end_at: datetime, commune_ids: Sequence[int]
) -> Sequence[Any]:
    """The rows of ``receipts_statement``, run as the statistics run it: closed months from their
    stored summaries where those are valid (``loa.reports.summary``), the rest from the receipts."""
    use_summaries = summary.enabled()
    with aggregate_settings(session):
        return summary.receipt_rows(
            session.connection(),
            start_at=start_at,
            end_at=end_at,
            commune_ids=commune_ids,
            use_summaries=use_summaries,
        )


_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def start_receipt_rows(
    session: Session, *, start_at: datetime, end_at: datetime, commune_ids: Sequence[int]
) -> Callable[[], Sequence[Any]]:
    """Start the aggregate now, fetch its rows later: on PostgreSQL it runs on a second connection,
    in this transaction's snapshot (``pg_export_snapshot``, so the figures are exactly those of one
    moment), while Python expands the schedule — the database's second of work overlaps ours.
    Elsewhere (SQLite) it runs when the rows are asked for."""
    if not commune_ids:
        return lambda: []
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return lambda: receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=commune_ids)
    snapshot = str(session.scalar(text("SELECT pg_export_snapshot()")))
    if not _SNAPSHOT_ID.match(snapshot):  # it is spliced into SET TRANSACTION below
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    use_summaries = summary.enabled()

    def run() -> Sequence[Any]:
        with bind.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                connection.execute(*set_config(AGGREGATE_SETTINGS))
                return summary.receipt_rows(
                    connection,
                    start_at=start_at,
                    end_at=end_at,
                    commune_ids=commune_ids,
                    use_summaries=use_summaries,
                )

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loa-report-receipts")
    future = pool.submit(run)
    pool.shutdown(wait=False)

    def fetch() -> Sequence[Any]:
        try:
            return future.result()
        except DBAPIError:
            # The snapshot could not be shared (a connection in autocommit has none to export):
            # the same aggregate, in this session.
            log.warning("receipt aggregate ran again in the report's own session", exc_info=True)
            return receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=commune_ids)

    return fetch


def _audio_of_items(
    session: Session, item_ids: Sequence[str], *, start_at: datetime, end_at: datetime
) -> dict[str, str]:
    """The audio each item's receipts carried (an item is one audio), through the item id index:
    the few items of "play now" and emergency commands, not every receipt."""
    out: dict[str, str] = {}
    r = PlayReceipt.__table__.c
    for start in range(0, len(item_ids), 1000):
        chunk = list(item_ids[start : start + 1000])
        for item_id, sha in session.execute(
            select(r.item_id, func.min(r.audio_sha256))
            .where(r.item_id.in_(chunk), r.started_at >= start_at, r.started_at < end_at)
            .group_by(r.item_id)
        ).all():
            if sha is not None:  # a stream names no audio
                out[item_id] = sha
    return out


def _credit_by_audio(
    session: Session, refs: dict[str, ItemRef], topics: BulletinIndex, *, start_at: datetime, end_at: datetime
) -> dict[str, ItemRef]:
    """Items that name no programme line or announcement (play now, emergency messages), named again
    by the bulletin whose audio they played."""
    unnamed = [i for i, ref in refs.items() if ref.programme_id is None and ref.announcement_id is None]
    if not unnamed:
        return refs
    audio = _audio_of_items(session, unnamed, start_at=start_at, end_at=end_at)
    # An alert's rounds play one file "lead-in signal + message" (``EmergencyAlert.aired_sha256``):
    # credited to the bulletin whose audio is the message.
    aired = sorted(set(audio.values()))
    message_of: dict[str, str] = {}
    for start in range(0, len(aired), 1000):
        for aired_sha, message_sha in session.execute(
            select(EmergencyAlert.aired_sha256, EmergencyAlert.audio_sha256).where(
                EmergencyAlert.aired_sha256.in_(aired[start : start + 1000])
            )
        ).tuples():
            if aired_sha is not None:
                message_of[aired_sha] = message_sha
    audio = {item_id: message_of.get(sha, sha) for item_id, sha in audio.items()}
    of_audio = topics.of_audio(set(audio.values()))
    out = dict(refs)
    for item_id, sha in audio.items():
        bulletin_id = of_audio.get(sha)
        if bulletin_id is not None:
            out[item_id] = refs[item_id]._replace(bulletin_id=bulletin_id)
    return out


def count_played(
    session: Session,
    facts: Facts,
    *,
    start_at: datetime,
    end_at: datetime,
    scope_communes: Sequence[int],
    topic_id: int | None,
    topics: BulletinIndex,
    programmes: Mapping[int, ProgrammePlan],
    fetch_rows: Callable[[], Sequence[Any]] | None = None,
    prepared: dict[str, Resolved] | None = None,
) -> None:
    """Add the receipts to ``facts``; ``end_at``: the end of the evidence (the period's end or the
    report's moment, whichever is earlier); ``fetch_rows`` from ``start_receipt_rows`` if already
    started; ``prepared``: items resolved ahead (``expected_items``)."""
    if not scope_communes:
        return
    if fetch_rows is not None:
        rows = fetch_rows()
    else:
        rows = receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=scope_communes)
    if rows:
        facts.receipts = True
    # One order whatever the rows came from (summaries, receipts, the database's hashing): an airing
    # whose lines were played over two days is dated by the last of them.
    rows = sorted(rows, key=lambda row: (str(row[1]), row[0], row[2]))
    item_ids = {row[2] for row in rows}
    known = prepared or {}
    resolved = _resolve_unforeseen(
        session,
        [i for i in item_ids if i not in known],
        facts,
        topics=topics,
        programmes=programmes,
        topic_id=topic_id,
        start_at=start_at,
        end_at=end_at,
    )
    add_rows(facts, rows, _items(facts, item_ids, {**resolved, **known}))


def _resolve_unforeseen(
    session: Session,
    item_ids: Sequence[str],
    facts: Facts,
    *,
    topics: BulletinIndex,
    programmes: Mapping[int, ProgrammePlan],
    topic_id: int | None,
    start_at: datetime,
    end_at: datetime,
) -> dict[str, Resolved]:
    """The items receipts named that the schedule did not foresee (play now, emergency messages,
    announcements, lines of other periods), resolved once each: parsed, named by their audio when
    they name nothing else, their bulletins' kinds and topics loaded."""
    refs: dict[str, ItemRef] = {item_id: parse_item_id(item_id) for item_id in item_ids}
    refs = _credit_by_audio(session, refs, topics, start_at=start_at, end_at=end_at)
    of_announcement = announcement_bulletins(
        session, {r.announcement_id for r in refs.values() if r.announcement_id is not None}
    )
    topics.load(b for r in refs.values() if (b := r.bulletin_id) is not None)
    topics.load(b for b in of_announcement.values() if b is not None)
    return {
        item_id: resolve(
            ref, of_announcement, facts=facts, topics=topics, programmes=programmes, topic_id=topic_id
        )
        for item_id, ref in refs.items()
    }


def _items(facts: Facts, item_ids: set[str], resolved: Mapping[str, Resolved]) -> dict[str, Item | None]:
    """What each item adds to (``loa.reports.credit.Item``; None: not of the topic), the lines of a
    programme airing noted on its facts (which airing, which bulletin) for coverage and composition."""
    items: dict[str, Item | None] = {}
    bulletins, programme_facts = facts.bulletins, facts.programmes
    for item_id in item_ids:
        found = resolved[item_id]
        if found is None:
            items[item_id] = None
            continue
        bulletin_id, programme_id, airing, planned = found
        pf = programme_facts[programme_id] if programme_id is not None else None
        if pf is not None:
            pf.line_airing[item_id] = airing
            if bulletin_id is not None:
                pf.line_bulletin[item_id] = bulletin_id
        items[item_id] = (bulletins[bulletin_id] if bulletin_id is not None else None, pf, airing, planned)
    return items

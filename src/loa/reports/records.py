"""Register records of a report, read as plain values: a province-year is thousands of records and
the report only reads their fields, so they are loaded as column tuples (with their topics and, for
mobile trips, their stops, in one query each) rather than as ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.activities.models import MobileTrip, MobileTripStop
from loa.activities.registers import AnyRecord, RegisterSpec
from loa.activities.service import period_clauses
from loa.topics.models import Topic
from loa.units.models import AdminUnit
from loa.vocab.period import Period


def fetch_records(
    session: Session, spec: RegisterSpec, period: Period, prefixes: Sequence[str], topic_code: str | None
) -> list[tuple[AnyRecord, AdminUnit]]:
    """The register's records of the period under the area, oldest first, with their unit (a count
    entry only when its whole period lies in the report's: ``period_clauses``). Read as
    plain values (columns, topics, stops), not ORM objects: a province-year is thousands of records
    and the report only reads their fields."""
    model: Any = spec.model
    table = model.__table__
    day = getattr(model, spec.date_field)
    wanted: Any = (
        select(model.id)
        .join(AdminUnit, AdminUnit.id == model.area_id)
        .where(*period_clauses(spec, period.start, period.end))
        .where(under(AdminUnit.path, prefixes))
    )
    if topic_code:
        wanted = wanted.where(model.topics.any(Topic.code == topic_code))
    names = [c.key for c in table.columns]
    rows = session.execute(select(*table.columns).where(model.id.in_(wanted)).order_by(day, model.id)).all()
    if not rows:
        return []
    records = [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in rows]
    by_id = {r.id: r for r in records}
    topics = {t.id: t for t in session.scalars(select(Topic))}
    link = model.topics.property.secondary
    for r in records:
        r.topics = []
    for record_id, topic_id in session.execute(
        select(link.c.record_id, link.c.topic_id)
        .where(link.c.record_id.in_(wanted))
        .order_by(link.c.record_id, link.c.topic_id)
    ).all():
        by_id[record_id].topics.append(topics[topic_id])
    if model is MobileTrip:
        for r in records:
            r.stops = []
        for stop in session.execute(
            select(MobileTripStop.trip_id, MobileTripStop.area_id, MobileTripStop.name)
            .where(MobileTripStop.trip_id.in_(wanted))
            .order_by(MobileTripStop.trip_id, MobileTripStop.position, MobileTripStop.id)
        ):
            by_id[stop.trip_id].stops.append(SimpleNamespace(area_id=stop.area_id, name=stop.name))
    area_ids = {r.area_id for r in records}
    units = {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(area_ids)))}
    return [(cast(AnyRecord, r), units[r.area_id]) for r in records]

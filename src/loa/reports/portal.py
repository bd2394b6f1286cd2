"""The portal channel of a report: bulletins published on Loa in the period count automatically (tin:
news and announcements; bài viết: articles, reportages, segments; ảnh: their photos), merged with the
manual portal register (an entry that references a bulletin counted automatically is listed but not
counted again). Rules: ``loa.reports.airtime``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.scope import under
from loa.activities.models import PortalPost
from loa.activities.present import detail_cells
from loa.activities.registers import PORTAL
from loa.activities.service import area_ref
from loa.content.models import Attachment, Bulletin, bulletin_topics
from loa.reports.airtime import (
    BASIS_DUPLICATE,
    BASIS_MANUAL,
    BASIS_PUBLISHED,
    BULLETIN_PREFIX,
    MANUAL,
    PORTAL_KIND_OF_BULLETIN,
    SYSTEM,
    row_ref,
)
from loa.reports.data import DetailRow
from loa.reports.facts import local_day, period_bounds
from loa.topics.models import Topic
from loa.units.models import AdminUnit
from loa.vocab.period import Period

Pair = tuple[DetailRow, AdminUnit]


def _topic_names(session: Session, bulletin_ids: Sequence[int]) -> dict[int, list[str]]:
    """Topic names of a few bulletins (the published ones of the portal)."""
    names: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(bulletin_ids), 1000):
        chunk = bulletin_ids[start : start + 1000]
        for bulletin_id, name in session.execute(
            select(bulletin_topics.c.bulletin_id, Topic.name)
            .join(Topic, Topic.id == bulletin_topics.c.topic_id)
            .where(bulletin_topics.c.bulletin_id.in_(chunk))
            .order_by(Topic.id)
        ):
            names[bulletin_id].append(name)
    return names


def portal_rows(
    session: Session,
    period: Period,
    prefixes: Sequence[str],
    topic_id: int | None,
    manual: Sequence[tuple[PortalPost, AdminUnit]],
) -> list[Pair]:
    start_at, end_at = period_bounds(period)
    photos = (
        select(Attachment.bulletin_id, func.count().label("n")).group_by(Attachment.bulletin_id).subquery()
    )
    query = (
        select(Bulletin.id, Bulletin.kind, Bulletin.title, Bulletin.published_at, AdminUnit, photos.c.n)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .outerjoin(photos, photos.c.bulletin_id == Bulletin.id)
        .where(
            Bulletin.published_revision_no.is_not(None),
            Bulletin.published_at >= start_at,
            Bulletin.published_at < end_at,
            under(AdminUnit.path, prefixes),
        )
        .order_by(Bulletin.published_at, Bulletin.id)
    )
    if topic_id is not None:
        query = query.where(
            Bulletin.id.in_(
                select(bulletin_topics.c.bulletin_id).where(bulletin_topics.c.topic_id == topic_id)
            )
        )
    published = session.execute(query).all()
    names = _topic_names(session, [b[0] for b in published])
    rows: list[Pair] = []
    for bulletin_id, kind, title, published_at, unit, n_photos in published:
        cells = {
            "record": SYSTEM,
            "kind_label": "Tin" if PORTAL_KIND_OF_BULLETIN[kind] == "news" else "Bài viết",
            "kind_code": PORTAL_KIND_OF_BULLETIN[kind],
            "date": local_day(published_at).isoformat(),
            "title": title,
            "quantity": 1,
            "photos": int(n_photos or 0),
            "area_name": unit.name,
            "area_code": unit.code,
            "topics": "; ".join(names.get(bulletin_id, [])),
            "bulletin_ref": row_ref(BULLETIN_PREFIX, bulletin_id),
            "basis": BASIS_PUBLISHED,
            "counted": 1,
        }
        rows.append((DetailRow(row_ref(BULLETIN_PREFIX, bulletin_id), cells), unit))
    automatic = {b[0] for b in published}
    for record, unit in manual:
        duplicate = record.bulletin_id is not None and record.bulletin_id in automatic
        ref = row_ref(BULLETIN_PREFIX, record.bulletin_id) if record.bulletin_id is not None else ""
        cells = {
            **detail_cells(PORTAL, record, area_ref(unit)),
            "record": MANUAL,
            "kind_label": PORTAL.kinds[record.kind].label if PORTAL.kinds else str(record.kind),
            "kind_code": record.kind.value,
            "date": record.posted_on.isoformat(),
            "quantity": record.count,
            "bulletin_ref": ref,
            "basis": BASIS_DUPLICATE.format(ref=ref) if duplicate else BASIS_MANUAL,
            "counted": 0 if duplicate else 1,
        }
        rows.append((DetailRow(record.id, cells), unit))
    return rows

"""Reading bulletins: the filtered list, the review queue, revisions and their differences, and the
published revisions that the e-portal feeds serve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import above_scope, in_scope, under
from loa.content.catalog import BulletinKind, Priority, Status
from loa.content.diffing import FieldDiff, diff_fields
from loa.content.logic import diff_labels, diffable
from loa.content.models import Bulletin, BulletinEvent, BulletinRevision, bulletin_topics
from loa.content.richtext import search_words
from loa.content.service import get_bulletin
from loa.db.base import utcnow
from loa.errors import InvalidInput, NotFound
from loa.topics.models import Topic
from loa.units.models import AdminUnit

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    topic: str | None = None
    kind: BulletinKind | None = None
    area_code: str | None = None
    priority: Priority | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class Page:
    items: list[Bulletin]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def parse_filters(raw: dict[str, str | None]) -> Filters:
    """Query-string values → filters; an unknown value is a clear 422, empty means 'any'."""

    def pick(name: str) -> str | None:
        value = (raw.get(name) or "").strip()
        return value or None

    try:
        status = Status(raw_status) if (raw_status := pick("status")) else None
        kind = BulletinKind(raw_kind) if (raw_kind := pick("kind")) else None
        priority = Priority(raw_priority) if (raw_priority := pick("priority")) else None
    except ValueError as err:
        raise InvalidInput("Giá trị bộ lọc không hợp lệ (trạng thái, thể loại hoặc mức ưu tiên).") from err
    try:
        page = max(1, int(pick("page") or 1))
        per_page = min(MAX_PAGE_SIZE, max(1, int(pick("per_page") or 50)))
    except ValueError as err:
        raise InvalidInput("Số trang không hợp lệ.") from err
    return Filters(
        status=status,
        topic=pick("topic"),
        kind=kind,
        area_code=pick("area"),
        priority=priority,
        q=(raw.get("q") or "").strip()[:200],
        page=page,
        per_page=per_page,
    )


def visible_to(
    principal: Principal, bulletin: type[Bulletin] = Bulletin, unit: type[AdminUnit] = AdminUnit
) -> ColumnElement[bool]:
    """Own areas' bulletins; published bulletins of the levels above too (needs ``AdminUnit`` joined;
    ``bulletin`` and ``unit`` name aliases of the two when a subquery needs its own)."""
    published_above = and_(above_scope(principal, unit.path), bulletin.status == Status.PUBLISHED)
    return or_(in_scope(principal, unit.path), published_above)


def _common(session: Session, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.topic:
        conditions.append(
            Bulletin.id.in_(
                select(bulletin_topics.c.bulletin_id)
                .join(Topic, Topic.id == bulletin_topics.c.topic_id)
                .where(Topic.code == filters.topic)
            )
        )
    if filters.kind:
        conditions.append(Bulletin.kind == filters.kind)
    if filters.priority:
        conditions.append(Bulletin.priority == filters.priority)
    if filters.area_code:
        base = session.scalar(select(AdminUnit.path).where(AdminUnit.code == filters.area_code))
        conditions.append(under(AdminUnit.path, [base] if base else []))
    for pattern in search_words(filters.q):
        conditions.append(Bulletin.search_folded.contains(pattern, autoescape=True))
    return conditions


def list_bulletins(session: Session, *, principal: Principal, filters: Filters) -> Page:
    conditions = [*_common(session, filters), visible_to(principal)]
    if filters.status:
        conditions.append(Bulletin.status == filters.status)
    base = select(Bulletin).join(AdminUnit, AdminUnit.id == Bulletin.area_id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.order_by(Bulletin.updated_at.desc(), Bulletin.id.desc())
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    ).all()
    return Page(list(rows), total, filters.page, filters.per_page)


def review_queue(session: Session, *, principal: Principal) -> list[Bulletin]:
    """Submitted bulletins this approver may decide on, most urgent and oldest first."""
    if not principal.has(Permission.APPROVE_CONTENT):
        return []
    rows = session.scalars(
        select(Bulletin)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(Bulletin.status == Status.SUBMITTED, in_scope(principal, AdminUnit.path))
    ).all()
    rank = {Priority.EMERGENCY: 0, Priority.PRIORITY: 1, Priority.NORMAL: 2}
    return sorted(rows, key=lambda b: (rank[b.priority], b.submitted_at or b.created_at))


# ---------------------------------------------------------------------------------------- history


def revisions(session: Session, *, principal: Principal, bulletin_id: int) -> list[BulletinRevision]:
    get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    return list(
        session.scalars(
            select(BulletinRevision)
            .where(BulletinRevision.bulletin_id == bulletin_id)
            .order_by(BulletinRevision.number)
        )
    )


def events(session: Session, *, bulletin_id: int) -> list[BulletinEvent]:
    return list(
        session.scalars(
            select(BulletinEvent).where(BulletinEvent.bulletin_id == bulletin_id).order_by(BulletinEvent.id)
        )
    )


def revision_diff(
    session: Session, *, principal: Principal, bulletin_id: int, old: int, new: int
) -> list[FieldDiff]:
    found = {
        r.number: r
        for r in session.scalars(
            select(BulletinRevision).where(
                BulletinRevision.bulletin_id == bulletin_id, BulletinRevision.number.in_((old, new))
            )
        )
    }
    get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    if old not in found or new not in found:
        raise NotFound("Không tìm thấy phiên bản cần so sánh.")
    before, after = diffable(found[old].snapshot), diffable(found[new].snapshot)
    return diff_fields(before, after, diff_labels(before, after))


# ------------------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class Published:
    bulletin: Bulletin
    revision: BulletinRevision
    area: AdminUnit

    @property
    def content(self) -> dict[str, Any]:
        return self.revision.snapshot


def published(
    session: Session,
    *,
    filters: Filters,
    limit: int = 50,
    now: datetime | None = None,
    area_paths: Sequence[str] | None = None,
) -> list[Published]:
    """Live revisions for the e-portal: published, not archived, inside their validity window.
    ``area_paths``: only bulletins filed exactly at these units (an e-board shows its commune's and the
    levels above it, not its neighbours')."""
    now = now or utcnow()
    conditions = [
        *_common(session, filters),
        *([AdminUnit.path.in_(list(area_paths))] if area_paths is not None else []),
        Bulletin.published_revision_no.is_not(None),
        Bulletin.status != Status.ARCHIVED,
        or_(Bulletin.valid_from.is_(None), Bulletin.valid_from <= now),
        or_(Bulletin.valid_until.is_(None), Bulletin.valid_until > now),
    ]
    rows = session.execute(
        select(Bulletin, BulletinRevision, AdminUnit)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .join(
            BulletinRevision,
            and_(
                BulletinRevision.bulletin_id == Bulletin.id,
                BulletinRevision.number == Bulletin.published_revision_no,
            ),
        )
        .where(*conditions)
        .order_by(Bulletin.published_at.desc(), Bulletin.id.desc())
        .limit(min(limit, MAX_PAGE_SIZE))
    ).all()
    return [Published(b, r, a) for b, r, a in rows]

"""Queries behind the register pages: records filtered by period, area subtree and topic (all within
the principal's scope), counted and paged; and the area choices a person may file records under."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require, scope_units, under, visible_unit
from loa.activities import service
from loa.activities.registers import AnyRecord, AreaRef, RegisterSpec
from loa.activities.service import area_ref
from loa.areas.logic import PROVINCE_KINDS, VILLAGE_KINDS
from loa.errors import LoaError
from loa.topics.models import Topic
from loa.topics.service import get_topic
from loa.units.models import AdminUnit, UnitKind
from loa.vocab.periodform import PeriodFields, parse_period

MAX_AREA_CHOICES = 400


@dataclass(frozen=True)
class RecordFilter:
    start: date | None = None
    end: date | None = None
    area_path: str | None = None
    topic_code: str | None = None


@dataclass(frozen=True)
class RecordPage:
    items: list[AnyRecord]
    total: int
    quantity: int | None  # sum of the quantity column over every matching record (None: no such column)
    page: int
    pages: int


def _filtered(spec: RegisterSpec, principal: Principal, wanted: RecordFilter) -> Any:
    model = spec.model
    query = (
        select(model)
        .join(AdminUnit, AdminUnit.id == model.area_id)
        .where(in_scope(principal, AdminUnit.path))
    )
    query = query.where(*service.period_clauses(spec, wanted.start, wanted.end))
    if wanted.area_path:
        query = query.where(under(AdminUnit.path, [wanted.area_path]))
    if wanted.topic_code:
        query = query.where(model.topics.any(Topic.code == wanted.topic_code))
    return query


def find_records(
    session: Session,
    *,
    spec: RegisterSpec,
    principal: Principal,
    wanted: RecordFilter,
    page: int = 1,
    per_page: int | None = 50,
) -> RecordPage:
    """One page of matching records, newest first; ``per_page=None`` returns them all (export)."""
    require(principal, Permission.VIEW)
    model = spec.model
    query = _filtered(spec, principal, wanted)
    sub = query.subquery()
    total = int(session.scalar(select(func.count()).select_from(sub)) or 0)
    quantity = None
    if spec.quantity_field:
        quantity = int(session.scalar(select(func.coalesce(func.sum(sub.c[spec.quantity_field]), 0))) or 0)
    day = getattr(model, spec.date_field)
    query = query.order_by(day.desc(), model.id.desc())
    pages = 1 if per_page is None else max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    if per_page is not None:
        query = query.offset((page - 1) * per_page).limit(per_page)
    return RecordPage(list(session.scalars(query)), total, quantity, page, pages)


def count_records(session: Session, *, spec: RegisterSpec, principal: Principal, wanted: RecordFilter) -> int:
    require(principal, Permission.VIEW)
    sub = _filtered(spec, principal, wanted).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def area_choices(session: Session, principal: Principal) -> list[AreaRef]:
    """Units offered in area pickers: an administrator gets the provinces; others their scope and what
    lies below it (villages only for a commune-level scope, so a province list stays short)."""
    if principal.is_admin:
        query = select(AdminUnit).where(AdminUnit.kind.in_(PROVINCE_KINDS))
    else:
        scopes = scope_units(session, principal)
        if not scopes:
            return []
        wide = any(u.kind in PROVINCE_KINDS for u in scopes)
        query = select(AdminUnit).where(under(AdminUnit.path, [u.path for u in scopes]))
        if wide:
            query = query.where(AdminUnit.kind.not_in(VILLAGE_KINDS))
    units = session.scalars(query.order_by(AdminUnit.path).limit(MAX_AREA_CHOICES))
    return [area_ref(u) for u in units]


def former_districts(session: Session, principal: Principal) -> list[AreaRef]:
    """Former districts the principal may report on (for "theo huyện cũ")."""
    query = select(AdminUnit).where(AdminUnit.kind == UnitKind.DISTRICT, in_scope(principal, AdminUnit.path))
    return [area_ref(u) for u in session.scalars(query.order_by(AdminUnit.name).limit(MAX_AREA_CHOICES))]


def default_area(session: Session, principal: Principal) -> AdminUnit | None:
    """The unit forms start with: the principal's only scope unit, else none."""
    scopes = scope_units(session, principal)
    return scopes[0] if len(scopes) == 1 else None


def areas_of(session: Session, ids: Sequence[int]) -> dict[int, AdminUnit]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(wanted)))}


@dataclass
class Filters:
    """The filter bar as typed (kept to fill the form again) and what it means."""

    raw: dict[str, str]
    wanted: RecordFilter = field(default_factory=RecordFilter)
    error: str | None = None

    @classmethod
    def empty(cls) -> Filters:
        return cls({"period": "", "year": "", "start": "", "end": "", "area": "", "topic": ""})

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.raw.items() if v})


def parse_filters(
    session: Session,
    principal: Principal,
    period: str,
    year: str,
    start: str,
    end: str,
    area: str,
    topic: str,
) -> Filters:
    """The filter bar's values → what to select; a bad value is reported, not raised, so the page
    still renders (unfiltered) with the message."""
    raw = {"period": period, "year": year, "start": start, "end": end, "area": area, "topic": topic}
    try:
        chosen = parse_period(PeriodFields(period, year or str(date.today().year), start, end))
        area_path = visible_unit(session, principal, code=area).path if area.strip() else None
        if topic:
            get_topic(session, topic)
    except LoaError as err:
        return Filters(raw, error=err.message)
    return Filters(
        raw,
        RecordFilter(
            start=chosen.start if chosen else None,
            end=chosen.end if chosen else None,
            area_path=area_path,
            topic_code=topic or None,
        ),
    )

"""Slots (one airing of a programme): list them, read one, move or cancel it. Their running orders are
in ``loa.schedule.running_orders``.

A slot's public id is ``<programme id>-<YYYYMMDDTHHMM>`` (its original local time, like RFC 5545's
RECURRENCE-ID), so every occurrence has an id before anything is stored; a row in ``slots`` is written
only when the slot is moved, cancelled or given its own running order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.content.catalog import DEFAULT_LANGUAGE
from loa.errors import InvalidInput, NotFound
from loa.schedule import checks
from loa.schedule import models as m
from loa.schedule.acceptance import Outcome, check_conflicts
from loa.schedule.access import editable_programme, visible_programme
from loa.schedule.dbsnapshot import programme_recurrence
from loa.schedule.orderlines import durations, main_language, order_items
from loa.schedule.recurrence import occurrences, to_local, to_utc

_KEY = re.compile(r"^(\d{1,9})-(\d{8}T\d{4})$")
MAX_RANGE_DAYS = 400


def slot_key(programme_id: int, occurrence_local: datetime) -> str:
    return f"{programme_id}-{occurrence_local:%Y%m%dT%H%M}"


def parse_key(key: str) -> tuple[int, datetime]:
    match = _KEY.match(key)
    if match is None:
        raise NotFound("Không tìm thấy buổi phát.", code="slot_not_found")
    try:
        return int(match.group(1)), datetime.strptime(match.group(2), "%Y%m%dT%H%M")
    except ValueError as err:
        raise NotFound("Không tìm thấy buổi phát.", code="slot_not_found") from err


@dataclass(frozen=True)
class SlotView:
    key: str
    programme_id: int
    programme_name: str
    occurrence_local: datetime
    start_local: datetime
    start_at: datetime
    end_at: datetime
    slot_ms: int
    status: m.SlotStatus
    own_running_order: bool
    item_count: int
    total_ms: int
    priority: int
    uses_fallback: bool = False  # nothing of its own to play: the fallback playlist fills it

    @property
    def end_local(self) -> datetime:
        return self.start_local + (self.end_at - self.start_at)

    @property
    def overfull(self) -> bool:
        return self.total_ms > self.slot_ms


# --- listing ---


def _day_bounds(from_date: date, to_date: date, timezone: str) -> tuple[datetime, datetime]:
    if to_date < from_date:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="range_invalid")
    if (to_date - from_date).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"Chỉ xem tối đa {MAX_RANGE_DAYS} ngày một lần.", code="range_too_long")
    start = to_utc(datetime.combine(from_date, time()), timezone)
    end = to_utc(datetime.combine(to_date + timedelta(days=1), time()), timezone)
    return start, end


def _occurrences(
    session: Session, programme: m.Programme, start_at: datetime, end_at: datetime
) -> dict[datetime, m.Slot | None]:
    """Original local time → its stored row (if any) of the occurrences in the window, and of every
    moved slot (which may land in the window from elsewhere)."""
    rows = {
        s.occurrence_local: s
        for s in session.scalars(select(m.Slot).where(m.Slot.programme_id == programme.id))
    }
    wanted: dict[datetime, m.Slot | None] = {
        to_local(at, programme.timezone): None
        for at in occurrences(programme_recurrence(programme), start_at, end_at)
    }
    for occ, stored in rows.items():
        if occ in wanted or stored.moved_to_local is not None:
            wanted[occ] = stored
    return wanted


def programme_slots(
    session: Session,
    programme: m.Programme,
    start_at: datetime,
    end_at: datetime,
    *,
    with_totals: bool = True,
) -> list[SlotView]:
    length = timedelta(milliseconds=programme.slot_duration_ms)
    wanted = _occurrences(session, programme, start_at - length, end_at)
    language = main_language(session, programme.id) if with_totals else DEFAULT_LANGUAGE
    has_fallback = bool(
        session.scalar(
            select(
                exists().where(m.RunningOrderItem.programme_id == programme.id, m.RunningOrderItem.fallback)
            )
        )
    )
    default_total: tuple[int, int] | None = None
    out: list[SlotView] = []
    for occ, row in sorted(wanted.items()):
        local = row.moved_to_local if row is not None and row.moved_to_local is not None else occ
        start = to_utc(local, programme.timezone)
        if not (start < end_at and start + length > start_at):
            continue
        own = row is not None and row.own_running_order
        if not with_totals:
            count, total = 0, 0
        elif own and row is not None:
            its = order_items(session, programme.id, row.id)
            count, total = len(its), sum(durations(session, its, language))
        else:
            if default_total is None:
                its = order_items(session, programme.id, None)
                default_total = (len(its), sum(durations(session, its, language)))
            count, total = default_total
        out.append(
            SlotView(
                key=slot_key(programme.id, occ),
                programme_id=programme.id,
                programme_name=programme.name,
                occurrence_local=occ,
                start_local=local,
                start_at=start,
                end_at=start + length,
                slot_ms=programme.slot_duration_ms,
                status=row.status if row is not None else m.SlotStatus.SCHEDULED,
                own_running_order=own,
                item_count=count,
                total_ms=total,
                priority=programme.priority,
                uses_fallback=with_totals and has_fallback and count == 0,
            )
        )
    return out


def list_slots(
    session: Session, *, principal: Principal, programme_id: int, from_date: date, to_date: date | None
) -> list[SlotView]:
    programme = visible_programme(session, principal=principal, programme_id=programme_id)
    if to_date is None:
        if programme.until_cancelled:
            raise InvalidInput(
                "Chương trình phát đến khi hủy nên không liệt kê hết được: hãy chọn ngày kết thúc (to).",
                code="rrule_unbounded",
            )
        to_date = from_date + timedelta(days=MAX_RANGE_DAYS)
    start, end = _day_bounds(from_date, to_date, programme.timezone)
    return programme_slots(session, programme, start, end)


def _is_occurrence(programme: m.Programme, local: datetime) -> bool:
    at = to_utc(local, programme.timezone)
    return at in occurrences(programme_recurrence(programme), at, at + timedelta(minutes=1))


def get_slot(
    session: Session, *, principal: Principal, key: str, write: bool = False
) -> tuple[m.Programme, m.Slot | None, datetime]:
    programme_id, occ = parse_key(key)
    if write:
        programme = editable_programme(session, principal=principal, programme_id=programme_id)
    else:
        programme = visible_programme(session, principal=principal, programme_id=programme_id)
    row = session.scalar(
        select(m.Slot).where(m.Slot.programme_id == programme_id, m.Slot.occurrence_local == occ)
    )
    if row is None and not _is_occurrence(programme, occ):
        raise NotFound("Chương trình không có buổi phát vào thời điểm này.", code="slot_not_found")
    return programme, row, occ


def slot_view(session: Session, programme: m.Programme, occ: datetime) -> SlotView:
    row = session.scalar(
        select(m.Slot).where(m.Slot.programme_id == programme.id, m.Slot.occurrence_local == occ)
    )
    local = row.moved_to_local if row is not None and row.moved_to_local is not None else occ
    at = to_utc(local, programme.timezone)
    found = [
        s
        for s in programme_slots(session, programme, at, at + timedelta(minutes=1))
        if s.occurrence_local == occ
    ]
    if not found:
        raise NotFound("Không tìm thấy buổi phát.", code="slot_not_found")
    return found[0]


def ensure_row(session: Session, programme: m.Programme, row: m.Slot | None, occ: datetime) -> m.Slot:
    if row is None:
        row = m.Slot(programme_id=programme.id, occurrence_local=occ, status=m.SlotStatus.SCHEDULED)
        session.add(row)
        session.flush()
    return row


# --- moving and cancelling ---


def move_slot(
    session: Session,
    *,
    principal: Principal,
    key: str,
    new_start_local: datetime,
    accept: checks.Accept | None = None,
    now: datetime,
) -> tuple[SlotView, Outcome]:
    """Move one airing (drag and drop on the calendar). Conflicts are re-detected at the new time."""
    programme, row, occ = get_slot(session, principal=principal, key=key, write=True)
    if new_start_local.tzinfo is not None or new_start_local.second or new_start_local.microsecond:
        raise InvalidInput("Giờ phát mới phải là giờ địa phương, tính đến phút.", code="start_invalid")
    new_at = to_utc(new_start_local, programme.timezone)
    if new_at < now:
        raise InvalidInput("Không thể dời buổi phát về thời điểm đã qua.", code="slot_in_past")
    if row is not None and row.status is m.SlotStatus.CANCELLED:
        raise InvalidInput("Buổi phát đã bị hủy; hãy khôi phục trước khi dời.", code="slot_cancelled")
    current = row.moved_to_local if row is not None and row.moved_to_local is not None else occ
    if to_utc(current, programme.timezone) < now:
        raise InvalidInput("Buổi phát đã diễn ra, không dời được.", code="slot_in_past")
    if new_start_local != occ:
        other = session.scalar(
            select(m.Slot.id).where(
                m.Slot.programme_id == programme.id,
                m.Slot.moved_to_local == new_start_local,
                m.Slot.occurrence_local != occ,
            )
        )
        if other is not None or _is_occurrence(programme, new_start_local):
            raise InvalidInput(
                f"«{programme.name}» đã có buổi phát lúc {new_start_local:%H:%M ngày %d/%m/%Y}.",
                code="slot_taken",
            )
    row = ensure_row(session, programme, row, occ)
    before = current
    if new_start_local == occ:
        row.status, row.moved_to_local = m.SlotStatus.SCHEDULED, None
    else:
        row.status, row.moved_to_local = m.SlotStatus.MOVED, new_start_local
    row.updated_at, row.updated_by_id = now, principal.user_id
    length = timedelta(milliseconds=programme.slot_duration_ms)
    accepted, applied = check_conflicts(
        session,
        principal=principal,
        subject=checks.Subject(programmes=frozenset({programme.id}), spans=((new_at, new_at + length),)),
        accept=accept,
        now=now,
    )
    record(
        session,
        action="schedule.slot_move",
        actor=principal,
        target_type="slot",
        target_id=key,
        area_id=programme.area_id,
        details={"programme": programme.name, "from": before.isoformat(), "to": new_start_local.isoformat()},
    )
    return slot_view(session, programme, occ), Outcome(programme, accepted, applied)


def set_slot_cancelled(
    session: Session, *, principal: Principal, key: str, cancelled: bool, now: datetime
) -> SlotView:
    programme, row, occ = get_slot(session, principal=principal, key=key, write=True)
    row = ensure_row(session, programme, row, occ)
    if cancelled:
        row.status = m.SlotStatus.CANCELLED
    else:
        row.status = m.SlotStatus.MOVED if row.moved_to_local is not None else m.SlotStatus.SCHEDULED
    row.updated_at, row.updated_by_id = now, principal.user_id
    session.flush()
    record(
        session,
        action="schedule.slot_cancel" if cancelled else "schedule.slot_restore",
        actor=principal,
        target_type="slot",
        target_id=key,
        area_id=programme.area_id,
        details={"programme": programme.name},
    )
    return slot_view(session, programme, occ)

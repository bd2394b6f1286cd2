"""Slots (one airing of a programme) and their running orders.

A slot's public id is ``<programme id>-<YYYYMMDDTHHMM>`` (its original local time, like RFC 5545's
RECURRENCE-ID), so every occurrence has an id before anything is stored; a row in ``slots`` is written
only when the slot is moved, cancelled or given its own running order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.accounts.scope import area_path
from loa.content.audio_scope import reachable_asset
from loa.content.catalog import DEFAULT_LANGUAGE
from loa.content.models import Bulletin
from loa.content.service import can_view as can_view_bulletin
from loa.errors import InvalidInput, NotFound
from loa.schedule import checks
from loa.schedule import models as m
from loa.schedule.conflicts import check_slot
from loa.schedule.dbsnapshot import ContentIndex, airable_revision, programme_recurrence
from loa.schedule.recurrence import occurrences, to_local, to_utc
from loa.schedule.service import (
    Outcome,
    check_conflicts,
    editable_programme,
    stored_targets,
    visible_programme,
)

_KEY = re.compile(r"^(\d{1,9})-(\d{8}T\d{4})$")
MAX_RANGE_DAYS = 400
MAX_ITEMS = 100


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


def durations(session: Session, items: Sequence[m.RunningOrderItem], language: str) -> list[int]:
    """Duration of each line in ``language`` (Vietnamese as the fallback; 0 when nothing can air)."""
    bulletin_ids = {i.bulletin_id for i in items if i.bulletin_id is not None}
    shas = {i.audio_sha256 for i in items if i.audio_sha256}
    index = ContentIndex(session, bulletin_ids, shas)
    out = []
    for i in items:
        if i.kind is m.ItemKind.BULLETIN and i.bulletin_id is not None:
            found = index.bulletin_audio(i.bulletin_id, language)
            out.append(found[1].duration_ms or 0 if found else 0)
        else:
            audio = index.audio(i.audio_sha256)
            out.append(audio.duration_ms or 0 if audio else 0)
    return out


def _owned_by(programme_id: int, slot_id: int | None, fallback: bool) -> list[ColumnElement[bool]]:
    """The lines of one running order: a slot's, the programme's default, or its fallback playlist."""
    item = m.RunningOrderItem
    return [
        item.programme_id == programme_id,
        item.slot_id.is_(None) if slot_id is None else item.slot_id == slot_id,
        item.fallback.is_(fallback),
    ]


def _items(
    session: Session, programme_id: int, slot_id: int | None, *, fallback: bool = False
) -> list[m.RunningOrderItem]:
    query = select(m.RunningOrderItem).where(*_owned_by(programme_id, slot_id, fallback))
    return list(session.scalars(query.order_by(m.RunningOrderItem.position, m.RunningOrderItem.id)))


def _main_language(session: Session, programme_id: int) -> str:
    targets = stored_targets(session, programme_id)
    return targets[0].language if targets else DEFAULT_LANGUAGE


def programme_slots(
    session: Session,
    programme: m.Programme,
    start_at: datetime,
    end_at: datetime,
    *,
    with_totals: bool = True,
) -> list[SlotView]:
    rows = {
        s.occurrence_local: s
        for s in session.scalars(select(m.Slot).where(m.Slot.programme_id == programme.id))
    }
    base = programme_recurrence(programme)
    length = timedelta(milliseconds=programme.slot_duration_ms)
    wanted: dict[datetime, m.Slot | None] = {
        to_local(at, programme.timezone): None for at in occurrences(base, start_at - length, end_at)
    }
    for occ, stored in rows.items():
        if occ in wanted or stored.moved_to_local is not None:
            wanted[occ] = stored
    language = _main_language(session, programme.id) if with_totals else DEFAULT_LANGUAGE
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
            its = _items(session, programme.id, row.id)
            count, total = len(its), sum(durations(session, its, language))
        else:
            if default_total is None:
                its = _items(session, programme.id, None)
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


def _ensure_row(session: Session, programme: m.Programme, row: m.Slot | None, occ: datetime) -> m.Slot:
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
    row = _ensure_row(session, programme, row, occ)
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
    row = _ensure_row(session, programme, row, occ)
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


# --- running orders ---


@dataclass(frozen=True)
class ItemInput:
    kind: str
    bulletin_id: int | None = None
    audio_sha256: str | None = None
    title: str = ""


@dataclass(frozen=True)
class RunningOrderLine:
    position: int
    kind: m.ItemKind
    bulletin_id: int | None
    audio_sha256: str | None
    title: str
    duration_ms: int


@dataclass(frozen=True)
class RunningOrderView:
    slot: SlotView | None  # None: the programme's default running order (or its fallback playlist)
    lines: tuple[RunningOrderLine, ...]
    total_ms: int
    slot_ms: int
    warning: str | None  # overfull: by how many minutes, what is cut, what will not play
    fallback: bool = False  # the programme's fallback playlist

    @property
    def overfull(self) -> bool:
        return self.total_ms > self.slot_ms

    @property
    def overrun_ms(self) -> int:
        return max(self.total_ms - self.slot_ms, 0)


def _clean_items(
    session: Session, principal: Principal, items: Sequence[ItemInput]
) -> list[m.RunningOrderItem]:
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"Một buổi phát có tối đa {MAX_ITEMS} mục.", code="running_order_too_long")
    out: list[m.RunningOrderItem] = []
    for position, item in enumerate(items):
        where = f"Mục {position + 1}"
        title = " ".join(item.title.split())[:300]
        if item.kind == m.ItemKind.BULLETIN.value:
            bulletin = session.get(Bulletin, item.bulletin_id) if item.bulletin_id is not None else None
            if bulletin is None or not can_view_bulletin(
                principal, area_path(session, bulletin.area_id), bulletin.status
            ):
                raise InvalidInput(f"{where}: không tìm thấy bản tin.", code="bulletin_unknown")
            if airable_revision(bulletin) is None:
                raise InvalidInput(
                    f"{where}: bản tin «{bulletin.title}» chưa được duyệt hoặc đã bị thu hồi nên không thể "
                    "đưa vào lịch phát.",
                    code="bulletin_not_approved",
                )
            out.append(
                m.RunningOrderItem(
                    position=position, kind=m.ItemKind.BULLETIN, bulletin_id=bulletin.id, title=title
                )
            )
        elif item.kind == m.ItemKind.RECORDING.value:
            sha = (item.audio_sha256 or "").strip().lower()
            if reachable_asset(session, principal, sha) is None:  # missing, or another area's
                raise InvalidInput(f"{where}: không tìm thấy bản ghi âm thanh.", code="audio_unknown")
            if not title:
                raise InvalidInput(f"{where}: hãy đặt tên cho bản ghi.", code="title_missing")
            out.append(
                m.RunningOrderItem(
                    position=position, kind=m.ItemKind.RECORDING, audio_sha256=sha, title=title
                )
            )
        else:
            raise InvalidInput(f"{where}: loại mục phải là bản tin hoặc bản ghi.", code="item_kind_invalid")
    return out


def running_order(
    session: Session,
    programme: m.Programme,
    row: m.Slot | None,
    view: SlotView | None,
    *,
    fallback: bool = False,
) -> RunningOrderView:
    slot_id = row.id if row is not None and row.own_running_order and not fallback else None
    items = _items(session, programme.id, slot_id, fallback=fallback)
    lengths = durations(session, items, _main_language(session, programme.id))
    titles: list[str] = []
    bulletins = {
        b.id: b.title
        for b in session.scalars(
            select(Bulletin).where(Bulletin.id.in_([i.bulletin_id for i in items if i.bulletin_id]))
        )
    }
    lines = []
    for item, ms in zip(items, lengths, strict=True):
        title = item.title or bulletins.get(item.bulletin_id or 0, "")
        titles.append(title)
        lines.append(
            RunningOrderLine(item.position, item.kind, item.bulletin_id, item.audio_sha256, title, ms)
        )
    total = sum(lengths)
    airing = view.start_at if view is not None else to_utc(programme.start_local, programme.timezone)
    warning = check_slot(
        str(programme.id),
        programme.name,
        airing,
        programme.slot_duration_ms,
        list(zip(titles, lengths, strict=True)),
    )
    message = warning.message if warning and not fallback else None  # a fallback is cut, never warned
    return RunningOrderView(view, tuple(lines), total, programme.slot_duration_ms, message, fallback)


def set_running_order(
    session: Session,
    *,
    principal: Principal,
    key: str | None,
    programme_id: int | None = None,
    items: Sequence[ItemInput],
    now: datetime,
    fallback: bool = False,
) -> RunningOrderView:
    """Replace the running order of one slot (``key``) or the programme's default (``programme_id``),
    or with ``fallback`` the programme's fallback playlist. An overfull slot is saved with a warning
    (the device cuts it at the slot end)."""
    if fallback and key is not None:
        raise InvalidInput(
            "Danh mục dự phòng thuộc chương trình, không thuộc một buổi phát.", code="slot_fallback"
        )
    if key is not None:
        programme, row, occ = get_slot(session, principal=principal, key=key, write=True)
        row = _ensure_row(session, programme, row, occ)
        if row.status is m.SlotStatus.CANCELLED:
            raise InvalidInput("Buổi phát đã bị hủy.", code="slot_cancelled")
        row.own_running_order = True
        row.updated_at, row.updated_by_id = now, principal.user_id
        slot_id: int | None = row.id
    elif programme_id is not None:
        programme, row, occ = (
            editable_programme(session, principal=principal, programme_id=programme_id),
            None,
            None,
        )
        slot_id = None
    else:
        raise InvalidInput("Thiếu buổi phát hoặc chương trình.", code="slot_missing")
    cleaned = _clean_items(session, principal, items)
    session.execute(delete(m.RunningOrderItem).where(*_owned_by(programme.id, slot_id, fallback)))
    for item in cleaned:
        item.programme_id, item.slot_id, item.fallback = programme.id, slot_id, fallback
    session.add_all(cleaned)
    session.flush()
    view = slot_view(session, programme, occ) if occ is not None else None
    result = running_order(session, programme, row, view, fallback=fallback)
    record(
        session,
        action="schedule.fallback_set" if fallback else "schedule.running_order_set",
        actor=principal,
        target_type="slot" if key else "programme",
        target_id=key or programme.id,
        area_id=programme.area_id,
        details={
            "programme": programme.name,
            "titles": [line.title for line in result.lines],
            "items": [f"{i.kind.value}:{i.bulletin_id or i.audio_sha256}" for i in cleaned],
            "total_ms": result.total_ms,
            "slot_ms": result.slot_ms,
            "overfull": result.overfull,
        },
    )
    return result


def get_running_order(session: Session, *, principal: Principal, key: str) -> RunningOrderView:
    programme, row, occ = get_slot(session, principal=principal, key=key)
    return running_order(session, programme, row, slot_view(session, programme, occ))


def get_programme_order(
    session: Session, *, principal: Principal, programme_id: int, fallback: bool = False
) -> RunningOrderView:
    """The programme's default running order, or with ``fallback`` its fallback playlist."""
    programme = visible_programme(session, principal=principal, programme_id=programme_id)
    return running_order(session, programme, None, None, fallback=fallback)

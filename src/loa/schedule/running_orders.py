"""Running orders: the lines one slot plays, a programme's default running order and its fallback
playlist; read them, or replace them (validated, audited; an overfull slot is saved with a warning)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.accounts.scope import area_path
from loa.content.audio_scope import reachable_asset
from loa.content.models import Bulletin
from loa.content.service import can_view as can_view_bulletin
from loa.errors import InvalidInput
from loa.schedule import models as m
from loa.schedule.access import editable_programme, visible_programme
from loa.schedule.conflicts import check_slot
from loa.schedule.contentindex import airable_revision
from loa.schedule.orderlines import durations, main_language, order_items, owned_by
from loa.schedule.recurrence import to_utc
from loa.schedule.slots import SlotView, ensure_row, get_slot, slot_view

MAX_ITEMS = 100


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
    items = order_items(session, programme.id, slot_id, fallback=fallback)
    lengths = durations(session, items, main_language(session, programme.id))
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
        row = ensure_row(session, programme, row, occ)
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
    session.execute(delete(m.RunningOrderItem).where(*owned_by(programme.id, slot_id, fallback)))
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

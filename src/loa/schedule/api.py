"""JSON routes of scheduling: programmes, slots and running orders, announcements. A loudspeaker's day,
compilation, the manifest public key and a station's iCalendar export are in ``api_devices``.

Every successful change is committed together with the manifests it changes; a same-priority conflict
answers 409 (``schedule_conflict``) with the conflicts and proposals and writes nothing, unless the
request says ``"accept": "keep"`` or ``"accept": "proposal"``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query

from loa.accounts.deps import ApiPrincipal
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.errors import InvalidInput
from loa.schedule import (
    access,
    announcements,
    calendar,
    checks,
    hooks,
    running_orders,
    service,
    slots,
)
from loa.schedule.acceptance import Outcome
from loa.schedule.manifests import CompileReport
from loa.schedule.recurrence import to_local
from loa.schedule.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    MoveIn,
    ProgrammeIn,
    ProgrammeOut,
    RunningOrderIn,
    RunningOrderOut,
    SlotOut,
    announcement_out,
    programme_out,
    running_order_out,
    slot_out,
)
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["schedule"])


def summary(report: CompileReport) -> dict[str, Any]:
    return {
        "incremental": report.incremental,
        "changed_count": len(report.changed),
        "renewed_count": len(report.renewed),
        "changed": list(report.changed[:100]),
        "conflicts": list(report.conflicts[:20]),
        "notices": list(report.notices[:20]),
    }


def _publish(db: SessionDep, settings: SettingsDep, reason: str) -> dict[str, Any]:
    return summary(hooks.publish(db, data_dir=settings.data_dir, reason=reason))


def _save_order(
    db: SessionDep,
    principal: Principal,
    settings: SettingsDep,
    body: RunningOrderIn,
    *,
    key: str | None = None,
    programme_id: int | None = None,
    fallback: bool = False,
) -> RunningOrderOut:
    """Replace a slot's running order (``key``), or the programme's default or fallback playlist, and
    publish the manifests it changes."""
    view = running_orders.set_running_order(
        db,
        principal=principal,
        key=key,
        programme_id=programme_id,
        items=[i.to_input() for i in body.items],
        now=utcnow(),
        fallback=fallback,
    )
    out = running_order_out(view)
    reason = f"slot:{key}" if key is not None else f"programme:{programme_id}"
    out.manifests = _publish(db, settings, reason)
    db.commit()
    return out


def query_date(raw: str | None, default: date, field: str) -> date:
    """A date query parameter (YYYY-MM-DD), ``default`` when absent; a clear 422 when it is not a date."""
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(str(raw))
    except ValueError as err:
        raise InvalidInput(
            f"Ngày «{raw}» không hợp lệ (định dạng YYYY-MM-DD).",
            code="date_invalid",
            details=[{"field": field}],
        ) from err


def today_local() -> date:
    """Today in Vietnam (the default first day of the date ranges asked for)."""
    return to_local(utcnow()).date()


# --- programmes ---


@router.get("/programmes", response_model=list[ProgrammeOut])
def list_programmes(
    db: SessionDep, principal: ApiPrincipal, include_cancelled: bool = False
) -> list[ProgrammeOut]:
    """Các chương trình (chuyên mục) trong địa bàn, kể cả của cấp trên phát tới địa bàn."""
    return [
        programme_out(db, p)
        for p in service.list_programmes(db, principal=principal, include_cancelled=include_cancelled)
    ]


def _with_running_order(
    db: SessionDep,
    principal: Principal,
    settings: SettingsDep,
    body: ProgrammeIn,
    outcome: Outcome,
    now: datetime,
) -> ProgrammeOut:
    """After a programme is created or changed: its default running order when the body gives one,
    then the manifests it changes, all in one commit."""
    programme = outcome.programme
    assert programme is not None
    if body.running_order is not None:
        running_orders.set_running_order(
            db,
            principal=principal,
            key=None,
            programme_id=programme.id,
            items=[i.to_input() for i in body.running_order],
            now=now,
        )
    out = programme_out(db, programme, outcome)
    out.manifests = _publish(db, settings, f"programme:{programme.id}")
    db.commit()
    return out


@router.post("/programmes", response_model=ProgrammeOut, status_code=201)
def create_programme(
    body: ProgrammeIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> ProgrammeOut:
    """Tạo chương trình với lịch lặp lại (RRULE), nơi phát, khung giờ và mức ưu tiên."""
    now = utcnow()
    outcome = service.create_programme(
        db, principal=principal, data=body.to_input(), accept=checks.parse_accept(body.accept), now=now
    )
    return _with_running_order(db, principal, settings, body, outcome, now)


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut)
def get_programme(programme_id: int, db: SessionDep, principal: ApiPrincipal) -> ProgrammeOut:
    return programme_out(db, access.visible_programme(db, principal=principal, programme_id=programme_id))


@router.put("/programmes/{programme_id}", response_model=ProgrammeOut)
def update_programme(
    programme_id: int, body: ProgrammeIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> ProgrammeOut:
    now = utcnow()
    outcome = service.update_programme(
        db,
        principal=principal,
        programme_id=programme_id,
        data=body.to_input(),
        expected_version=body.expected_version,
        accept=checks.parse_accept(body.accept),
        now=now,
    )
    return _with_running_order(db, principal, settings, body, outcome, now)


@router.delete("/programmes/{programme_id}", response_model=ProgrammeOut)
def cancel_programme(
    programme_id: int, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> ProgrammeOut:
    """Hủy chương trình: gỡ khỏi mọi lịch phát sắp tới (lịch sử vẫn giữ)."""
    programme = service.cancel_programme(db, principal=principal, programme_id=programme_id, now=utcnow())
    out = programme_out(db, programme)
    out.manifests = _publish(db, settings, f"programme:{programme_id}")
    db.commit()
    return out


@router.get("/programmes/{programme_id}/slots", response_model=list[SlotOut])
def list_slots(
    programme_id: int,
    db: SessionDep,
    principal: ApiPrincipal,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = None,
) -> list[SlotOut]:
    """Các buổi phát trong khoảng ngày (giờ Việt Nam); chương trình phát đến khi hủy cần có «to»."""
    start = query_date(from_, today_local(), "from")
    end = query_date(to, start, "to") if to else None
    return [
        slot_out(s)
        for s in slots.list_slots(
            db, principal=principal, programme_id=programme_id, from_date=start, to_date=end
        )
    ]


@router.put("/programmes/{programme_id}/running-order", response_model=RunningOrderOut)
def set_default_running_order(
    programme_id: int, body: RunningOrderIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> RunningOrderOut:
    """Danh mục phát mặc định của chương trình (dùng cho mọi buổi không có danh mục riêng)."""
    return _save_order(db, principal, settings, body, programme_id=programme_id)


@router.get("/programmes/{programme_id}/fallback", response_model=RunningOrderOut)
def get_fallback(programme_id: int, db: SessionDep, principal: ApiPrincipal) -> RunningOrderOut:
    """Danh mục dự phòng: phát ở mức nền khi một buổi phát không có nội dung."""
    return running_order_out(
        running_orders.get_programme_order(db, principal=principal, programme_id=programme_id, fallback=True)
    )


@router.put("/programmes/{programme_id}/fallback", response_model=RunningOrderOut)
def set_fallback(
    programme_id: int, body: RunningOrderIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> RunningOrderOut:
    """Đặt danh mục dự phòng (bản tin hoặc bản ghi) cho các buổi phát không có nội dung."""
    return _save_order(db, principal, settings, body, programme_id=programme_id, fallback=True)


# --- slots ---


@router.get("/slots/{slot_id}/running-order", response_model=RunningOrderOut)
def get_running_order(slot_id: str, db: SessionDep, principal: ApiPrincipal) -> RunningOrderOut:
    return running_order_out(running_orders.get_running_order(db, principal=principal, key=slot_id))


@router.put("/slots/{slot_id}/running-order", response_model=RunningOrderOut)
def set_running_order(
    slot_id: str, body: RunningOrderIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> RunningOrderOut:
    """Danh mục phát của một buổi: trả về tổng thời lượng so với khung giờ và cảnh báo nếu quá dài."""
    return _save_order(db, principal, settings, body, key=slot_id)


@router.post("/slots/{slot_id}/move", response_model=SlotOut)
def move_slot(
    slot_id: str, body: MoveIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> SlotOut:
    """Dời một buổi phát; phát hiện lại trùng lịch ở giờ mới."""
    view, _ = slots.move_slot(
        db,
        principal=principal,
        key=slot_id,
        new_start_local=body.start_local,
        accept=checks.parse_accept(body.accept),
        now=utcnow(),
    )
    _publish(db, settings, f"slot:{slot_id}")
    db.commit()
    return slot_out(view)


@router.post("/slots/{slot_id}/cancel", response_model=SlotOut)
def cancel_slot(slot_id: str, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep) -> SlotOut:
    return _set_cancelled(db, principal, settings, slot_id, cancelled=True)


@router.post("/slots/{slot_id}/restore", response_model=SlotOut)
def restore_slot(slot_id: str, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep) -> SlotOut:
    return _set_cancelled(db, principal, settings, slot_id, cancelled=False)


def _set_cancelled(
    db: SessionDep, principal: Principal, settings: SettingsDep, slot_id: str, *, cancelled: bool
) -> SlotOut:
    view = slots.set_slot_cancelled(db, principal=principal, key=slot_id, cancelled=cancelled, now=utcnow())
    _publish(db, settings, f"slot:{slot_id}")
    db.commit()
    return slot_out(view)


# --- announcements ---


@router.get("/announcements", response_model=list[AnnouncementOut])
def list_announcements(
    db: SessionDep,
    principal: ApiPrincipal,
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = None,
) -> list[AnnouncementOut]:
    start = query_date(from_, today_local(), "from")
    end = query_date(to, start + timedelta(days=30), "to")
    from_at, to_at = calendar.day_range(start, end)
    return [
        announcement_out(a)
        for a in announcements.list_announcements(db, principal=principal, from_at=from_at, to_at=to_at)
    ]


@router.post("/announcements", response_model=AnnouncementOut, status_code=201)
def create_announcement(
    body: AnnouncementIn, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> AnnouncementOut:
    """Thông báo phát một lần, vào giờ đã chọn hoặc «phát ngay» (asap)."""
    data = body.to_input()
    a, outcome = announcements.create_announcement(
        db, principal=principal, data=data, accept=checks.parse_accept(body.accept), now=utcnow()
    )
    out = announcement_out(a, outcome)
    out.manifests = _publish(db, settings, f"announcement:{a.id}")
    db.commit()
    return out


@router.delete("/announcements/{announcement_id}", response_model=AnnouncementOut)
def cancel_announcement(
    announcement_id: int, db: SessionDep, principal: ApiPrincipal, settings: SettingsDep
) -> AnnouncementOut:
    a = announcements.cancel_announcement(
        db, principal=principal, announcement_id=announcement_id, now=utcnow()
    )
    out = announcement_out(a)
    out.manifests = _publish(db, settings, f"announcement:{a.id}")
    db.commit()
    return out

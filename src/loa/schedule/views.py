"""HTML pages of scheduling: the week/month calendar per station or programme (drag a slot to move it;
the browser calls ``POST /api/v1/slots/{id}/move`` with the CSRF header), the running-order editor,
a new-programme form and "what will this loudspeaker play" for one day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import FileResponse, RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path, require
from loa.content.catalog import LANGUAGES, Status
from loa.content.models import Bulletin
from loa.content.service import can_view as can_view_bulletin
from loa.db.base import utcnow
from loa.errors import Conflict, InvalidInput, LoaError, NotFound
from loa.schedule import calendar, checks, forms, hooks, service, slots
from loa.schedule.playout import format_duration_vi
from loa.schedule.recurrence import to_local
from loa.schedule.snapshot import TARGET_KIND_LABELS
from loa.vocab.ladder import BULLETIN_PRIORITIES, LADDER, rung_of
from loa.web.deps import SessionDep, SettingsDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


async def read_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(read_form)]


def _parse_date(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def base_context() -> dict[str, Any]:
    return {
        "active_nav": "schedule",
        "duration": format_duration_vi,
        "ladder": LADDER,
        "ladder_label": lambda priority: rung_of(priority).label,
        "day_names": DAY_NAMES,
    }


SCRIPTS = ("schedule.js", "programme_form.js")


@router.get("/schedule/static/{name}")
def schedule_script(name: str) -> Response:
    if name not in SCRIPTS:
        raise NotFound("Không tìm thấy tệp.", code="static_not_found")
    return FileResponse(STATIC / name, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/schedule")
def calendar_page(
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    station: str | None = None,
    programme: str | None = None,
    view: str = "week",
) -> Response:
    """Lịch phát sóng theo tuần/tháng của một đài hoặc một chương trình."""
    today = to_local(utcnow()).date()
    day = _parse_date(request.query_params.get("date"), today)
    view = "month" if view == "month" else "week"
    if view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    else:
        month_start = day.replace(day=1)
        first = month_start - timedelta(days=month_start.weekday())
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        last = next_month - timedelta(days=1)
        last += timedelta(days=6 - last.weekday())
    stations = calendar.visible_stations(db, principal=principal)
    programmes = service.list_programmes(db, principal=principal)
    station_id, programme_id = _int(station), _int(programme)
    if station_id is None and programme_id is None and stations:
        station_id = stations[0].id
    start_at, end_at = calendar.day_range(first, last)
    chosen_station = chosen = None
    if programme_id is not None:
        chosen = service.visible_programme(db, principal=principal, programme_id=programme_id)
        events = calendar.programme_events(
            db, principal=principal, programmes=[chosen], start_at=start_at, end_at=end_at
        )
        title = f"Chương trình «{chosen.name}»"
    elif station_id is not None:
        chosen_station, events = calendar.station_events(
            db, principal=principal, station_id=station_id, start_at=start_at, end_at=end_at
        )
        title = chosen_station.name
    else:
        events = calendar.programme_events(
            db, principal=principal, programmes=programmes, start_at=start_at, end_at=end_at
        )
        title = "Tất cả chương trình"
    days: list[date] = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    by_day: dict[date, list[calendar.CalendarEvent]] = {d: [] for d in days}
    for e in events:
        by_day.setdefault(e.start_local.date(), []).append(e)
    step = timedelta(days=7) if view == "week" else timedelta(days=31)
    prev_day = day - step if view == "week" else (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    next_day = day + step if view == "week" else (day.replace(day=1) + step).replace(day=1)
    return render(
        request,
        "schedule/calendar.html",
        {
            **base_context(),
            "title": title,
            "view": view,
            "day": day,
            "today": today,
            "days": days,
            "by_day": by_day,
            "stations": stations,
            "programmes": programmes,
            "station_id": station_id if programme_id is None else None,
            "programme_id": programme_id,
            "programme": chosen,
            "recurrence_text": service.describe_recurrence(chosen) if chosen is not None else "",
            "programme_targets": service.programme_targets(db, chosen.id) if chosen is not None else [],
            "station": chosen_station,
            "devices": calendar.visible_devices(db, principal=principal, station_id=chosen_station.id)
            if chosen_station
            else [],
            "prev_day": prev_day,
            "next_day": next_day,
            "can_edit": principal.has(Permission.OPERATE_STATION),
        },
    )


# --- running order ---


def _airable_bulletins(db: Session, principal: Principal) -> list[Bulletin]:
    rows = db.scalars(
        select(Bulletin)
        .where(Bulletin.status.in_((Status.APPROVED, Status.PUBLISHED)))
        .order_by(Bulletin.updated_at.desc())
        .limit(300)
    )
    return [b for b in rows if can_view_bulletin(principal, area_path(db, b.area_id), b.status)]


def _editor(
    request: Request, db: Session, principal: Principal, key: str, *, status_code: int = 200, **extra: Any
) -> Response:
    programme, _, _ = slots.get_slot(db, principal=principal, key=key)
    view = slots.get_running_order(db, principal=principal, key=key)
    editable = principal.has(Permission.OPERATE_STATION) and principal.can_access_path(
        area_path(db, programme.area_id)
    )
    return render(
        request,
        "schedule/running_order.html",
        {
            **base_context(),
            "programme": programme,
            "key": key,
            "ro": view,
            "editable": editable,
            "bulletins": _airable_bulletins(db, principal) if editable else [],
            "targets": service.programme_targets(db, programme.id),
            "languages": LANGUAGES,
            **extra,
        },
        status_code=status_code,
    )


@router.get("/schedule/slots/{key}")
def running_order_page(key: str, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Danh mục phát của một buổi: thêm, bớt, sắp xếp; tổng thời lượng so với khung giờ."""
    return _editor(request, db, principal, key)


@router.post("/schedule/slots/{key}/running-order")
def running_order_post(
    key: str,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    settings: SettingsDep,
    form: Posted,
    _: CsrfProtected,
) -> Response:
    current = slots.get_running_order(db, principal=principal, key=key)
    items = [
        slots.ItemInput(
            line.kind.value,
            line.bulletin_id,
            line.audio_sha256,
            line.title if line.kind.value == "recording" else "",
        )
        for line in current.lines
    ]
    action = str(form.get("action", ""))
    index = _int(str(form.get("index", ""))) or 0
    if action == "add_bulletin" and _int(str(form.get("bulletin_id", ""))) is not None:
        items.append(slots.ItemInput("bulletin", _int(str(form.get("bulletin_id")))))
    elif action == "add_recording":
        items.append(
            slots.ItemInput("recording", None, str(form.get("audio_sha256", "")), str(form.get("title", "")))
        )
    elif action == "remove" and 0 <= index < len(items):
        items.pop(index)
    elif action in ("up", "down") and 0 <= index < len(items):
        other = index - 1 if action == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
    try:
        slots.set_running_order(db, principal=principal, key=key, items=items, now=utcnow())
        hooks.publish(db, data_dir=settings.data_dir, reason=f"slot:{key}")
        db.commit()
    except InvalidInput as err:
        db.rollback()
        return _editor(request, db, principal, key, error=err.message, status_code=422)
    return _editor(request, db, principal, key, saved="Đã lưu danh mục phát.")


# --- programmes ---


def _form_values(items: Iterable[tuple[str, Any]], days: Sequence[str]) -> dict[str, str]:
    """The posted (or queried) fields as text; the weekly days, a list, joined by commas."""
    values = {k: str(v) for k, v in items if k not in ("csrf_token", "days")}
    values["days"] = ",".join(days)
    return values


@router.get("/schedule/programmes/new")
def new_programme(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    return _programme_form(request, db, principal, {})


@router.get("/schedule/programmes/preview")
def programme_preview(request: Request, principal: WebPrincipal) -> Response:
    """The next airings of the recurrence being chosen (HTMX fragment of the new-programme form)."""
    require(principal, Permission.VIEW)
    query = request.query_params
    values = _form_values(query.items(), query.getlist("days"))
    return render(request, "schedule/_rule_preview.html", {"preview": forms.preview(values, now=utcnow())})


def _programme_form(
    request: Request, db: Session, principal: Principal, values: dict[str, str], **extra: Any
) -> Response:
    status = int(extra.pop("status_code", 200))
    return render(
        request,
        "schedule/programme_form.html",
        {
            **base_context(),
            "values": values,
            "target_kinds": TARGET_KIND_LABELS,
            "languages": LANGUAGES,
            "priorities": BULLETIN_PRIORITIES,
            "weekdays": forms.WEEKDAYS,
            "weeks": forms.WEEKS,
            "rule_kinds": forms.RULE_KINDS,
            "preview": forms.preview(values, now=utcnow()),
            **extra,
        },
        status_code=status,
    )


@router.post("/schedule/programmes/new")
def create_programme_post(
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    settings: SettingsDep,
    form: Posted,
    _: CsrfProtected,
) -> Response:
    values = _form_values(form.multi_items(), [str(d) for d in form.getlist("days")])
    try:
        data = forms.programme_from_form(values)
        outcome = service.create_programme(
            db, principal=principal, data=data, accept=checks.parse_accept(values.get("accept")), now=utcnow()
        )
        assert outcome.programme is not None
        hooks.publish(db, data_dir=settings.data_dir, reason=f"programme:{outcome.programme.id}")
        db.commit()
    except Conflict as err:
        db.rollback()
        conflicts = (err.details or {}).get("conflicts", []) if isinstance(err.details, dict) else []
        return _programme_form(
            request, db, principal, values, error=err.message, conflicts=conflicts, status_code=409
        )
    except LoaError as err:
        db.rollback()
        return _programme_form(request, db, principal, values, error=err.message, status_code=err.status)
    return RedirectResponse(f"/schedule?programme={outcome.programme.id}", status_code=303)


# --- one loudspeaker ---


@router.get("/schedule/devices/{uid}")
def device_day_page(uid: str, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Loa này phát gì trong ngày."""
    today = to_local(utcnow()).date()
    day = _parse_date(request.query_params.get("date"), today)
    result = calendar.device_day(db, principal=principal, uid=uid, day=day, now=utcnow())
    return render(
        request,
        "schedule/device_day.html",
        {
            **base_context(),
            "d": result,
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "start_of": lambda d: datetime.combine(d, time()),
        },
    )

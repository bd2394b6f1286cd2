"""HTML pages of scheduling: the week/month calendar per station or programme (drag a slot to move it;
the browser calls ``POST /api/v1/slots/{id}/move`` with the CSRF header), the programme form (new and
edit) and "what will this loudspeaker play" for one day. A programme's own page is
``loa.schedule.programme_views``; running orders and one airing's actions are ``loa.schedule.order_views``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import FileResponse, RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.content.catalog import LANGUAGES
from loa.db.base import utcnow
from loa.errors import Conflict, LoaError, NotFound
from loa.schedule import access, calendar, checks, deviceday, formedit, forms, hooks, service, targetpick
from loa.schedule import models as m
from loa.schedule.playout import format_duration_vi
from loa.schedule.recurrence import to_local
from loa.settings import Settings
from loa.units.models import Station
from loa.vocab.ladder import BULLETIN_PRIORITIES, LADDER, rung_of
from loa.web.deps import Posted, SessionDep, SettingsDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


@dataclass(frozen=True)
class FormPost:
    """What a schedule page's form post needs, its CSRF token checked: the request, the session, who
    posts, the settings and the posted fields (one dependency instead of the same six in every route)."""

    request: Request
    db: Session
    principal: Principal
    settings: Settings
    form: FormData


def _form_post(
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    settings: SettingsDep,
    form: Posted,
    _: CsrfProtected,
) -> FormPost:
    return FormPost(request, db, principal, settings, form)


PostedForm = Annotated[FormPost, Depends(_form_post)]


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


def _calendar_span(day: date, view: str) -> tuple[date, date]:
    """First and last day shown: the week of ``day``, or its month in whole Monday–Sunday weeks."""
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    month_start = day.replace(day=1)
    first = month_start - timedelta(days=month_start.weekday())
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    last = next_month - timedelta(days=1)
    return first, last + timedelta(days=6 - last.weekday())


def _calendar_events(
    db: Session,
    principal: Principal,
    programmes: list[m.Programme],
    programme_id: int | None,
    station_id: int | None,
    start_at: datetime,
    end_at: datetime,
) -> tuple[m.Programme | None, Station | None, list[calendar.CalendarEvent], str]:
    """What the calendar shows: one programme, one station's airings, or every programme; with the
    programme or station chosen and the title."""
    if programme_id is not None:
        chosen = access.visible_programme(db, principal=principal, programme_id=programme_id)
        events = calendar.programme_events(
            db, principal=principal, programmes=[chosen], start_at=start_at, end_at=end_at
        )
        return chosen, None, events, f"Chương trình «{chosen.name}»"
    if station_id is not None:
        chosen_station, events = calendar.station_events(
            db, principal=principal, station_id=station_id, start_at=start_at, end_at=end_at
        )
        return None, chosen_station, events, chosen_station.name
    events = calendar.programme_events(
        db, principal=principal, programmes=programmes, start_at=start_at, end_at=end_at
    )
    return None, None, events, "Tất cả chương trình"


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
    first, last = _calendar_span(day, view)
    stations = calendar.visible_stations(db, principal=principal)
    programmes = service.list_programmes(db, principal=principal)
    station_id, programme_id = _int(station), _int(programme)
    if station_id is None and programme_id is None and stations:
        station_id = stations[0].id
    start_at, end_at = calendar.day_range(first, last)
    chosen, chosen_station, events, title = _calendar_events(
        db, principal, programmes, programme_id, station_id, start_at, end_at
    )
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


# --- programmes ---

FORM_LISTS = ("days", "targets")  # fields posted once per choice, joined by commas


def form_values(items: Iterable[tuple[str, Any]], lists: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The posted (or queried) fields as text; fields posted once per choice joined by commas."""
    values = {k: str(v) for k, v in items if k not in ("csrf_token", *FORM_LISTS)}
    for name in FORM_LISTS:
        values[name] = ",".join(str(v) for v in lists.get(name, ()))
    return values


def posted_values(form: FormData) -> dict[str, str]:
    return form_values(form.multi_items(), {n: [str(v) for v in form.getlist(n)] for n in FORM_LISTS})


def with_typed_target(db: Session, principal: Principal, values: dict[str, str]) -> dict[str, str]:
    """Without JavaScript the place is typed, not chosen: read the name (unambiguous only)."""
    text = values.get("targets_text", "").strip()
    if text and not values.get("targets"):
        return {**values, "targets": targetpick.typed(db, principal, text), "targets_text": ""}
    return values


@router.get("/schedule/programmes/new")
def new_programme(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    return programme_form(request, db, principal, {})


@router.get("/schedule/programmes/preview")
def programme_preview(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """The next airings of the recurrence being chosen (HTMX fragment of the programme form)."""
    require(principal, Permission.VIEW)
    query = request.query_params
    values = form_values(query.items(), {n: query.getlist(n) for n in FORM_LISTS})
    return render(request, "schedule/_rule_preview.html", {"preview": _preview(db, principal, values)})


def _preview(db: Session, principal: Principal, values: Mapping[str, str]) -> forms.Preview:
    """The form's preview; "keep the current schedule" describes the stored programme."""
    if values.get("rule_kind") == formedit.KEEP and _int(values.get("programme_id")) is not None:
        programme = access.visible_programme(
            db, principal=principal, programme_id=int(values["programme_id"])
        )
        return forms.Preview(description=service.describe_recurrence(programme))
    return forms.preview(values, now=utcnow())


def programme_form(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    *,
    programme: m.Programme | None = None,
    **extra: Any,
) -> Response:
    """The new-programme form, or with ``programme`` its edit form (same fields, same checks)."""
    status = int(extra.pop("status_code", 200))
    kinds = dict(forms.RULE_KINDS)
    if programme is not None and values.get("rule_kind") == formedit.KEEP:
        kinds = {formedit.KEEP: f"Giữ lịch hiện tại: {service.describe_recurrence(programme)}", **kinds}
    tokens = [t for t in values.get("targets", "").split(",") if t]
    return render(
        request,
        "schedule/programme_form.html",
        {
            **base_context(),
            "values": values,
            "programme": programme,
            "action": f"/schedule/programmes/{programme.id}/edit"
            if programme
            else "/schedule/programmes/new",
            "target_chips": targetpick.chosen(db, tokens, values.get("target_language", "vi") or "vi"),
            "languages": LANGUAGES,
            "priorities": BULLETIN_PRIORITIES,
            "weekdays": forms.WEEKDAYS,
            "weeks": forms.WEEKS,
            "rule_kinds": kinds,
            "preview": _preview(
                db, principal, {**values, "programme_id": str(programme.id) if programme else ""}
            ),
            **extra,
        },
        status_code=status,
    )


def refused(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    err: LoaError,
    programme: m.Programme | None = None,
) -> Response:
    """The form again, with what was typed, the refusal and (for a conflict) the choices."""
    db.rollback()
    if isinstance(err, Conflict):
        conflicts = (err.details or {}).get("conflicts", []) if isinstance(err.details, dict) else []
        return programme_form(
            request, db, principal, values, programme=programme, error=err.message, conflicts=conflicts,
            status_code=409,
        )  # fmt: skip
    return programme_form(
        request, db, principal, values, programme=programme, error=err.message, status_code=err.status
    )


@router.post("/schedule/programmes/new")
def create_programme_post(post: PostedForm) -> Response:
    request, db, principal, settings, form = post.request, post.db, post.principal, post.settings, post.form
    values = posted_values(form)
    try:
        values = with_typed_target(db, principal, values)
        data = forms.programme_from_form(values)
        outcome = service.create_programme(
            db, principal=principal, data=data, accept=checks.parse_accept(values.get("accept")), now=utcnow()
        )
        assert outcome.programme is not None
        hooks.publish(db, data_dir=settings.data_dir, reason=f"programme:{outcome.programme.id}")
        db.commit()
    except LoaError as err:
        return refused(request, db, principal, values, err)
    return RedirectResponse(f"/schedule?programme={outcome.programme.id}", status_code=303)


# --- one loudspeaker ---


@router.get("/schedule/devices/{uid}")
def device_day_page(uid: str, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Loa này phát gì trong ngày."""
    today = to_local(utcnow()).date()
    day = _parse_date(request.query_params.get("date"), today)
    result = deviceday.device_day(db, principal=principal, uid=uid, day=day, now=utcnow())
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

"""HTML pages of the fleet: the live table of loudspeaker clusters by commune (HTMX polling), a map,
"play now" / stop / volume, the device page (uptime, proof of play) and enrolment (code + QR)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts import audit
from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.areas import picker
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError, PermissionDenied
from loa.fleet import charts, commands, health, listing, present, queries, releases, service
from loa.fleet.mapview import MapInput, project
from loa.fleet.models import Device, HealthSample
from loa.fleet.playable import get_playable, playable_audio
from loa.fleet.qr import enrol_qr_svg
from loa.fleet.uptime import UPTIME_WINDOWS, online_time
from loa.protocol.messages import REPEAT_GAP_MAX_S
from loa.protocol.priority import Priority
from loa.units.models import AdminUnit
from loa.vocab.numbers import number_text
from loa.web import confirmation
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "fleet_flash"
POLL_SECONDS = 5
FormStr = Annotated[str, Form()]


_flash, _pop_flash = flash_pair(FLASH)


def _helpers() -> dict[str, Any]:
    now = utcnow()
    return {
        "state_of": present.state_of,
        "when": present.when,
        "ago": lambda value: present.ago(value, now),
        "priority_label": present.priority_label,
        "detail_label": present.detail_label,
        "outcome_label": lambda outcome: present.OUTCOME_LABELS.get(outcome, str(outcome)),
        "event_label": lambda event: present.EVENT_LABELS.get(event, str(event)),
        "command_label": commands.command_label,
        "command_text": commands.command_text,
        "item_text": present.item_text,
        "result_label": lambda result: commands.RESULT_LABELS.get(result, result or ""),
        "poll_seconds": POLL_SECONDS,
    }


def _item_titles(request: Request) -> present.ItemTitles:
    """The titles behind item ids come from what was planned (``loa.schedule.titles``), a layer above
    the fleet: the composition (``loa.app``) hands the lookup to the fleet's pages."""
    lookup: present.ItemTitles = request.app.state.item_titles
    return lookup


def _playing_titles(request: Request, db: Session, devices: Sequence[Device]) -> dict[str, str]:
    """Titles of what the devices play, for those whose status named only the item."""
    return _item_titles(request)(db, [d.current_item_id or "" for d in devices if not d.current_title])


def _grouped(rows: Sequence[queries.DeviceRow]) -> list[tuple[str, list[queries.DeviceRow]]]:
    key = lambda r: r.commune_name or "Chưa gắn xã/phường"  # noqa: E731
    return [(name, list(group)) for name, group in groupby(rows, key=key)]


def _fleet_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    f, page_no, filter_error = listing.filter_from(request.query_params, db, principal)
    page = listing.devices_page(db, principal=principal, f=f, page=page_no)
    rows = page.rows
    device_map = project(
        [
            MapInput(r.device.uid, r.device.name, r.device.latitude, r.device.longitude, r.device.online)
            for r in rows
            if r.device.latitude is not None and r.device.longitude is not None
        ]
    )
    can_broadcast = principal.has(Permission.BROADCAST)
    can_operate = principal.has(Permission.OPERATE_STATION)
    context = {
        "active_nav": "fleet",
        "groups": _grouped(rows),
        "counts": listing.state_counts(db, principal=principal, f=f),
        "page": page,
        "filter": f,
        "filter_error": filter_error,
        "state_labels": {key: info.label for key, info in present.STATES.items()},
        "device_map": device_map,
        "can_broadcast": can_broadcast,
        "can_operate": can_operate,
        "audio_choices": playable_audio(db, principal) if can_broadcast else [],
        "communes": queries.communes_in_scope(db, principal=principal) if can_operate else [],
        "commune_label": lambda code: picker.chosen_labels(db, [code]).get(code, "") if code else "",
        "flash": _pop_flash(request),
        "error": error,
        "form": form or {},
        "selected": set((form or {}).get("device_ids", [])),
        "play_now_priority": commands.PLAY_NOW_PRIORITY,
        "emergency_priority": int(Priority.EMERGENCY),
        "repeat_gap_max_s": REPEAT_GAP_MAX_S,
        "repeat_gap_default_s": commands.DEFAULT_REPEAT_GAP_S,
        "item_titles": _playing_titles(request, db, [r.device for r in rows]),
        # The rollouts under way (or halted, waiting for a person), for those who may run them.
        "rollouts": [r for r in releases.rollout_views(db, limit=3) if r.key != "done"]
        if principal.is_admin
        else [],
        **_helpers(),
    }
    return render(
        request, "fleet/index.html", context, status_code=422 if filter_error and status == 200 else status
    )


@router.get("/fleet")
def fleet_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _fleet_page(request, db, principal)


@router.get("/fleet/live")
def fleet_live(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    """Out-of-band cells for the polling table: state, what plays, last receipt, volume, counts."""
    require(principal, Permission.VIEW)
    f, page_no, _ = listing.filter_from(request.query_params, db, principal)
    rows = listing.devices_page(db, principal=principal, f=f, page=page_no).rows
    context = {
        "rows": rows,
        "counts": listing.state_counts(db, principal=principal, f=f),
        "item_titles": _playing_titles(request, db, [r.device for r in rows]),
    }
    return render(request, "fleet/_live.html", {**context, **_helpers()})


def _confirm_page(
    request: Request, form: dict[str, Any], devices: Sequence[str], title: str, token: str
) -> Response:
    """The confirmation step of "play now" to several loudspeakers (or as an emergency)."""
    context = {"active_nav": "fleet", "form": form, "devices": devices, "title": title, "token": token}
    return render(request, "fleet/confirm.html", context)


@router.post("/fleet/commands")
def fleet_commands(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
    action: FormStr = "",
    device_ids: Annotated[list[str] | None, Form()] = None,
    audio_sha256: FormStr = "",
    emergency: FormStr = "",
    repeat: FormStr = "",
    repeat_gap_s: FormStr = "",
    confirm_token: FormStr = "",
) -> Response:
    uids = device_ids or []
    form = {
        "device_ids": uids,
        "audio_sha256": audio_sha256,
        "emergency": bool(emergency),
        "repeat": bool(repeat),
        "repeat_gap_s": repeat_gap_s,
    }
    try:
        if action == "play_now":
            audio = get_playable(db, principal, audio_sha256.strip())
            priority = int(Priority.EMERGENCY) if emergency else commands.PLAY_NOW_PRIORITY
            args: dict[str, Any] = {"audio_sha256": audio.sha256, "priority": priority, "title": audio.title}
            if repeat:
                args["repeat_gap_s"] = commands.parse_repeat_gap(repeat_gap_s)
            # To several loudspeakers, or as an emergency: a confirmation step the server keeps (issue 15).
            if len(set(uids)) > 1 or emergency:
                content = {"device_ids": sorted(set(uids)), "args": args}
                secret = settings.secret_key.get_secret_value()
                if not confirmation.check(
                    secret, confirm_token, purpose="play_now", username=principal.username, content=content
                ):
                    devices = queries.visible_devices(db, principal=principal, uids=uids)
                    if not devices:
                        raise InvalidInput("Chưa chọn cụm loa nào.", code="no_devices")
                    token = confirmation.sign(
                        secret, purpose="play_now", username=principal.username, content=content
                    )
                    names = db.scalars(
                        select(Device.name)
                        .where(Device.id.in_([d.id for d in devices]))
                        .order_by(Device.name)
                    )
                    return _confirm_page(request, form, list(names), audio.title, token)
        elif action == "stop":
            args = {}
        else:
            raise InvalidInput("Lệnh không được hỗ trợ.", code="unknown_command")
        rows = commands.send_commands(
            db, principal=principal, device_uids=uids, kind=action, args=args, ip=client_ip(request)
        )
    except LoaError as err:
        db.rollback()
        return _fleet_page(request, db, principal, error=err.message, form=form, status=err.status)
    db.commit()
    _flash(request, f"Đã gửi lệnh «{commands.command_label(action)}» tới {number_text(len(rows))} cụm loa.")
    return RedirectResponse("/fleet", status_code=303)


def _back(request: Request, uid: str) -> str:
    return f"/fleet/devices/{uid}" if request.query_params.get("from") == "device" else "/fleet"


@router.post("/fleet/devices/{uid}/volume")
def device_volume(
    uid: str,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    level: FormStr = "",
) -> Response:
    try:
        try:
            value = int(level)
        except ValueError as err:
            raise InvalidInput("Âm lượng phải là số từ 0 đến 100.", code="invalid_volume") from err
        if not 0 <= value <= 100:
            raise InvalidInput("Âm lượng phải là số từ 0 đến 100.", code="invalid_volume")
        commands.send_commands(
            db, principal=principal, device_uids=[uid], kind="volume", args={"level": value},
            ip=client_ip(request),
        )  # fmt: skip
    except LoaError as err:
        db.rollback()
        if request.headers.get("HX-Request") == "true":
            return Response(f'<span class="error" role="alert">{_escape(err.message)}</span>', err.status)
        raise
    db.commit()
    message = f"Đã gửi lệnh đặt âm lượng {value}."
    if request.headers.get("HX-Request") == "true":
        return Response(f'<span role="status">{message}</span>', media_type="text/html")
    _flash(request, message)
    return RedirectResponse(_back(request, uid), status_code=303)


@router.post("/fleet/devices/{uid}/stop")
def device_stop(
    uid: str, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    commands.send_commands(
        db, principal=principal, device_uids=[uid], kind="stop", args={}, ip=client_ip(request)
    )
    db.commit()
    _flash(request, "Đã gửi lệnh dừng phát.")
    return RedirectResponse(f"/fleet/devices/{uid}", status_code=303)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


# --- enrolment ------------------------------------------------------------------------------------


def _coordinate(raw: str, label: str, limit: float) -> float | None:
    text = raw.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as err:
        raise InvalidInput(f"{label} phải là số thập phân, ví dụ 14.77.", code="invalid_coordinate") from err
    if not -limit <= value <= limit:
        raise InvalidInput(f"{label} phải nằm trong khoảng ±{limit:g}.", code="invalid_coordinate")
    return value


def _enrol_page(request: Request, device: Device, code: str, commune: str | None) -> Response:
    expires_at = device.enrol_code_expires_at
    return render(
        request,
        "fleet/enrol.html",
        {
            "active_nav": "fleet",
            "device": device,
            "commune": commune,
            "code": code,
            "qr_svg": enrol_qr_svg(code),
            "expires": present.when(expires_at),
        },
    )


@router.post("/fleet/devices")
def add_device(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    name: FormStr = "",
    commune_code: FormStr = "",
    village: FormStr = "",
    latitude: FormStr = "",
    longitude: FormStr = "",
    commune_code_text: FormStr = "",
) -> Response:
    form = {"name": name, "commune_code": commune_code, "village": village, "lat": latitude, "lon": longitude}
    try:
        require(principal, Permission.OPERATE_STATION)
        if not commune_code.strip() and commune_code_text.strip():  # typed, not chosen (no JavaScript)
            kinds = picker.kinds_of(("commune",))
            commune_code = picker.resolve(db, principal, code="", text=commune_code_text, kinds=kinds).code
        commune = db.query(AdminUnit).filter(AdminUnit.code == commune_code.strip()).one_or_none()
        if commune is None:
            raise InvalidInput("Hãy chọn xã/phường của cụm loa.", code="commune_required")
        if not principal.can_access_path(commune.path):
            raise PermissionDenied(f"Địa bàn «{commune.name}» nằm ngoài phạm vi quản lý của bạn.")
        device = service.create_device(
            db,
            name=name,
            commune_id=commune.id,
            village=village[:200],
            latitude=_coordinate(latitude, "Vĩ độ", 90),
            longitude=_coordinate(longitude, "Kinh độ", 180),
        )
        code = service.issue_enrol_code(db, device=device)
        audit.record(
            db,
            action="device.create",
            actor=principal,
            target_type="device",
            target_id=device.uid,
            area_id=commune.id,
            details={"name": device.name},
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        return _fleet_page(request, db, principal, error=err.message, form=form, status=err.status)
    db.commit()
    return _enrol_page(request, device, code, commune.name)


@router.post("/fleet/devices/{uid}/enrol-code")
def new_enrol_code(
    uid: str, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    require(principal, Permission.OPERATE_STATION)
    row = queries.visible_device_row(db, principal=principal, uid=uid)
    code = service.issue_enrol_code(db, device=row.device)
    audit.record(
        db,
        action="device.enrol_code",
        actor=principal,
        target_type="device",
        target_id=uid,
        area_id=row.device.commune_id,
        ip=client_ip(request),
    )
    db.commit()
    return _enrol_page(request, row.device, code, row.commune_name)


# --- one device -------------------------------------------------------------------------------------


HEALTH_WINDOW = timedelta(days=2)


def health_charts(samples: Sequence[HealthSample]) -> list[charts.Chart]:
    """The device page's charts of its health history (``loa.fleet.health``)."""

    def free_percent(s: HealthSample) -> float | None:
        if s.storage_free_bytes is None or not s.storage_total_bytes:
            return None
        return 100.0 * s.storage_free_bytes / s.storage_total_bytes

    return [
        charts.line_chart("Cường độ sóng 4G", "dBm", [(s.at, s.signal_dbm) for s in samples]),
        charts.line_chart("Nhiệt độ", "°C", [(s.at, s.temperature_c) for s in samples], digits=1),
        charts.line_chart("Bộ nhớ trống", "%", [(s.at, free_percent(s)) for s in samples]),
        charts.line_chart(
            "Dữ liệu đã dùng trong ngày",
            "MB",
            [
                (s.at, None if s.data_used_today_bytes is None else s.data_used_today_bytes / 1e6)
                for s in samples
            ],
            digits=1,
        ),
    ]


@router.get("/fleet/devices/{uid}")
def device_page(
    uid: str,
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    since: str = Query(default="", max_length=10),
    until: str = Query(default="", max_length=10),
    page: int = Query(default=1, ge=1, le=100_000),
) -> Response:
    require(principal, Permission.VIEW)
    row = queries.visible_device_row(db, principal=principal, uid=uid)
    device = row.device
    error = None
    try:
        start, end = present.day_range(
            present.parse_day(since, "Từ ngày"), present.parse_day(until, "Đến ngày")
        )
    except InvalidInput as err:
        error, start, end = err.message, None, None
    receipts = queries.receipts_page(db, device=device, since=start, until=end, page=page)
    shown = [r.item_id for r in receipts.receipts] + [device.current_item_id or ""]
    shown += [r.detail[3:] for r in receipts.receipts if r.detail and r.detail.startswith("by:")]
    now = utcnow()
    longest = max(span for _, span in UPTIME_WINDOWS)
    changes = queries.online_changes(db, device=device, since=now - longest)
    uptime = [(label, online_time(changes, start=now - span, end=now)) for label, span in UPTIME_WINDOWS]
    samples = health.history(db, device_id=device.id, since=now - HEALTH_WINDOW)
    context = {
        "active_nav": "fleet",
        "device": device,
        "commune": row.commune_name,
        "uptime": uptime,
        "charts": health_charts(samples),
        "alarms": [
            (health.alarm_label(a.kind), a.raised_at)
            for a, _, _ in health.open_alarms(db, device_ids=[device.id])
        ],
        "receipts": receipts,
        "item_titles": _item_titles(request)(db, shown),
        "since": since,
        "until": until,
        "error": error,
        "status_log": queries.status_log(db, device=device),
        "commands": queries.recent_commands(db, device=device),
        "can_broadcast": principal.has(Permission.BROADCAST),
        "can_operate": principal.has(Permission.OPERATE_STATION),
        "flash": _pop_flash(request),
        "page_query": lambda p: f"?since={since}&until={until}&page={p}",
        **_helpers(),
    }
    return render(request, "fleet/device.html", context, status_code=422 if error else 200)


@router.get("/fleet/devices/{uid}/live")
def device_live(uid: str, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    device = queries.visible_device(db, principal=principal, uid=uid)
    context = {"device": device, "item_titles": _playing_titles(request, db, [device])}
    return render(request, "fleet/_device_live.html", {**context, **_helpers()})

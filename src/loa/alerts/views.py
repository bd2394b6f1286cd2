"""Web pages of emergency alerts: compose a warning (typed, from a template, or a recording), choose where
it goes (province, communes, villages, groups, a polygon on the map) with the loudspeakers and people it
covers counted before sending, confirm it on a second step (``loa.alerts.confirm``: the server sends only
with a token bound to what was shown), and — when the province asks for it — have a leader confirm it.
Also: which alerts are sounding, how fast they went to air, stopping one, the province's rule, and the
live acknowledgement board of one alert (``loa.alerts.board``, refreshed by HTMX polling) with its CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import board as boards
from loa.alerts import compose, confirm, levels, targeting
from loa.alerts import service as alerts
from loa.alerts.forms import EXPIRY_MAX_H, AlertForm
from loa.areas import picker
from loa.db.base import utcnow
from loa.errors import InvalidInput, LoaError, PayloadTooLarge
from loa.fleet import present
from loa.fleet.playable import get_playable, playable_audio
from loa.protocol.messages import REPEAT_GAP_MAX_S
from loa.settings import Settings
from loa.speech import uploads
from loa.speech.api import read_limited
from loa.speech.runtime import runtime_for
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

_flash, _pop_flash = flash_pair("alerts_flash")
COMMUNE_LIST_MAX = 12  # more communes than this: chosen by name in a combobox, not ticked in a list
PURPOSE = "alert"


MAX_FORM_BYTES = 256 * 1024  # the whole post: text, polygon, up to 2000 chosen places
MAX_FIELD_BYTES = 64 * 1024  # a warning of 4000 characters or a polygon of 200 corners, percent-encoded
FORM_TOO_LARGE = (
    "Dữ liệu gửi quá lớn: nội dung cảnh báo tối đa 4000 ký tự, vùng vẽ trên bản đồ tối đa 200 đỉnh."
)


async def posted_form(request: Request) -> FormData:
    """The posted form, each field read up to ``MAX_FIELD_BYTES`` (Starlette refuses a larger one as it
    streams, so a hostile post costs no more memory than that); a refusal is said in Vietnamese. It is
    resolved before the CSRF check, which then reads the same parsed form. A post without its length,
    or longer than ``MAX_FORM_BYTES``, is refused before it is read (browsers always send the length)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise PayloadTooLarge(FORM_TOO_LARGE, code="alert_form_too_large")
    try:
        return await request.form(max_part_size=MAX_FIELD_BYTES)
    except HTTPException:
        raise PayloadTooLarge(FORM_TOO_LARGE, code="alert_form_too_large") from None


PostedForm = Annotated[FormData, Depends(posted_form)]

BOARD_POLL_SECONDS = 2


def aired_audio(request: Request) -> alerts.AiredAudio:
    """What renders an alert's rounds (lead-in + message) in this application."""
    settings: Settings = request.app.state.settings
    return alerts.aired_audio(settings)


def level_context() -> dict[str, Any]:
    """What ``alerts/_level.html`` needs (pages of other packages include it too)."""
    return {"risk_levels": levels.RISK_LEVELS, "hazards": levels.HAZARDS}


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    error: str | None = None,
    form: AlertForm | None = None,
    reading: str | None = None,
    status: int = 200,
) -> Response:
    can_broadcast = principal.has(Permission.BROADCAST)
    form = form or AlertForm()
    rows = alerts.list_alerts(db, principal)
    context = {
        "active_nav": "alerts",
        "flash": _pop_flash(request),
        "error": error,
        "form": form,
        "reading": reading,
        "can_broadcast": can_broadcast,
        "communes": alerts.commune_choices(db, principal) if can_broadcast else [],
        "villages": targeting.village_choices(db, principal) if can_broadcast else [],
        "groups": targeting.group_choices(db, principal) if can_broadcast else [],
        "speakers": json.dumps(targeting.speaker_points(db, principal)) if can_broadcast else "[]",
        "audio_choices": playable_audio(db, principal) if can_broadcast else [],
        "templates": compose.TEMPLATES,
        "hazards": levels.HAZARDS,
        "risk_levels": levels.RISK_LEVELS,
        "modes": targeting.MODES,
        "rows": rows,
        "timings": compose.timings(db, [r.alert for r in rows]),
        "pending": confirm.pending_for(db, principal),
        "policies": confirm.policies(db, principal),
        "can_set_policy": confirm.can_set_policy(principal),
        "when": present.when,
        "max_gap_s": REPEAT_GAP_MAX_S,
        "expiry_max_h": EXPIRY_MAX_H,
        "list_max": COMMUNE_LIST_MAX,
        "chosen_communes": sorted(picker.chosen_labels(db, form.communes).items()),
        **level_context(),
    }
    return render(request, "alerts/index.html", context, status_code=status)


@router.get("/alerts")
def alerts_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _page(request, db, principal)


@router.get("/alerts/coverage")
def alerts_coverage(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    """HTMX: how many loudspeakers (and people) the current choice covers."""
    require(principal, Permission.BROADCAST)
    form = AlertForm.read(request.query_params)
    try:
        coverage = targeting.resolve(db, principal, form.choice())
        error = None
    except LoaError as err:
        coverage, error = None, err.message
    return render(request, "alerts/_coverage.html", {"coverage": coverage, "error": error})


@router.get("/alerts/reading")
def alerts_reading(request: Request, principal: WebPrincipal) -> Response:
    """HTMX: the normalised reading of the typed warning (what the voice will say)."""
    require(principal, Permission.BROADCAST)
    text = request.query_params.get("text", "")
    try:
        reading, error = (compose.reading(text) if text.strip() else ""), None
    except LoaError as err:
        reading, error = "", err.message
    return render(request, "alerts/_reading.html", {"reading": reading, "error": error})


def _review(
    request: Request,
    db: Session,
    principal: Principal,
    form: AlertForm,
    secret: str,
    *,
    notice: str | None = None,
) -> Response:
    """The confirmation step: what will sound, where, on how many loudspeakers; nothing is sent."""
    hazard, level = form.classification()
    gap_s = form.gap_s()
    form.expires_at(utcnow())
    coverage = targeting.resolve(db, principal, form.choice())
    if coverage.devices == 0:
        raise InvalidInput("Nơi đã chọn chưa có cụm loa nào đang hoạt động.", code="no_devices")
    reading, audio_title = None, None
    if form.text.strip():
        reading = compose.reading(form.text)
    elif form.audio_sha256:
        audio_title = get_playable(db, principal, form.audio_sha256).title
    else:
        raise InvalidInput("Hãy nhập nội dung cảnh báo, hoặc chọn một bản thu âm.", code="empty_text")
    units = confirm.communes_of(db, coverage.commune_codes)
    token = confirm.sign(secret, purpose=PURPOSE, username=principal.username, content=form.content())
    context = {
        "active_nav": "alerts",
        "form": form,
        "hidden": form.hidden(),
        "token": token,
        "coverage": coverage,
        "hazard": levels.HAZARDS[hazard],
        "level": levels.RISK_LEVELS[level],
        "gap_s": gap_s,
        "reading": reading,
        "audio_title": audio_title,
        "mode": targeting.MODES[coverage.mode],
        "second_person": confirm.needs_second_person(db, units, level),
        "notice": notice,
    }
    return render(request, "alerts/confirm.html", context)


@router.post("/alerts")
def alerts_post(
    principal: WebPrincipal,
    data: PostedForm,  # before the CSRF check: the form is read once, with the alert form's bounds
    request: Request,
    _csrf: CsrfProtected,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    """One form, several steps: ``fill`` a template, ``review`` (the confirmation step), ``send`` (with the
    confirmation token); anything else shows the form again with the reading."""
    require(principal, Permission.BROADCAST)
    form = AlertForm.read(data)
    step = data.get("step")
    secret = settings.secret_key.get_secret_value()
    try:
        if step == "fill":
            form.text = compose.fill(form.template, form.fields)
            if form.template in compose.TEMPLATES and not form.hazard:
                form.hazard = compose.TEMPLATES[form.template].hazard
            return _page(request, db, principal, form=form, reading=compose.reading(form.text))
        if step == "review":
            return _review(request, db, principal, form, secret)
        if step == "send":
            token = data.get("confirm_token")
            if not isinstance(token, str) or not confirm.check(
                secret, token, purpose=PURPOSE, username=principal.username, content=form.content()
            ):
                notice = "Trang xác nhận đã cũ hoặc nội dung đã thay đổi: hãy xem lại và bấm «Phát» lần nữa."
                return _review(request, db, principal, form, secret, notice=notice)
            return _send(request, db, principal, form, confirm.spend(db, principal, token))
        reading = compose.reading(form.text) if form.text.strip() else None
        return _page(request, db, principal, form=form, reading=reading)
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, form=form, status=err.status)


def _send(request: Request, db: Session, principal: Principal, form: AlertForm, used: str) -> Response:
    pressed_at = utcnow()
    hazard, level = form.classification()
    warning = compose.Warning(
        coverage=targeting.resolve(db, principal, form.choice()),
        hazard=hazard,
        risk_level=level,
        repeat_gap_s=form.gap_s(),
        expires_at=form.expires_at(pressed_at),
        text=form.text,
        audio_sha256=form.audio_sha256,
    )
    context = runtime_for(request.app.state).context
    alert = compose.send(
        db,
        principal=principal,
        context=context,
        warning=warning,
        pressed_at=pressed_at,
        ip=client_ip(request),
        aired=aired_audio(request),
        source_ref=used,  # the token is spent with the alert's commit
    )
    db.commit()
    if alert.status == alerts.PENDING_CONFIRMATION:
        _flash(
            request,
            f"Cảnh báo cấp độ {level} đã lưu, chờ lãnh đạo xác nhận (người thứ hai) trước khi phát tới "
            f"{number_text(alert.device_count)} cụm loa.",
        )
    else:
        _flash(
            request,
            f"Đã phát cảnh báo khẩn cấp «{alert.title}» tới {number_text(alert.device_count)} cụm loa.",
        )
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/upload")
def alerts_upload(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """A recorded warning uploaded for an alert: kept and levelled like any upload (``loa.speech.uploads``),
    then offered in the list of recordings of the send form."""
    require(principal, Permission.BROADCAST)
    speech = runtime_for(request.app.state)
    try:
        data = read_limited(file, speech.context.max_upload_bytes)
        accepted = uploads.accept_upload(
            db, context=speech.context, data=data, filename=file.filename, created_by_id=principal.user_id
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    if accepted.job is not None:
        speech.jobs.submit(accepted.job.id)
        _flash(
            request, "Đã nhận tệp: đang chuẩn hóa âm lượng, vài giây nữa tệp có trong danh sách bản thu âm."
        )
    else:
        _flash(request, "Tệp này đã có sẵn trong danh sách bản thu âm.")
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/confirm")
def alerts_confirm(
    alert_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    """The second person (a leader of the alert's communes) confirms a pending alert: it sounds now."""
    try:
        alert = confirm.confirm_pending(
            db, principal=principal, alert_id=alert_id, ip=client_ip(request), aired=aired_audio(request)
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(
        request,
        f"Đã xác nhận: cảnh báo của {alert.started_by} đang phát tới "
        f"{number_text(alert.device_count)} cụm loa.",
    )
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/policy")
def alerts_policy(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    province: Annotated[str, Form()] = "",
    from_level: Annotated[str, Form()] = "",
) -> Response:
    """The province's rule: from which risk level a second person must confirm (empty: never)."""
    try:
        level = int(from_level) if from_level.strip() else None
    except ValueError:
        level = 0  # refused below with the same message as any other bad level
    try:
        confirm.set_policy(
            db, principal=principal, province_code=province, from_level=level, ip=client_ip(request)
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(
        request,
        f"Từ nay cảnh báo từ cấp độ {level} cần người thứ hai xác nhận."
        if level
        else "Từ nay cảnh báo không cần người thứ hai xác nhận.",
    )
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/stop")
def alerts_stop(
    alert_id: int, request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep
) -> Response:
    try:
        alert = alerts.stop_alert(db, principal=principal, alert_id=alert_id, ip=client_ip(request))
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, status=err.status)
    db.commit()
    _flash(request, f"Đã dừng cảnh báo «{alert.title}».")
    return RedirectResponse("/alerts", status_code=303)


def _board_context(db: Session, principal: Principal, alert_id: int) -> dict[str, Any]:
    alert = alerts.visible_alert(db, principal, alert_id)
    return {
        "active_nav": "alerts",
        "board": boards.build_board(db, alert),
        "state_labels": boards.STATE_LABELS,
        "when": present.when,
        "poll_seconds": BOARD_POLL_SECONDS,
        **level_context(),
    }


@router.get("/alerts/{alert_id:int}")
def alert_board_page(alert_id: int, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return render(request, "alerts/board.html", _board_context(db, principal, alert_id))


@router.get("/alerts/{alert_id:int}/board")
def alert_board_fragment(
    alert_id: int, request: Request, principal: WebPrincipal, db: SessionDep
) -> Response:
    """The board alone: what the page's HTMX polling swaps in every few seconds."""
    require(principal, Permission.VIEW)
    return render(request, "alerts/_board.html", _board_context(db, principal, alert_id))


CSV_HEADER = (
    "Cụm loa",
    "Xã",
    "Tình trạng",
    "Phản hồi lúc",
    "Số lượt đã phát",
    "Trực tuyến",
    "Liên lạc lần cuối",
    "Lệnh dừng",
)


@router.get("/alerts/{alert_id:int}/board.csv")
def alert_board_csv(alert_id: int, principal: WebPrincipal, db: SessionDep) -> Response:
    """The board as CSV (UTF-8 with BOM, so that a spreadsheet opens the Vietnamese text right)."""
    require(principal, Permission.VIEW)
    board = boards.build_board(db, alerts.visible_alert(db, principal, alert_id))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in board.rows:
        writer.writerow(
            (
                r.name,
                r.commune,
                r.label,
                present.when(r.acknowledged_at) if r.acknowledged_at else "",
                r.rounds_played,
                "có" if r.online else "không",
                present.when(r.last_seen_at) if r.last_seen_at else "chưa bao giờ",
                r.stop_label if board.alert.stop_batch_ids else "",
            )
        )
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="canh-bao-{alert_id}-theo-doi.csv"'},
    )


@router.get("/alerts/active")
def alerts_active_fragment(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    """The alerts sounding now, with their levels' colours: a fragment the fleet page loads (the fleet
    package sits below alerts and does not read them itself)."""
    require(principal, Permission.VIEW)
    context = {"active_alerts": alerts.active_alerts(db, principal), "when": present.when, **level_context()}
    return render(request, "alerts/_active.html", context)

"""Web pages of emergency alerts (``loa.alerts.service``): start one for chosen communes, see which
are sounding and how many loudspeakers acknowledged, stop one; the live acknowledgement board of one
alert (``loa.alerts.board``, refreshed by HTMX polling) and its CSV export."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import board as boards
from loa.alerts import levels
from loa.alerts import service as alerts
from loa.areas import picker
from loa.errors import LoaError
from loa.fleet import commands, present
from loa.fleet.playable import playable_audio
from loa.protocol.messages import REPEAT_GAP_MAX_S
from loa.settings import Settings
from loa.speech.store import LocalAudioStore
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

_flash, _pop_flash = flash_pair("alerts_flash")
COMMUNE_LIST_MAX = 12  # more communes than this: chosen by name in a combobox, not ticked in a list
BOARD_POLL_SECONDS = 2


def aired_audio(request: Request) -> alerts.AiredAudio:
    """What renders an alert's rounds (lead-in + message) in this application."""
    settings: Settings = request.app.state.settings
    return alerts.AiredAudio(LocalAudioStore(settings.audio_dir), dict(settings.alert_lead_ins))


def level_context() -> dict[str, Any]:
    """What ``alerts/_level.html`` needs (pages of other packages include it too)."""
    return {"risk_levels": levels.RISK_LEVELS, "hazards": levels.HAZARDS}


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    can_broadcast = principal.has(Permission.BROADCAST)
    context = {
        "active_nav": "alerts",
        "flash": _pop_flash(request),
        "error": error,
        "form": form or {"repeat_gap_s": commands.DEFAULT_REPEAT_GAP_S, "communes": []},
        "can_broadcast": can_broadcast,
        "communes": alerts.commune_choices(db, principal) if can_broadcast else [],
        "audio_choices": playable_audio(db, principal) if can_broadcast else [],
        "rows": alerts.list_alerts(db, principal),
        "when": present.when,
        "max_gap_s": REPEAT_GAP_MAX_S,
        "list_max": COMMUNE_LIST_MAX,
        "chosen_communes": sorted(picker.chosen_labels(db, (form or {}).get("communes", [])).items()),
        **level_context(),
    }
    return render(request, "alerts/index.html", context, status_code=status)


@router.get("/alerts")
def alerts_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    require(principal, Permission.VIEW)
    return _page(request, db, principal)


@router.post("/alerts")
def alerts_start(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    audio_sha256: Annotated[str, Form()] = "",
    communes: Annotated[list[str] | None, Form()] = None,
    repeat_gap_s: Annotated[str, Form()] = "",
) -> Response:
    chosen = communes or []
    form = {"audio_sha256": audio_sha256, "communes": chosen, "repeat_gap_s": repeat_gap_s}
    try:
        alert = alerts.start_alert(
            db,
            principal=principal,
            commune_codes=chosen,
            audio_sha256=audio_sha256,
            repeat_gap_s=commands.parse_repeat_gap(repeat_gap_s),
            ip=client_ip(request),
            aired=aired_audio(request),
        )
    except LoaError as err:
        db.rollback()
        return _page(request, db, principal, error=err.message, form=form, status=err.status)
    db.commit()
    _flash(
        request, f"Đã phát cảnh báo khẩn cấp «{alert.title}» tới {number_text(alert.device_count)} cụm loa."
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

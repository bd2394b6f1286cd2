"""The /speech page (HTMX): type text, see how it will be read and what is hard to read, choose a
voice, generate with progress, listen; upload a recording to level it for broadcast."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.principal import ROLES, Permission, Principal
from loa.accounts.scope import require
from loa.errors import Conflict, LoaError
from loa.speech import jobs, overrides, service, uploads
from loa.speech.api import read_limited
from loa.speech.engines.base import MAX_RATE, MIN_RATE
from loa.speech.models import JobStatus
from loa.speech.normalize import NormalizedText, normalize
from loa.speech.render import MAX_TEXT_CHARS, too_long_text_message
from loa.speech.runtime import runtime_for
from loa.units.models import AdminUnit
from loa.vocab.numbers import number_text
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
MAX_SAMPLE_CHARS = 2000
RATE_CHOICES: tuple[tuple[str, str], ...] = (
    ("0.8", "Chậm (0,8)"),
    ("0.9", "Hơi chậm (0,9)"),
    ("1.0", "Bình thường (1,0)"),
    ("1.1", "Hơi nhanh (1,1)"),
    ("1.2", "Nhanh (1,2)"),
)


def _minutes(duration_ms: int) -> str:
    seconds = round(duration_ms / 1000)
    return f"{seconds // 60} phút {seconds % 60:02d} giây" if seconds >= 60 else f"{seconds} giây"


def _number(value: float) -> str:
    return number_text(value, 1)


def _helpers() -> dict[str, Any]:
    return {"fmt_duration": _minutes, "fmt_number": _number}


@router.get("/speech")
def speech_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    speech = runtime_for(request.app.state).context
    registry = speech.registry
    areas = overrides.picker_areas(db, principal)
    context = {
        "max_upload_minutes": round(speech.max_upload_duration_s / 60),
        "areas": areas,
        "default_area": "" if principal.is_admin or not areas else areas[0].code,
        "active_nav": "speech",
        "voices": registry.voices(),
        "default_voice": registry.default_voice().id,
        "rates": RATE_CHOICES,
        "max_chars": MAX_TEXT_CHARS,
        "can_edit": Permission.EDIT_CONTENT in _permissions(principal),
        **_helpers(),
    }
    return render(request, "speech/page.html", context)


def _permissions(principal: Principal) -> frozenset[Permission]:
    return ROLES[principal.role].permissions


@router.post("/speech/preview")
def preview(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    text: FormStr = "",
    area_code: FormStr = "",
) -> Response:
    if len(text) > MAX_TEXT_CHARS:
        return render(request, "speech/_error.html", {"message": too_long_text_message()})
    result = normalize(text, overrides=overrides.preview_overrides(db, principal, area_code))
    return render(request, "speech/_preview.html", {"result": result})


@router.post("/speech/generate")
def generate(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    text: FormStr = "",
    voice: FormStr = "",
    rate: FormStr = "1.0",
    area_code: FormStr = "",
    title: FormStr = "",
) -> Response:
    speech = runtime_for(request.app.state)
    try:
        require(principal, Permission.EDIT_CONTENT)
        area = overrides.area_for_request(db, principal, area_code)
        try:
            rate_value = float(rate.replace(",", "."))
        except ValueError:
            rate_value = 0.0
        job = jobs.create_job(
            db,
            context=speech.context,
            text=text,
            voice=voice or None,
            rate=rate_value if MIN_RATE <= rate_value <= MAX_RATE else 1.0,
            area_id=area.id if area else None,
            created_by_id=principal.user_id,
            title=title or None,
        )
        db.commit()
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    speech.jobs.submit(job.id)
    return render(request, "speech/_job.html", {"job": job, "asset": None, **_helpers()})


@router.get("/speech/jobs/{job_id}")
def job_status(job_id: str, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    try:
        job = jobs.visible_job(db, principal, job_id)
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    asset = (
        service.get_asset(db, job.result_sha256)
        if job.status is JobStatus.DONE and job.result_sha256
        else None
    )
    return render(request, "speech/_job.html", {"job": job, "asset": asset, **_helpers()})


@router.post("/speech/upload")
def upload(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    file: Annotated[UploadFile, File()],
    title: FormStr = "",
) -> Response:
    speech = runtime_for(request.app.state)
    try:
        require(principal, Permission.EDIT_CONTENT)
        data = read_limited(file, speech.context.max_upload_bytes)
        accepted = uploads.accept_upload(
            db,
            context=speech.context,
            data=data,
            filename=file.filename,
            title=title or None,
            created_by_id=principal.user_id,
        )
        db.commit()
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    if accepted.job is None:
        return render(request, "speech/_asset.html", {"asset": accepted.asset, **_helpers()})
    speech.jobs.submit(accepted.job.id)
    return render(request, "speech/_job.html", {"job": accepted.job, "asset": None, **_helpers()})


# --- Per-area abbreviation readings ------------------------------------------------------------------

OVERRIDES_SAMPLE = "TT-VH-TT phối hợp với UBND xã và BCH Quân sự tổ chức tuyên truyền tại HTX nông nghiệp."


def _line_errors(err: LoaError) -> list[str]:
    details = err.details if isinstance(err.details, list) else []
    lines = [f"Dòng {d['line']}: {d['message']}" for d in details if isinstance(d, dict) and "line" in d]
    return lines or [err.message]


def _sample_reading(layers: list[overrides.Layer], own: dict[str, str], sample: str) -> NormalizedText | None:
    sample = sample.strip()[:MAX_SAMPLE_CHARS]
    return normalize(sample, overrides=overrides.sample_layers(layers, own)) if sample else None


def _overrides_context(
    db: SessionDep,
    principal: Principal,
    area: AdminUnit | None,
    *,
    text: str | None = None,
    version: int | None = None,
    sample: str = OVERRIDES_SAMPLE,
) -> dict[str, Any]:
    layers = overrides.layers_for(db, area) if area is not None else []
    own = layers[-1] if layers else None
    saved_text = own.row.text if own and own.row else ""
    entries = own.entries if own else {}
    if text is not None:
        # On errors the caller shows them; the preview uses the saved readings meanwhile.
        with contextlib.suppress(LoaError):
            entries = overrides.check_text(text)
    return {
        "active_nav": "speech",
        "areas": overrides.picker_areas(db, principal),
        "area": area,
        "area_label": own.name if own else "",
        "layers": layers,
        "inherited": [layer for layer in layers[:-1] if layer.entries],
        "row": own.row if own else None,
        "text": saved_text if text is None else text,
        "version": (own.row.version if own and own.row else 0) if version is None else version,
        "can_edit": area is not None and overrides.can_edit(principal, area),
        "sample": sample,
        "reading": _sample_reading(layers, entries, sample) if layers else None,
        "errors": [],
        "message": None,
        "conflict_text": None,
        "max_chars": overrides.MAX_OVERRIDES_CHARS,
    }


@router.get("/speech/overrides")
def overrides_page(request: Request, principal: WebPrincipal, db: SessionDep, area: str = "") -> Response:
    try:
        unit = overrides.area_for_request(db, principal, area)
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message}, status_code=err.status)
    if unit is None:
        choices = overrides.picker_areas(db, principal)
        unit = choices[0] if choices and not principal.is_admin else None
    return render(request, "speech/overrides.html", _overrides_context(db, principal, unit))


@router.post("/speech/overrides")
def overrides_save(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    area_code: FormStr = "",
    text: FormStr = "",
    version: FormStr = "0",
    sample: FormStr = OVERRIDES_SAMPLE,
) -> Response:
    fragment = request.headers.get("HX-Request") == "true"
    expected = int(version) if version.isdigit() else None
    try:
        unit = overrides.require_area(db, principal, area_code)
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message}, status_code=err.status)
    try:
        overrides.save_overrides(
            db, principal=principal, unit=unit, text=text, expected_version=expected, ip=client_ip(request)
        )
        db.commit()
    except LoaError as err:
        db.rollback()
        ctx = _overrides_context(db, principal, unit, text=text, version=expected, sample=sample)
        if isinstance(err, Conflict):
            # Show what the other person saved; the next save (from the current version) is deliberate.
            row = ctx["row"]
            ctx.update(conflict_text=row.text if row else "", version=row.version if row else 0)
            ctx["errors"] = [err.message]
        else:
            ctx["errors"] = _line_errors(err)
        template = "speech/_overrides_form.html" if fragment else "speech/overrides.html"
        return render(request, template, ctx, status_code=200 if fragment else err.status)
    ctx = _overrides_context(db, principal, unit, sample=sample)
    ctx["message"] = f"Đã lưu từ điển viết tắt của {ctx['area_label']} (phiên bản {ctx['version']})."
    return render(request, "speech/_overrides_form.html" if fragment else "speech/overrides.html", ctx)


@router.post("/speech/overrides/preview")
def overrides_preview(
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    area_code: FormStr = "",
    text: FormStr = "",
    sample: FormStr = "",
) -> Response:
    """How the sample sentence reads with the list being edited (not saved yet)."""
    try:
        unit = overrides.require_area(db, principal, area_code)
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    layers = overrides.layers_for(db, unit)
    errors: list[str] = []
    try:
        own = overrides.check_text(text)
    except LoaError as err:
        errors, own = _line_errors(err), {}
    context = {"reading": _sample_reading(layers, own, sample), "preview_errors": errors}
    return render(request, "speech/_overrides_preview.html", context)

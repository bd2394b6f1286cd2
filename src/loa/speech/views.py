"""The /speech page (HTMX): type text, see how it will be read and what is hard to read, choose a
voice, generate with progress, listen; upload a recording to level it for broadcast."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, require_permission
from loa.accounts.principal import ROLES, Permission, Principal
from loa.errors import LoaError, NotFound
from loa.speech import jobs, service
from loa.speech.api import read_limited
from loa.speech.engines.base import MAX_RATE, MIN_RATE
from loa.speech.models import JobStatus, SpeechJob
from loa.speech.normalize import normalize
from loa.speech.render import MAX_TEXT_CHARS, too_long_text_message
from loa.speech.runtime import runtime_for
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
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
    return f"{value:.1f}".replace(".", ",")


def _helpers() -> dict[str, Any]:
    return {"fmt_duration": _minutes, "fmt_number": _number}


def _visible_job(db: SessionDep, principal: Principal, job_id: str) -> SpeechJob:
    job = jobs.get_job(db, job_id)
    if not principal.is_admin and job.created_by_id != principal.user_id:
        raise NotFound(jobs.JOB_NOT_FOUND)
    return job


@router.get("/speech")
def speech_page(request: Request, principal: WebPrincipal) -> Response:
    registry = runtime_for(request.app.state).context.registry
    context = {
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
def preview(request: Request, principal: WebPrincipal, _csrf: CsrfProtected, text: FormStr = "") -> Response:
    if len(text) > MAX_TEXT_CHARS:
        return render(request, "speech/_error.html", {"message": too_long_text_message()})
    result = normalize(text)
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
) -> Response:
    speech = runtime_for(request.app.state)
    try:
        require_permission(principal, Permission.EDIT_CONTENT)
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
            created_by_id=principal.user_id,
        )
        db.commit()
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    speech.jobs.submit(job.id)
    return render(request, "speech/_job.html", {"job": job, "asset": None, **_helpers()})


@router.get("/speech/jobs/{job_id}")
def job_status(job_id: str, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    try:
        job = _visible_job(db, principal, job_id)
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
) -> Response:
    speech = runtime_for(request.app.state)
    try:
        require_permission(principal, Permission.EDIT_CONTENT)
        data = read_limited(file, speech.context.max_upload_bytes)
        asset = service.ingest_upload(
            db, context=speech.context, data=data, filename=file.filename, created_by_id=principal.user_id
        )
        db.commit()
    except LoaError as err:
        return render(request, "speech/_error.html", {"message": err.message})
    return render(request, "speech/_asset.html", {"asset": asset, **_helpers()})

"""HTML routes for the audio of renditions: TTS button with live progress, uploads from a form."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Principal
from loa.content import audio, renditions, service
from loa.content.api_audio import Runtime, audio_upload
from loa.content.catalog import AUDIO_ORIGINS, DEFAULT_LANGUAGE, LANGUAGES, AudioOrigin
from loa.content.models import Bulletin
from loa.content.schemas import audio_url
from loa.content.uploads import UploadedFile
from loa.errors import LoaError, NotFound
from loa.speech import voices
from loa.speech.models import AudioAsset, JobKind, JobStatus, SpeechJob
from loa.speech.runtime import runtime_for
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class JobView:
    pending: bool
    percent: int
    error: str | None
    label: str = "Đang tổng hợp giọng đọc…"


def job_view(job: SpeechJob | None) -> JobView | None:
    if job is None or job.status is JobStatus.DONE:
        return None
    return JobView(
        pending=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        percent=job.progress,
        error=job.error_message if job.status is JobStatus.FAILED else None,
        label="Đang chuẩn hóa bản thu…" if job.kind is JobKind.UPLOAD else "Đang tổng hợp giọng đọc…",
    )


def jobs_of(db: Session, bulletin: Bulletin) -> dict[str, JobView]:
    views = {r.language: job_view(audio.job_for(db, r)) for r in bulletin.renditions}
    return {lang: view for lang, view in views.items() if view is not None}


def _fragment(
    request: Request,
    db: Session,
    principal: Principal,
    bulletin_id: int,
    language: str,
    error: str | None = None,
) -> Response:
    bulletin = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    rendition: Any = renditions.find(bulletin, language)
    if rendition is None:
        if language not in LANGUAGES or error is None:
            raise NotFound("Không có bản ngôn ngữ này.")
        # A refused first request on a bulletin without this rendition yet: show the error in place.
        rendition = SimpleNamespace(
            language=language, audio_sha256=None, audio_origin=None, audio_duration_ms=None
        )
    job = job_view(audio.job_for(db, rendition))
    if error:
        job = JobView(pending=False, percent=0, error=error)
    return render(
        request,
        "content/_audio.html",
        {
            "bulletin": bulletin,
            "r": rendition,
            "job": job,
            "audio_url": audio_url,
            "audio_origins": AUDIO_ORIGINS,
            "languages": LANGUAGES,
            "audio_titles": audio_titles(db, [rendition.audio_sha256]),
        },
    )


@router.post("/bulletins/{bulletin_id}/renditions/{language}/tts")
def tts_start(
    bulletin_id: int,
    language: str,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    runtime: Runtime,
    voice: Annotated[str, Form()] = "",
    rate: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    try:
        job = audio.request_tts(
            db,
            context=runtime.context,
            principal=principal,
            bulletin_id=bulletin_id,
            language=language,
            voice=voice or None,
            rate=_rate(rate),
            title=title or None,
        )
        db.commit()
    except LoaError as err:
        db.rollback()
        return _fragment(request, db, principal, bulletin_id, language, error=err.message)
    runtime.jobs.submit(job.id)
    return _fragment(request, db, principal, bulletin_id, language)


def _rate(text: str) -> float | None:
    try:
        return float(text.replace(",", ".")) if text.strip() else None
    except ValueError:
        return None


RATE_CHOICES: tuple[tuple[float, str], ...] = (
    (0.8, "Chậm (0,8)"),
    (0.9, "Hơi chậm (0,9)"),
    (1.0, "Bình thường (1,0)"),
    (1.1, "Hơi nhanh (1,1)"),
    (1.2, "Nhanh (1,2)"),
)


def audio_titles(db: Session, sha256s: list[str | None]) -> dict[str, str]:
    """The names of the audio files (a job's title, or the uploaded file's name), by SHA-256."""
    wanted = [s for s in sha256s if s]
    if not wanted:
        return {}
    rows = db.execute(
        select(AudioAsset.sha256, AudioAsset.title, AudioAsset.original_filename).where(
            AudioAsset.sha256.in_(wanted)
        )
    )
    names: dict[str, str] = {}
    for sha, title, filename in rows:
        name = title or filename
        if name:
            names[sha] = name
    return names


def audio_context(request: Request, db: Session, bulletin: Bulletin) -> dict[str, object]:
    """What the editor's audio panel needs: the synthetic-voice controls (every installed voice, the
    area's remembered choice, else its region's voice, preselected; the reading rates) and the names
    of the rendition audio files."""
    registry = runtime_for(request.app.state).context.registry
    start = voices.default_for_area(db, registry, bulletin.area_id)
    rates = list(RATE_CHOICES)
    if all(abs(value - start.rate) > 1e-9 for value, _ in rates):
        rates.append((start.rate, f"Đã lưu ({start.rate:g})".replace(".", ",")))
    return {
        "tts_voices": registry.voices(),
        "tts_default": start,
        "tts_rates": rates,
        "audio_titles": audio_titles(db, [r.audio_sha256 for r in bulletin.renditions]),
        "has_vi_rendition": any(r.language == DEFAULT_LANGUAGE for r in bulletin.renditions),
    }


@router.get("/bulletins/{bulletin_id}/renditions/{language}/tts")
def tts_progress(
    bulletin_id: int, language: str, request: Request, db: SessionDep, principal: WebPrincipal
) -> Response:
    return _fragment(request, db, principal, bulletin_id, language)


@router.post("/bulletins/{bulletin_id}/renditions/{language}/audio")
def audio_from_form(
    bulletin_id: int,
    language: str,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    runtime: Runtime,
    upload: Annotated[UploadedFile, Depends(audio_upload)],
) -> Response:
    _rendition, job = audio.upload_recording(
        db,
        context=runtime.context,
        principal=principal,
        bulletin_id=bulletin_id,
        language=language,
        data=upload.data,
        filename=upload.filename,
        origin=AudioOrigin.UPLOAD,
    )
    db.commit()
    if job is not None:
        runtime.jobs.submit(job.id)
        request.session["bulletin_flash"] = "Đã nhận bản thu; đang chuẩn hóa âm lượng, có thể rời trang."
    else:
        request.session["bulletin_flash"] = "Đã lưu bản thu."
    return RedirectResponse(f"/bulletins/{bulletin_id}#renditions", status_code=303)

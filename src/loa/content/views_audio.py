"""HTML routes for the audio of renditions: TTS button with live progress, uploads from a form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.principal import Principal
from loa.content import audio, renditions, service
from loa.content.api_audio import Runtime, audio_upload
from loa.content.catalog import AUDIO_ORIGINS, LANGUAGES, AudioOrigin
from loa.content.models import Bulletin
from loa.content.schemas import audio_url
from loa.content.uploads import UploadedFile
from loa.errors import LoaError, NotFound
from loa.speech.models import JobStatus, SpeechJob
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class JobView:
    pending: bool
    percent: int
    error: str | None


def job_view(job: SpeechJob | None) -> JobView | None:
    if job is None or job.status is JobStatus.DONE:
        return None
    return JobView(
        pending=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        percent=job.progress,
        error=job.error_message if job.status is JobStatus.FAILED else None,
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
    rendition = renditions.find(bulletin, language)
    if rendition is None:
        raise NotFound("Không có bản ngôn ngữ này.")
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
) -> Response:
    try:
        job = audio.request_tts(
            db, context=runtime.context, principal=principal, bulletin_id=bulletin_id, language=language
        )
        db.commit()
    except LoaError as err:
        db.rollback()
        return _fragment(request, db, principal, bulletin_id, language, error=err.message)
    runtime.jobs.submit(job.id)
    return _fragment(request, db, principal, bulletin_id, language)


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
    audio.upload_recording(
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
    request.session["bulletin_flash"] = "Đã lưu bản thu âm."
    return RedirectResponse(f"/bulletins/{bulletin_id}#renditions", status_code=303)

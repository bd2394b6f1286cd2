"""JSON routes for the audio of renditions: upload or browser recording, TTS jobs and their progress,
and the audio files themselves (public once the bulletin is published)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response, StreamingResponse

from loa.accounts.deps import ApiPrincipal, get_api_principal
from loa.content import audio, renditions, service
from loa.content.audio_scope import require_asset
from loa.content.catalog import AudioOrigin, Status
from loa.content.models import Bulletin, BulletinRevision, Rendition
from loa.content.schemas import audio_url, rendition_out
from loa.content.uploads import UploadedFile, read_upload
from loa.errors import NotFound
from loa.speech import service as speech
from loa.speech.audio.encode import PROFILES, AudioFormat
from loa.speech.engines.base import MAX_RATE, MIN_RATE
from loa.speech.models import SpeechJob
from loa.speech.runtime import SpeechRuntime, runtime_for
from loa.speech.store import is_sha256
from loa.web.deps import SessionDep

router = APIRouter(tags=["bulletins"])  # included by loa.content.api under /api/v1
media = APIRouter(tags=["feeds"])


def speech_runtime(request: Request) -> SpeechRuntime:
    return runtime_for(request.app.state)


Runtime = Annotated[SpeechRuntime, Depends(speech_runtime)]


async def audio_upload(request: Request) -> UploadedFile:
    limit = request.app.state.settings.max_upload_bytes
    return await read_upload(request, limit, speech.upload_too_large_message(limit))


def job_out(bulletin_id: int, language: str, job: SpeechJob) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "kind": job.kind.value,
        "title": job.title,
        "voice": job.voice,
        "rate": job.rate,
        "status": job.status.value,
        "status_label": job.status_label,
        "progress": job.progress,
        "error": job.error_message,
        "audio_url": audio_url(job.result_sha256) if job.result_sha256 else None,
        "status_url": f"/api/v1/bulletins/{bulletin_id}/renditions/{language}/tts",
    }


@router.post("/bulletins/{bulletin_id}/renditions/{language}/audio", status_code=status.HTTP_202_ACCEPTED)
def upload_audio(
    bulletin_id: int,
    language: str,
    response: Response,
    db: SessionDep,
    principal: ApiPrincipal,
    runtime: Runtime,
    upload: Annotated[UploadedFile, Depends(audio_upload)],
) -> dict[str, Any]:
    """A recording (any common audio format; video, and audio declared longer than the limit, are
    refused at once). Form field ``origin=recording`` marks a recording made in the browser. 202: the
    original is kept and levelled for broadcast on the job worker (``job``; poll its ``status_url``),
    then attached to the rendition. 201 when the same bytes were levelled before (attached at once)."""
    origin = AudioOrigin.RECORDING if upload.fields.get("origin") == "recording" else AudioOrigin.UPLOAD
    rendition, job = audio.upload_recording(
        db,
        context=runtime.context,
        principal=principal,
        bulletin_id=bulletin_id,
        language=language,
        data=upload.data,
        filename=upload.filename,
        origin=origin,
    )
    db.commit()
    if job is None:
        response.status_code = status.HTTP_201_CREATED
        return rendition_out(rendition)
    runtime.jobs.submit(job.id)
    return {**rendition_out(rendition), "job": job_out(bulletin_id, language, job)}


class TtsIn(BaseModel):
    voice: str | None = Field(
        default=None, max_length=120, description="Mã giọng; trống: giọng đã lưu của địa bàn."
    )
    rate: float | None = Field(
        default=None, ge=MIN_RATE, le=MAX_RATE, description="Tốc độ đọc (1,0 = bình thường)."
    )
    title: str | None = Field(
        default=None, max_length=255, description="Tên tệp âm thanh; trống: tiêu đề bản tin."
    )


@router.post("/bulletins/{bulletin_id}/renditions/{language}/tts", status_code=status.HTTP_202_ACCEPTED)
def start_tts(
    bulletin_id: int,
    language: str,
    db: SessionDep,
    principal: ApiPrincipal,
    runtime: Runtime,
    body: TtsIn | None = None,
) -> dict[str, Any]:
    """Start reading the rendition's text (Vietnamese without one: the title and body) with the
    synthetic voice; poll the returned ``status_url``. A voice or rate given here is remembered for
    the area's next bulletins."""
    choice = body or TtsIn()
    job = audio.request_tts(
        db,
        context=runtime.context,
        principal=principal,
        bulletin_id=bulletin_id,
        language=language,
        voice=choice.voice,
        rate=choice.rate,
        title=choice.title,
    )
    db.commit()
    runtime.jobs.submit(job.id)
    return job_out(bulletin_id, language, job)


def rendition_job(
    db: Session, principal: Any, bulletin_id: int, language: str
) -> tuple[Rendition, SpeechJob]:
    bulletin = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    rendition = renditions.find(bulletin, language)
    job = audio.job_for(db, rendition) if rendition is not None else None
    if rendition is None or job is None:
        raise NotFound("Chưa có yêu cầu đọc bằng giọng máy cho bản này.")
    return rendition, job


@router.get("/bulletins/{bulletin_id}/renditions/{language}/tts")
def tts_status(bulletin_id: int, language: str, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    _rendition, job = rendition_job(db, principal, bulletin_id, language)
    return job_out(bulletin_id, language, job)


def _public_audio(db: Session, sha256: str) -> bool:
    """Whether the audio is in the published revision of a bulletin still on the portal. Looked for
    among the bulletins whose rendition carries it now and those with a newer revision pending (whose
    published audio may have been replaced since): a draft's audio is never public."""
    if not is_sha256(sha256):
        return False
    live = select(Rendition.bulletin_id).where(Rendition.audio_sha256 == sha256)
    revised = select(Bulletin.id).where(Bulletin.status != Status.PUBLISHED)
    snapshots = db.scalars(
        select(BulletinRevision.snapshot)
        .join(
            Bulletin,
            and_(
                Bulletin.id == BulletinRevision.bulletin_id,
                Bulletin.published_revision_no == BulletinRevision.number,
            ),
        )
        .where(Bulletin.status != Status.ARCHIVED, or_(Bulletin.id.in_(live), Bulletin.id.in_(revised)))
    )
    return any(
        isinstance(r, dict) and r.get("audio_sha256") == sha256
        for snapshot in snapshots
        for r in (snapshot.get("renditions") or {}).values()
    )


@media.get("/media/bulletin-audio/{sha256}")
def bulletin_audio(sha256: str, request: Request, db: SessionDep, runtime: Runtime) -> Response:
    """The audio of a rendition: public when it is in a published revision, else for those whose areas
    it belongs to (``loa.content.audio_scope``), like any audio by hash."""
    if _public_audio(db, sha256):
        asset = speech.get_asset(db, sha256)
    else:
        asset = require_asset(db, get_api_principal(request, db), sha256)
    profile = PROFILES[AudioFormat(asset.format)]
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    local = runtime.context.store.local_path(asset.sha256, profile.extension)
    if local is not None:
        return FileResponse(local, media_type=profile.media_type, headers=headers)
    handle = runtime.context.store.open(asset.sha256, profile.extension)
    return StreamingResponse(handle, media_type=profile.media_type, headers=headers)

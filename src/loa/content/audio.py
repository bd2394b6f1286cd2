"""The one seam between bulletins and the speech service: recordings and TTS requests become speech
jobs, and finished jobs attach their audio to the rendition (``attach_finished_job``, subscribed by
``loa.wiring`` to the end of a speech job, calls ``renditions.audio_finished``)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.content import renditions
from loa.content.catalog import LANGUAGES, AudioOrigin
from loa.content.logic import check_language
from loa.content.models import Bulletin, Rendition
from loa.content.service import get_bulletin, subject_of
from loa.content.workflow import check_edit
from loa.errors import InvalidInput
from loa.speech import jobs as speech_jobs
from loa.speech import service as speech
from loa.speech import uploads, voices
from loa.speech.models import JobStatus, SpeechJob
from loa.speech.service import SpeechContext

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "bulletin"
NO_VOICE = "Chưa có giọng đọc máy cho ngôn ngữ này; hãy tải lên hoặc thu âm bản đọc."
NOTHING_TO_READ = "Chưa có văn bản để đọc. Hãy nhập nội dung trước khi tạo giọng đọc."


# The origin a finished job's audio gets: synthetic speech, or a person's recording levelled for
# broadcast (the subject's fourth part says which; three parts is synthetic speech).
_SUBJECT_ORIGINS = {"upload": AudioOrigin.UPLOAD, "recording": AudioOrigin.RECORDING}


def subject_for(bulletin_id: int, language: str, origin: AudioOrigin = AudioOrigin.TTS) -> str:
    base = f"{SUBJECT_PREFIX}:{bulletin_id}:{language}"
    return base if origin is AudioOrigin.TTS else f"{base}:{origin.value}"


def parse_subject(subject: str | None) -> tuple[int, str] | None:
    parsed = parse_subject_origin(subject)
    return None if parsed is None else (parsed[0], parsed[1])


def parse_subject_origin(subject: str | None) -> tuple[int, str, AudioOrigin] | None:
    parts = (subject or "").split(":")
    if len(parts) not in (3, 4) or parts[0] != SUBJECT_PREFIX or not parts[1].isdigit():
        return None
    origin = _SUBJECT_ORIGINS.get(parts[3]) if len(parts) == 4 else AudioOrigin.TTS
    if origin is None:
        return None
    return int(parts[1]), parts[2], origin


def _editable(session: Session, principal: Principal, bulletin_id: int, language: str) -> None:
    check_language(language)
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    check_edit(principal, subject_of(session, bulletin))


def upload_recording(
    session: Session,
    *,
    context: SpeechContext,
    principal: Principal,
    bulletin_id: int,
    language: str,
    data: bytes,
    filename: str = "",
    origin: AudioOrigin = AudioOrigin.UPLOAD,
) -> tuple[Rendition, SpeechJob | None]:
    """Check who may change the bulletin before anything else, then let the speech service check the
    file (audio, not video; not too long) and keep it. Returns the rendition and the job that levels
    the recording (the caller commits, then submits it); ``None`` when identical bytes were levelled
    before, in which case the audio is attached at once."""
    _editable(session, principal, bulletin_id, language)
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    accepted = uploads.accept_upload(
        session,
        context=context,
        data=data,
        filename=filename,
        title=bulletin.title,
        created_by_id=principal.user_id,
    )
    if accepted.asset is not None:
        rendition = renditions.attach_recording(
            session,
            principal=principal,
            bulletin_id=bulletin_id,
            language=language,
            audio_sha256=accepted.asset.sha256,
            duration_ms=accepted.asset.duration_ms,
            origin=origin,
        )
        return rendition, None
    job = accepted.job
    assert job is not None and job.source_sha256 is not None
    job.subject = subject_for(bulletin.id, language, origin)
    rendition = renditions.recording_started(
        session,
        principal=principal,
        bulletin=bulletin,
        language=language,
        job_id=job.id,
        source_sha256=job.source_sha256,
        origin=origin,
    )
    return rendition, job


def request_tts(
    session: Session,
    *,
    context: SpeechContext,
    principal: Principal,
    bulletin_id: int,
    language: str,
    voice: str | None = None,
    rate: float | None = None,
    title: str | None = None,
) -> SpeechJob:
    """Queue a synthetic reading of the rendition's text (for Vietnamese without one: the title and
    body). Without ``voice``/``rate`` the area's remembered choice (else its region's voice) is used;
    a voice chosen here is remembered for the area's next bulletins. The audio is named ``title``
    (default: the bulletin's title). The caller commits, then submits the job to the runner."""
    _editable(session, principal, bulletin_id, language)
    if not LANGUAGES[language].tts:
        raise InvalidInput(NO_VOICE, code="no_voice")
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    text = renditions.reading_text(bulletin, language)
    if not text.strip():
        raise InvalidInput(NOTHING_TO_READ, code="nothing_to_read")
    start = voices.default_for_area(session, context.registry, bulletin.area_id)
    chosen_voice = voice or start.voice.id
    chosen_rate = start.rate if rate is None else rate
    job = speech_jobs.create_job(
        session,
        context=context,
        text=text,
        voice=chosen_voice,
        rate=chosen_rate,
        subject=subject_for(bulletin.id, language),
        area_id=bulletin.area_id,
        created_by_id=principal.user_id,
        title=(title or "").strip() or bulletin.title,
    )
    if voice is not None or rate is not None:
        voices.remember_choice(
            session,
            registry=context.registry,
            principal=principal,
            area_id=bulletin.area_id,
            voice=job.voice,
            rate=chosen_rate,
        )
    renditions.mark_tts_started(
        session, principal=principal, bulletin=bulletin, language=language, job_id=job.id
    )
    return job


def job_for(session: Session, rendition: Rendition) -> SpeechJob | None:
    if not rendition.tts_job_id:
        return None
    return session.get(SpeechJob, rendition.tts_job_id)


def owned_target(session: Session, job: SpeechJob) -> tuple[int, str] | None:
    """The (bulletin, language) a job was made for, when it is one of content's own requests: a
    "bulletin:…" subject naming a bulletin that exists. Other subjects (other domains, API callers,
    a bulletin deleted meanwhile) are not content's business."""
    target = parse_subject(job.subject)
    if target is None or session.get(Bulletin, target[0]) is None:
        return None
    return target


def attach_finished_job(session: Session, job: SpeechJob) -> None:
    """A finished speech job for a bulletin (synthetic speech or a levelled recording) puts its audio
    on the rendition; jobs for other subjects are ignored."""
    if job.status is not JobStatus.DONE or not job.result_sha256:
        return
    target = parse_subject_origin(job.subject)
    if target is None or session.get(Bulletin, target[0]) is None:
        return
    bulletin_id, language, origin = target
    asset = speech.get_asset(session, job.result_sha256)
    attached = renditions.audio_finished(
        session,
        bulletin_id=bulletin_id,
        language=language,
        job_id=job.id,
        audio_sha256=asset.sha256,
        duration_ms=asset.duration_ms,
        origin=origin,
    )
    if not attached:
        log.info("speech job %s for %s is stale; result not attached", job.id, job.subject)

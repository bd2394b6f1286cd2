"""The one seam between bulletins and the speech service: recordings in, TTS jobs out, finished jobs
attached back to their rendition (``attach_finished_job``, subscribed by ``loa.wiring`` to the end of
a speech job)."""

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
from loa.speech.models import JobStatus, SpeechJob
from loa.speech.service import SpeechContext

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "bulletin"
NO_VOICE = "Chưa có giọng đọc máy cho ngôn ngữ này; hãy tải lên hoặc thu âm bản đọc."
NOTHING_TO_READ = "Chưa có văn bản để đọc. Hãy nhập nội dung trước khi tạo giọng đọc."


def subject_for(bulletin_id: int, language: str) -> str:
    return f"{SUBJECT_PREFIX}:{bulletin_id}:{language}"


def parse_subject(subject: str | None) -> tuple[int, str] | None:
    parts = (subject or "").split(":", 2)
    if len(parts) != 3 or parts[0] != SUBJECT_PREFIX or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


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
) -> Rendition:
    """Check who may change the bulletin before any decoding, then let the speech service decode,
    level and store the recording, and attach it to the rendition."""
    _editable(session, principal, bulletin_id, language)
    # The speech service refuses anything that is not audio, videos with a sound track included.
    asset = speech.ingest_upload(
        session, context=context, data=data, filename=filename, created_by_id=principal.user_id
    )
    return renditions.attach_recording(
        session,
        principal=principal,
        bulletin_id=bulletin_id,
        language=language,
        audio_sha256=asset.sha256,
        duration_ms=asset.duration_ms,
        origin=origin,
    )


def request_tts(
    session: Session, *, context: SpeechContext, principal: Principal, bulletin_id: int, language: str
) -> SpeechJob:
    """Queue a synthetic reading of the rendition's text. The caller commits, then submits the job
    to the runner (``runtime.jobs.submit(job.id)``)."""
    _editable(session, principal, bulletin_id, language)
    if not LANGUAGES[language].tts:
        raise InvalidInput(NO_VOICE, code="no_voice")
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    text = renditions.reading_text(bulletin, language)
    if not text.strip():
        raise InvalidInput(NOTHING_TO_READ, code="nothing_to_read")
    job = speech_jobs.create_job(
        session,
        context=context,
        text=text,
        subject=subject_for(bulletin.id, language),
        area_id=bulletin.area_id,
        created_by_id=principal.user_id,
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
    """A finished TTS job for a bulletin puts its audio on the rendition; jobs for other subjects are
    ignored."""
    if job.status is not JobStatus.DONE or not job.result_sha256:
        return
    target = owned_target(session, job)
    if target is None:
        return
    bulletin_id, language = target
    asset = speech.get_asset(session, job.result_sha256)
    attached = renditions.tts_finished(
        session,
        bulletin_id=bulletin_id,
        language=language,
        job_id=job.id,
        audio_sha256=asset.sha256,
        duration_ms=asset.duration_ms,
    )
    if not attached:
        log.info("speech job %s for %s is stale; result not attached", job.id, job.subject)

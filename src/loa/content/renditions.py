"""Language renditions of a bulletin: the text to read in each language and its audio.

Audio is content like any edit: a human recording (upload or browser recording) and synthetic speech
alike change what will be aired, so asking for either on an approved or published bulletin starts a
new revision that needs approval (issue 20, point 1: the area's abbreviation readings may have changed
since the approval, so new speech of the same text may say other words). A job that finishes after
its revision was submitted does not change what is under review.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.content.catalog import LANGUAGES, AudioOrigin
from loa.content.logic import check_language, clean_rendition_text
from loa.content.models import Bulletin, Rendition
from loa.content.readings import find, reading_text
from loa.content.service import check_version, content_changed, current_revision, get_bulletin, snapshot
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import InvalidInput, NotFound

__all__ = ["find", "reading_text"]  # re-exported for the callers that read renditions here

log = logging.getLogger(__name__)


def save_text(
    session: Session,
    *,
    principal: Principal,
    bulletin_id: int,
    language: str,
    text: str,
    expected_version: int | None = None,
) -> Rendition:
    language = check_language(language)
    cleaned = clean_rendition_text(text)
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    check_version(bulletin, expected_version, {"language": language, "text": text})
    rendition = find(bulletin, language)
    if rendition is None:
        rendition = Rendition(language=language, text=cleaned, updated_by_id=principal.user_id)
        bulletin.renditions.append(rendition)
    elif rendition.text != cleaned:
        rendition.text = cleaned
        rendition.updated_by_id, rendition.updated_at = principal.user_id, utcnow()
        if rendition.audio_origin is AudioOrigin.TTS:
            # The synthetic audio no longer says what the text says.
            rendition.audio_sha256 = rendition.audio_origin = rendition.audio_duration_ms = None
    session.flush()
    content_changed(
        session,
        principal=principal,
        bulletin=bulletin,
        note=f"Bản {LANGUAGES[language].label}",
        unsaved={"language": language, "text": text},
    )
    record(
        session,
        action="bulletin.rendition_save",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"language": language, "chars": len(cleaned)},
    )
    return rendition


def attach_recording(
    session: Session,
    *,
    principal: Principal,
    bulletin_id: int,
    language: str,
    audio_sha256: str,
    duration_ms: int,
    origin: AudioOrigin = AudioOrigin.UPLOAD,
) -> Rendition:
    """Attach a person's recording (already validated and stored by the speech service)."""
    if origin is AudioOrigin.TTS:
        raise InvalidInput("Âm thanh giọng đọc máy được gắn qua tác vụ tổng hợp.")
    language = check_language(language)
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    rendition = _rendition_of(bulletin, language)
    rendition.audio_sha256, rendition.audio_origin = audio_sha256, origin
    rendition.audio_duration_ms, rendition.tts_job_id = duration_ms, None
    details = {"sha256": audio_sha256, "origin": origin.value, "duration_ms": duration_ms}
    return _audio_changed(session, principal, bulletin, rendition, details)


def _rendition_of(bulletin: Bulletin, language: str) -> Rendition:
    """The bulletin's rendition in ``language``, added empty when it has none yet."""
    rendition = find(bulletin, language)
    if rendition is None:
        rendition = Rendition(language=language, text="")
        bulletin.renditions.append(rendition)
    return rendition


def _audio_changed(
    session: Session,
    principal: Principal,
    bulletin: Bulletin,
    rendition: Rendition,
    details: Mapping[str, object],
) -> Rendition:
    """New audio (attached, or being levelled) is new content: the edit counts and is audited."""
    rendition.updated_by_id, rendition.updated_at = principal.user_id, utcnow()
    session.flush()
    label = LANGUAGES[rendition.language].label
    content_changed(session, principal=principal, bulletin=bulletin, note=f"Âm thanh {label}")
    record(
        session,
        action="bulletin.rendition_audio",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"language": rendition.language, **details},
    )
    return rendition


def mark_tts_started(
    session: Session, *, principal: Principal, bulletin: Bulletin, language: str, job_id: str
) -> Rendition:
    rendition = find(bulletin, language)
    if rendition is None:
        rendition = Rendition(language=language, text="", updated_by_id=principal.user_id)
        bulletin.renditions.append(rendition)
    rendition.tts_job_id = job_id
    session.flush()
    if current_revision(session, bulletin).sealed_at is not None:
        # New speech of approved text is new content: it may say other words (issue 20, point 1).
        content_changed(
            session, principal=principal, bulletin=bulletin, note=f"Giọng đọc {LANGUAGES[language].label}"
        )
    record(
        session,
        action="bulletin.tts_request",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"language": language, "job_id": job_id},
    )
    return rendition


def recording_started(
    session: Session,
    *,
    principal: Principal,
    bulletin: Bulletin,
    language: str,
    job_id: str,
    source_sha256: str,
    origin: AudioOrigin,
) -> Rendition:
    """A person's recording was kept and is being levelled on the job worker. It is new content, so
    the edit counts now (as ``attach_recording`` would); the levelled file attaches when the job
    finishes (``audio_finished``), like synthetic speech."""
    rendition = _rendition_of(bulletin, language)
    rendition.tts_job_id = job_id
    details = {"source_sha256": source_sha256, "origin": origin.value, "job_id": job_id}
    _audio_changed(session, principal, bulletin, rendition, details)
    return rendition


def audio_finished(
    session: Session,
    *,
    bulletin_id: int,
    language: str,
    job_id: str,
    audio_sha256: str,
    duration_ms: int,
    origin: AudioOrigin = AudioOrigin.TTS,
) -> bool:
    """Attach the result of a speech job (synthetic speech, or a recording levelled for broadcast)
    when the job is still the one the rendition waits for (a newer request or an edit of the text
    makes an older job's result stale). Returns whether attached.

    This is the one place where a job's audio attaches to a bulletin (called by the listener in
    ``content.audio``); the review state is not changed here: the request already counted as an edit
    (``recording_started``, ``mark_tts_started``). A revision submitted meanwhile is sealed: the result
    is not attached, so what is reviewed and approved is what was submitted."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound("Không tìm thấy bản tin.")
    rendition = find(bulletin, language)
    if rendition is None or rendition.tts_job_id != job_id:
        return False
    revision = current_revision(session, bulletin)
    if revision.sealed_at is not None:
        log.info(
            "bulletin %s revision %s is sealed; audio of job %s not attached",
            bulletin.id,
            revision.number,
            job_id,
        )
        return False
    rendition.audio_sha256, rendition.audio_origin = audio_sha256, origin
    rendition.audio_duration_ms, rendition.updated_at = duration_ms, utcnow()
    session.flush()
    mark_changed(session, "bulletin", bulletin.id)
    session.refresh(bulletin, attribute_names=["renditions"])
    revision.snapshot = snapshot(bulletin)
    return True

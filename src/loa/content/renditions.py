"""Language renditions of a bulletin: the text to read in each language and its audio.

A human recording (upload or browser recording) is new content and goes through review like any
edit; synthetic speech made from text already in the revision is derived, so finishing a TTS job
attaches its audio without reopening review.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.content.catalog import DEFAULT_LANGUAGE, LANGUAGES, AudioOrigin
from loa.content.logic import check_language, clean_rendition_text
from loa.content.models import Bulletin, Rendition
from loa.content.service import check_version, content_changed, current_revision, get_bulletin, snapshot
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import InvalidInput, NotFound


def find(bulletin: Bulletin, language: str) -> Rendition | None:
    return next((r for r in bulletin.renditions if r.language == language), None)


def reading_text(bulletin: Bulletin, language: str) -> str:
    """What a voice reads: the rendition's text; for Vietnamese without one, title then body."""
    rendition = find(bulletin, language)
    if rendition is not None and rendition.text.strip():
        return rendition.text
    if language == DEFAULT_LANGUAGE:
        return f"{bulletin.title}.\n{bulletin.body_text}".strip()
    return ""


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
    rendition = find(bulletin, language)
    if rendition is None:
        rendition = Rendition(language=language, text="")
        bulletin.renditions.append(rendition)
    rendition.audio_sha256, rendition.audio_origin = audio_sha256, origin
    rendition.audio_duration_ms, rendition.tts_job_id = duration_ms, None
    rendition.updated_by_id, rendition.updated_at = principal.user_id, utcnow()
    session.flush()
    content_changed(
        session, principal=principal, bulletin=bulletin, note=f"Âm thanh {LANGUAGES[language].label}"
    )
    record(
        session,
        action="bulletin.rendition_audio",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={
            "language": language,
            "sha256": audio_sha256,
            "origin": origin.value,
            "duration_ms": duration_ms,
        },
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
    rendition = find(bulletin, language)
    if rendition is None:
        rendition = Rendition(language=language, text="")
        bulletin.renditions.append(rendition)
    rendition.tts_job_id = job_id
    rendition.updated_by_id, rendition.updated_at = principal.user_id, utcnow()
    session.flush()
    content_changed(
        session, principal=principal, bulletin=bulletin, note=f"Âm thanh {LANGUAGES[language].label}"
    )
    record(
        session,
        action="bulletin.rendition_audio",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={
            "language": language,
            "source_sha256": source_sha256,
            "origin": origin.value,
            "job_id": job_id,
        },
    )
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
    ``content.audio``); the review state is not changed here: a recording already counted as an
    edit when it was uploaded, and synthetic speech is derived from text already reviewed."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound("Không tìm thấy bản tin.")
    rendition = find(bulletin, language)
    if rendition is None or rendition.tts_job_id != job_id:
        return False
    rendition.audio_sha256, rendition.audio_origin = audio_sha256, origin
    rendition.audio_duration_ms, rendition.updated_at = duration_ms, utcnow()
    session.flush()
    mark_changed(session, "bulletin", bulletin.id)
    revision = current_revision(session, bulletin)
    if revision.sealed_at is None:
        session.refresh(bulletin, attribute_names=["renditions"])
        revision.snapshot = snapshot(bulletin)
    return True

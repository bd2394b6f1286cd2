"""What a voice says for a bulletin, in words: sealed with the revision submitted for approval.

The text alone does not say what a loudspeaker will air: the area's abbreviation readings
(``loa.speech.overrides``) decide how "UBND" is read, and they may change after approval. So a revision
carries, when it is submitted, the normalised reading of each language a voice can read: for synthetic
audio already made, the words that audio says (recorded by its speech job); otherwise the words the
text gives with the readings in force at that moment. A later change of the readings alters neither
the sealed words nor the sealed audio: new speech is a new revision that needs approval.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from loa.content.catalog import DEFAULT_LANGUAGE, LANGUAGES, AudioOrigin
from loa.content.models import Bulletin, Rendition
from loa.errors import InvalidInput
from loa.speech.models import SpeechJob
from loa.speech.overrides import effective_overrides
from loa.speech.render import prepare_text


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


def _spoken(session: Session, rendition: Rendition | None) -> str | None:
    """The words synthetic audio on the rendition says (as its job recorded them), if any."""
    if rendition is None or rendition.audio_origin is not AudioOrigin.TTS or not rendition.tts_job_id:
        return None
    job = session.get(SpeechJob, rendition.tts_job_id)
    return job.reading if job is not None and job.result_sha256 == rendition.audio_sha256 else None


def sealed_readings(session: Session, bulletin: Bulletin) -> dict[str, str]:
    """Language → the words its voice says (a person's recording has none: it is heard, not read)."""
    overrides = effective_overrides(session, bulletin.area_id)
    languages = {DEFAULT_LANGUAGE, *(r.language for r in bulletin.renditions)}
    out: dict[str, str] = {}
    for language in sorted(languages):
        rendition = find(bulletin, language)
        spoken = _spoken(session, rendition)
        if spoken is not None:
            out[language] = spoken
            continue
        if rendition is not None and rendition.audio_sha256:
            continue  # a recording
        info = LANGUAGES.get(language)
        text = reading_text(bulletin, language)
        if info is None or not info.tts or not text.strip():
            continue
        try:
            out[language] = prepare_text(text, overrides).text
        except InvalidInput:
            continue  # nothing a voice could read: there is nothing to seal
    return out

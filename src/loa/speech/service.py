"""Speech use cases: make audio from text or an upload and record it. Functions take the session
first and never commit (the caller owns the transaction). Files are written to the store *before*
the row is added: a failed transaction can leave an unreferenced file (harmless, content-addressed),
never a row pointing at a missing or half-written file."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.errors import NotFound
from loa.speech.audio.decode import MAX_AUDIO_DURATION_S, decode
from loa.speech.audio.encode import PROFILES, AudioFormat
from loa.speech.audio.pcm import Pcm
from loa.speech.audio.pipeline import WORK_SAMPLE_RATE
from loa.speech.engines.base import VoiceInfo
from loa.speech.engines.registry import EngineRegistry
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.speech.normalize import Segment
from loa.speech.render import (
    ProgressCallback,
    RenderedAudio,
    check_rate,
    prepare_text,
    render_speech,
    speakable_segments,
    tts_source_key,
)
from loa.speech.store import AudioStore, is_sha256

log = logging.getLogger(__name__)

JOB_FORMATS: tuple[AudioFormat, ...] = (AudioFormat.MP3, AudioFormat.OPUS)
ASSET_NOT_FOUND = "Không tìm thấy tệp âm thanh."


def upload_too_large_message(max_bytes: int) -> str:
    return f"Tệp tải lên quá lớn (tối đa {max_bytes // (1024 * 1024)} MB)."


@dataclass(frozen=True)
class SpeechContext:
    """The ports speech use cases need (built once by the entry point)."""

    registry: EngineRegistry
    store: AudioStore
    max_upload_bytes: int
    max_upload_duration_s: float = MAX_AUDIO_DURATION_S


def get_asset(session: Session, sha256: str) -> AudioAsset:
    asset = None
    if is_sha256(sha256):
        asset = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == sha256))
    if asset is None:
        raise NotFound(ASSET_NOT_FOUND)
    return asset


def renditions_of(session: Session, asset: AudioAsset) -> list[AudioAsset]:
    return list(session.scalars(select(AudioAsset).where(AudioAsset.rendition_of_id == asset.id)))


def find_cached(session: Session, store: AudioStore, source_sha256: str) -> AudioAsset | None:
    """A primary asset already made from the same input, still present in the store."""
    rows = session.scalars(
        select(AudioAsset)
        .where(AudioAsset.source_sha256 == source_sha256, AudioAsset.rendition_of_id.is_(None))
        .order_by(AudioAsset.id.desc())
    )
    for asset in rows:
        if store.exists(asset.sha256, PROFILES[AudioFormat(asset.format)].extension):
            return asset
    return None


def store_rendered(
    session: Session,
    *,
    store: AudioStore,
    rendered: RenderedAudio,
    source_kind: AudioSourceKind,
    source_sha256: str | None,
    voice: str | None = None,
    original_filename: str | None = None,
    created_by_id: int | None = None,
    title: str | None = None,
) -> AudioAsset:
    """Write every rendition to the store, then add (or reuse) their rows. Returns the primary."""
    primary: AudioAsset | None = None
    for rendition in rendered.renditions:
        encoded = rendition.encoded
        stored = store.put(encoded.data, encoded.profile.extension)
        asset = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == stored.sha256))
        if asset is None:
            measured = rendition.measurement
            asset = AudioAsset(
                sha256=stored.sha256,
                format=encoded.format.value,
                size_bytes=stored.size_bytes,
                duration_ms=encoded.duration_ms,
                loudness_lufs=measured.loudness_lufs,
                true_peak_dbtp=measured.true_peak_dbtp,
                sample_rate=encoded.sample_rate,
                source_kind=source_kind,
                source_sha256=source_sha256,
                voice=voice,
                original_filename=original_filename,
                title=title,
                rendition_of_id=None if primary is None else primary.id,
                created_by_id=created_by_id,
            )
            session.add(asset)
            session.flush()
        elif title and not asset.title:
            asset.title = title
        if primary is None:
            primary = asset
    assert primary is not None
    return primary


def load_jingle(session: Session, store: AudioStore, sha256: str | None) -> Pcm | None:
    if not sha256:
        return None
    asset = get_asset(session, sha256)
    with store.open(asset.sha256, PROFILES[AudioFormat(asset.format)].extension) as handle:
        return decode(handle.read(), sample_rate=WORK_SAMPLE_RATE)


@dataclass(frozen=True)
class SynthesisPlan:
    """Everything a TTS render needs, read from the database beforehand, so the (long) render runs
    without holding a transaction open."""

    voice: VoiceInfo
    rate: float
    segments: list[Segment]
    reading: str
    source_key: str
    formats: tuple[AudioFormat, ...]
    intro: Pcm | None
    outro: Pcm | None
    cached: AudioAsset | None


def plan_synthesis(
    session: Session,
    *,
    context: SpeechContext,
    text: str,
    voice: str | None = None,
    rate: float = 1.0,
    formats: Sequence[AudioFormat] = (AudioFormat.MP3,),
    intro_sha256: str | None = None,
    outro_sha256: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> SynthesisPlan:
    info = context.registry.resolve(voice)
    check_rate(rate)
    normalized = prepare_text(text, overrides)
    source_key = tts_source_key(normalized.text, info, rate, intro_sha256, outro_sha256)
    cached = find_cached(session, context.store, source_key)
    if cached is not None and has_formats(session, cached, formats):
        return SynthesisPlan(info, rate, [], normalized.text, source_key, tuple(formats), None, None, cached)
    return SynthesisPlan(
        voice=info,
        rate=rate,
        segments=speakable_segments(normalized),
        reading=normalized.text,
        source_key=source_key,
        formats=tuple(formats),
        intro=load_jingle(session, context.store, intro_sha256),
        outro=load_jingle(session, context.store, outro_sha256),
        cached=None,
    )


def render_plan(
    context: SpeechContext, plan: SynthesisPlan, on_progress: ProgressCallback | None = None
) -> RenderedAudio:
    return render_speech(
        context.registry,
        plan.segments,
        voice=plan.voice,
        rate=plan.rate,
        formats=plan.formats,
        intro=plan.intro,
        outro=plan.outro,
        on_progress=on_progress,
    )


def store_plan_result(
    session: Session,
    *,
    context: SpeechContext,
    plan: SynthesisPlan,
    rendered: RenderedAudio,
    created_by_id: int | None = None,
    title: str | None = None,
) -> AudioAsset:
    return store_rendered(
        session,
        store=context.store,
        rendered=rendered,
        source_kind=AudioSourceKind.TTS,
        source_sha256=plan.source_key,
        voice=plan.voice.id,
        created_by_id=created_by_id,
        title=title,
    )


def synthesize(
    session: Session,
    *,
    context: SpeechContext,
    text: str,
    voice: str | None = None,
    rate: float = 1.0,
    formats: Sequence[AudioFormat] = (AudioFormat.MP3,),
    intro_sha256: str | None = None,
    outro_sha256: str | None = None,
    created_by_id: int | None = None,
    on_progress: ProgressCallback | None = None,
    overrides: Mapping[str, str] | None = None,
) -> AudioAsset:
    """The whole chain in one call: normalise → synthesise → pipeline → encode → store. Identical
    requests reuse the stored result."""
    plan = plan_synthesis(
        session,
        context=context,
        text=text,
        voice=voice,
        rate=rate,
        formats=formats,
        intro_sha256=intro_sha256,
        outro_sha256=outro_sha256,
        overrides=overrides,
    )
    if plan.cached is not None:
        if on_progress is not None:
            on_progress(100)
        return plan.cached
    rendered = render_plan(context, plan, on_progress)
    return store_plan_result(
        session, context=context, plan=plan, rendered=rendered, created_by_id=created_by_id
    )


def has_formats(session: Session, asset: AudioAsset, formats: Sequence[AudioFormat]) -> bool:
    present = {asset.format} | {r.format for r in renditions_of(session, asset)}
    return all(f.value in present for f in formats)


def list_voices(context: SpeechContext) -> list[VoiceInfo]:
    return context.registry.voices()

"""Recordings people upload: checked in the request, levelled on the job worker.

The request does only what is cheap and bounded: the size limit, a look at the container (audio, not
a video; its declared duration under ``max_upload_duration_s``), and keeping the original file in the
store. Decoding, measuring and encoding run later on the job worker as a stream
(``audio.stream``), so neither the web process nor its memory is held by a long file; the job's
``on_job_done`` listeners attach the result as they do for speech.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.db.base import utcnow
from loa.errors import InvalidInput, PayloadTooLarge
from loa.speech.audio.decode import NOT_AUDIO_MESSAGE, _riff_truncated, probe_duration_s, too_long_message
from loa.speech.audio.encode import AudioFormat
from loa.speech.audio.stream import level_recording_stream
from loa.speech.models import AudioAsset, AudioSourceKind, JobKind, JobStatus, SpeechJob
from loa.speech.render import ProgressCallback, RenderedAudio, Rendition
from loa.speech.service import (
    JOB_FORMATS,
    SpeechContext,
    find_cached,
    has_formats,
    store_rendered,
    upload_too_large_message,
)

_SAFE_EXTENSION = re.compile(r"[a-z0-9]{1,8}")
ORIGINAL_FALLBACK_EXTENSION = "bin"


@dataclass(frozen=True)
class AcceptedUpload:
    """Either the asset already made from identical bytes, or the job that will make it."""

    asset: AudioAsset | None = None
    job: SpeechJob | None = None


def clean_filename(filename: str | None) -> str | None:
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or None


def original_extension(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    return suffix if _SAFE_EXTENSION.fullmatch(suffix) else ORIGINAL_FALLBACK_EXTENSION


def check_upload(data: bytes, *, max_bytes: int, max_duration_s: float) -> float | None:
    """Everything checked before any decoding: size, container (audio, not video), declared
    duration. Returns the declared duration in seconds (None when the file declares none: the
    decoder then stops at the limit)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(upload_too_large_message(max_bytes))
    if not data or _riff_truncated(data):
        raise InvalidInput(NOT_AUDIO_MESSAGE, code="not_audio")
    declared = probe_duration_s(data)
    if declared is not None and declared > max_duration_s:
        raise InvalidInput(too_long_message(max_duration_s), code="audio_too_long")
    return declared


def accept_upload(
    session: Session,
    *,
    context: SpeechContext,
    data: bytes,
    filename: str | None = None,
    title: str | None = None,
    subject: str | None = None,
    created_by_id: int | None = None,
) -> AcceptedUpload:
    """Check an upload, keep the original in the store and queue the job that levels it. The caller
    commits, then submits ``job.id`` to the runner."""
    check_upload(data, max_bytes=context.max_upload_bytes, max_duration_s=context.max_upload_duration_s)
    source_key = hashlib.sha256(data).hexdigest()
    cached = find_cached(session, context.store, source_key)
    if cached is not None and has_formats(session, cached, JOB_FORMATS) and subject is None:
        if created_by_id is not None:
            # Recorded as this person's finished upload: the file may have been someone else's first,
            # and audio reaches a person through what they made or asked for (issue 20, point 8).
            session.add(
                SpeechJob(
                    kind=JobKind.UPLOAD,
                    status=JobStatus.DONE,
                    progress=100,
                    text="",
                    voice="",
                    source_sha256=source_key,
                    source_name=clean_filename(filename),
                    title=(title or "").strip()[:255] or None,
                    created_by_id=created_by_id,
                    result_asset_id=cached.id,
                    result_sha256=cached.sha256,
                    finished_at=utcnow(),
                )
            )
            session.flush()
        return AcceptedUpload(asset=cached)
    name = clean_filename(filename)
    stored = context.store.put(data, original_extension(name))
    job = SpeechJob(
        kind=JobKind.UPLOAD,
        status=JobStatus.QUEUED,
        progress=0,
        text="",
        voice="",
        source_sha256=stored.sha256,
        source_name=name,
        title=(title or "").strip()[:255] or None,
        subject=subject,
        created_by_id=created_by_id,
    )
    session.add(job)
    session.flush()
    record(
        session,
        action="speech.upload",
        actor_user_id=created_by_id,
        actor_name=None if created_by_id is not None else "",
        target_type="speech_job",
        target_id=job.id,
        details={"title": job.title or name or "", "job_id": job.id},
    )
    return AcceptedUpload(job=job)


def render_stored_upload(
    context: SpeechContext,
    *,
    source_sha256: str,
    source_name: str | None,
    formats: Sequence[AudioFormat] = JOB_FORMATS,
    on_progress: ProgressCallback | None = None,
) -> RenderedAudio:
    """Level the kept original (no database here: the worker holds no transaction meanwhile)."""
    extension = original_extension(source_name)
    path = context.store.local_path(source_sha256, extension)
    temp_dir = getattr(context.store, "temp_dir", None)
    if path is not None:
        return _render(context, path, formats, temp_dir, on_progress)
    with tempfile.NamedTemporaryFile(dir=temp_dir, suffix="." + extension) as copy:
        with context.store.open(source_sha256, extension) as original:
            while chunk := original.read(1 << 20):
                copy.write(chunk)
        copy.flush()
        return _render(context, Path(copy.name), formats, temp_dir, on_progress)


def _render(
    context: SpeechContext,
    path: Path,
    formats: Sequence[AudioFormat],
    temp_dir: Path | None,
    on_progress: ProgressCallback | None,
) -> RenderedAudio:
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    results = level_recording_stream(
        path,
        formats=formats,
        max_duration_s=context.max_upload_duration_s,
        temp_dir=temp_dir,
        on_progress=on_progress,
    )
    return RenderedAudio([Rendition(encoded, measured) for encoded, measured in results])


def store_upload_result(
    session: Session,
    *,
    context: SpeechContext,
    rendered: RenderedAudio,
    source_sha256: str,
    source_name: str | None,
    title: str | None,
    created_by_id: int | None,
) -> AudioAsset:
    return store_rendered(
        session,
        store=context.store,
        rendered=rendered,
        source_kind=AudioSourceKind.UPLOAD,
        source_sha256=source_sha256,
        original_filename=source_name,
        created_by_id=created_by_id,
        title=title,
    )

"""Tables of the speech domain: stored audio files (``audio_assets``), background jobs (``speech_jobs``:
text to speech, uploads levelled for broadcast), each area's abbreviation readings
(``speech_overrides``) and its remembered voice (``speech_voice_choices``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


class AudioSourceKind(StrEnum):
    TTS = "tts"
    UPLOAD = "upload"


class JobKind(StrEnum):
    TTS = "tts"  # text → speech
    UPLOAD = "upload"  # a recording → levelled for broadcast (the original is kept in the store)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JOB_STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.QUEUED: "Đang chờ",
    JobStatus.RUNNING: "Đang tạo âm thanh",
    JobStatus.DONE: "Đã xong",
    JobStatus.FAILED: "Không thành công",
}


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return str_enum(cls, name, length=16)


def new_job_id() -> str:
    return uuid.uuid4().hex


class AudioAsset(Base):
    """One encoded audio file in the content-addressed store (key: SHA-256 of its bytes).

    Loudness and true peak are measured (ITU-R BS.1770) on the programme as encoded: for MP3 on the
    PCM handed to the encoder (the tests check the decoded MP3 agrees within 0.1 LU), for Opus on the
    decoded file. ``rendition_of_id`` links e.g. the Opus copy to the MP3 it was made with.
    ``source_sha256`` identifies the input (uploaded bytes, or text + voice + settings for TTS), so
    the same input is not processed twice."""

    __tablename__ = "audio_assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    loudness_lufs: Mapped[float] = mapped_column(Float)
    true_peak_dbtp: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer)
    source_kind: Mapped[AudioSourceKind] = mapped_column(_enum(AudioSourceKind, "audio_source_kind"))
    source_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    voice: Mapped[str | None] = mapped_column(String(120))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    # The name shown wherever the file is listed (a bulletin's title, or one the person typed).
    title: Mapped[str | None] = mapped_column(String(255))
    rendition_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("audio_assets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)


# The change (``loa.db.changes``) announced when a job ends, done or failed; its key is the job id.
JOB_FINISHED = "speech_job"


class SpeechJob(Base):
    """A text-to-speech request processed in the background. ``id`` is an opaque random string (it
    appears in URLs). ``subject`` says what the audio is for (e.g. ``bulletin:12:vi``) so the owning
    domain can attach the result when the job ends (``JOB_FINISHED``, announced by ``loa.speech.jobs``)."""

    __tablename__ = "speech_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_job_id)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "speech_job_status"), index=True)
    kind: Mapped[JobKind] = mapped_column(
        _enum(JobKind, "speech_job_kind"), default=JobKind.TTS, server_default=JobKind.TTS.value
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    voice: Mapped[str] = mapped_column(String(120))
    rate: Mapped[float] = mapped_column(Float, default=1.0)
    intro_sha256: Mapped[str | None] = mapped_column(String(64))
    outro_sha256: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(120), index=True)
    # Upload jobs: the original file in the store (its SHA-256 and the name it was uploaded with).
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    # The area whose abbreviation readings apply (merged along its path when the job runs).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id", ondelete="SET NULL"))
    # What the voice was given to say (the normalised text), recorded when the job finishes.
    reading: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(String(500))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    result_asset_id: Mapped[int | None] = mapped_column(ForeignKey("audio_assets.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @property
    def status_label(self) -> str:
        return JOB_STATUS_LABELS[self.status]


class SpeechOverrides(Base):
    """One area's abbreviation readings ("từ điển viết tắt của địa bàn"): ``text`` holds one
    ``VIẾT TẮT = cách đọc`` per line, exactly as its editors wrote it (comments included). The
    readings that apply to a bulletin are those of every area on its path, the nearer area winning
    (see ``loa.speech.overrides``). ``version`` grows with each save (optimistic concurrency)."""

    __tablename__ = "speech_overrides"

    area_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class VoiceChoice(Base):
    """The voice and rate an area's editors last chose for synthetic speech; the next bulletin of the
    area starts from it (before any choice: the voice of the province's region)."""

    __tablename__ = "speech_voice_choices"

    area_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), primary_key=True)
    voice: Mapped[str] = mapped_column(String(120))
    rate: Mapped[float] = mapped_column(Float, default=1.0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

"""A citizen's photo or voice note: checked before anything is kept, then stored content-addressed.

A photo goes through ``loa.content.images.check_photo`` (JPEG, PNG or WebP only, decoded in full with
a pixel limit, HTML polyglots refused). A voice note must decode as audio (``loa.speech.audio``, any
format a phone records: AMR, M4A, OGG/Opus, WebM, MP3, WAV) and last no longer than the limit; it is
kept as sent (it is evidence, not broadcast). Both have a size limit checked before decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loa.content.images import check_photo
from loa.content.photos import PhotoStore
from loa.errors import InvalidInput, PayloadTooLarge
from loa.vocab.numbers import number_text

# The types a voice note is served back with (an officer's browser plays it); anything else is sent
# as the most common one: a browser sniffs audio, it never runs it.
VOICE_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/webm",
        "audio/wav",
        "audio/x-wav",
        "audio/amr",
    }
)
DEFAULT_VOICE_TYPE = "audio/mpeg"


@dataclass(frozen=True)
class Stored:
    sha256: str
    content_type: str
    duration_ms: int | None = None


@dataclass(frozen=True)
class Attachments:
    photo: Stored | None = None
    voice: Stored | None = None


@dataclass(frozen=True)
class MediaLimits:
    photo_bytes: int
    voice_bytes: int
    voice_s: int


def store_for(data_dir: Path) -> PhotoStore:
    """Files under ``data_dir/feedback-media``, named by their SHA-256 (never served publicly)."""
    return PhotoStore(data_dir / "feedback-media")


def size_words(limit: int) -> str:
    """'5 MB', '1,5 MB', '300 KB' (Vietnamese decimal comma)."""
    if limit >= 1024 * 1024:
        return f"{number_text(limit / (1024 * 1024), 1, trim=True)} MB"
    return f"{number_text(limit / 1024)} KB"


def check_photo_upload(data: bytes, limits: MediaLimits) -> str:
    """The photo's content type, or a refusal in Vietnamese."""
    if len(data) > limits.photo_bytes:
        raise PayloadTooLarge(
            f"Ảnh quá lớn (tối đa {size_words(limits.photo_bytes)}). Vui lòng chụp lại ở cỡ nhỏ hơn.",
            code="feedback_photo_too_large",
        )
    return check_photo(data).content_type


def check_voice_upload(data: bytes, declared_type: str, limits: MediaLimits) -> tuple[str, int]:
    """(content type to serve it with, duration in ms), or a refusal in Vietnamese."""
    if len(data) > limits.voice_bytes:
        raise PayloadTooLarge(
            f"Ghi âm quá lớn (tối đa {size_words(limits.voice_bytes)}).", code="feedback_voice_too_large"
        )
    from loa.speech.audio.decode import decode  # PyAV: paid only when a voice note arrives

    try:
        pcm = decode(data, sample_rate=8000, max_duration_s=limits.voice_s)
    except InvalidInput as err:
        if err.code == "audio_too_long":
            raise InvalidInput(
                f"Ghi âm dài quá {limits.voice_s} giây. Vui lòng nói ngắn gọn hơn.",
                code="feedback_voice_too_long",
            ) from err
        raise InvalidInput(
            "Tệp ghi âm không đọc được: hãy ghi âm lại hoặc chọn tệp khác.", code="feedback_voice_bad"
        ) from err
    kind = declared_type.split(";", 1)[0].strip().lower()
    return (kind if kind in VOICE_TYPES else DEFAULT_VOICE_TYPE), int(pcm.duration_s * 1000)


def keep(store: PhotoStore, data: bytes, content_type: str, duration_ms: int | None = None) -> Stored:
    return Stored(store.put(data), content_type, duration_ms)

"""The one interface every text-to-speech engine implements (eSpeak NG, Piper, cloud engines later)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from loa.errors import LoaError
from loa.speech.audio.pcm import Pcm


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


class Region(StrEnum):
    """Vietnamese accent of a voice."""

    NORTH = "north"
    CENTRAL = "central"
    SOUTH = "south"
    UNKNOWN = "unknown"


GENDER_LABELS: dict[Gender, str] = {
    Gender.MALE: "Nam",
    Gender.FEMALE: "Nữ",
    Gender.UNKNOWN: "Không rõ",
}
REGION_LABELS: dict[Region, str] = {
    Region.NORTH: "Giọng miền Bắc",
    Region.CENTRAL: "Giọng miền Trung",
    Region.SOUTH: "Giọng miền Nam",
    Region.UNKNOWN: "Không rõ vùng miền",
}


@dataclass(frozen=True)
class VoiceInfo:
    """One voice. ``id`` is unique across engines (``engine:name``); ``default_rate`` is words
    (Vietnamese: syllables) per minute at rate factor 1.0."""

    id: str
    name: str
    language: str
    gender: Gender
    region: Region
    engine: str
    default_rate: int

    @property
    def gender_label(self) -> str:
        return GENDER_LABELS[self.gender]

    @property
    def region_label(self) -> str:
        return REGION_LABELS[self.region]


# Bounds for the rate factor (1.0 = the voice's default): slower helps the elderly and noisy
# outdoor places; faster than 1.5x is unintelligible over a horn loudspeaker.
MIN_RATE = 0.5
MAX_RATE = 1.5


@runtime_checkable
class TtsEngine(Protocol):
    """A speech engine. ``synthesize`` is called from worker threads; engines serialise internally
    if their library is not thread-safe."""

    name: str

    def voices(self) -> list[VoiceInfo]: ...

    def synthesize(self, text: str, *, voice: str, rate: float = 1.0, pitch: float | None = None) -> Pcm:
        """Speak ``text`` (already normalised) with ``voice`` (an id from ``voices()``). ``rate`` is a
        factor of the voice's default rate; ``pitch`` a factor of its default pitch (None: default;
        engines that cannot change pitch ignore it)."""
        ...


class EngineUnavailable(LoaError):
    """The engine's library or voice files cannot be loaded: a configuration problem of the server."""

    default_code = "tts_unavailable"
    default_message = "Bộ đọc văn bản chưa sẵn sàng. Vui lòng báo quản trị viên kiểm tra cấu hình giọng đọc."

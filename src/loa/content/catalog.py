"""The fixed vocabularies of bulletins, as data: kinds, priorities, statuses, sources, languages.

Each variant carries its Vietnamese label (and colour or rank where behaviour depends on it), so
templates, API validation and reports read the same table instead of branching on values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BulletinKind(StrEnum):
    NEWS = "news"
    ARTICLE = "article"
    REPORTAGE = "reportage"
    ANNOUNCEMENT = "announcement"
    SEGMENT = "segment"


class Priority(StrEnum):
    """The three regulated priorities (thông thường < ưu tiên < khẩn cấp)."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class SourceKind(StrEnum):
    OWN = "own"
    FORWARDED = "forwarded"


class AudioOrigin(StrEnum):
    TTS = "tts"
    UPLOAD = "upload"
    RECORDING = "recording"


@dataclass(frozen=True)
class Label:
    label: str
    colour: str = "grey"


@dataclass(frozen=True)
class PriorityInfo:
    label: str
    colour: str
    rank: int  # the one numeric scale shared with scheduling: higher pre-empts lower


KINDS: dict[BulletinKind, Label] = {
    BulletinKind.NEWS: Label("Tin"),
    BulletinKind.ARTICLE: Label("Bài"),
    BulletinKind.REPORTAGE: Label("Phóng sự"),
    BulletinKind.ANNOUNCEMENT: Label("Thông báo"),
    BulletinKind.SEGMENT: Label("Chuyên mục"),
}

PRIORITIES: dict[Priority, PriorityInfo] = {
    Priority.NORMAL: PriorityInfo("Thông thường", "grey", 10),
    Priority.PRIORITY: PriorityInfo("Ưu tiên", "orange", 20),
    Priority.EMERGENCY: PriorityInfo("Khẩn cấp", "red", 30),
}

STATUSES: dict[Status, Label] = {
    Status.DRAFT: Label("Bản nháp", "grey"),
    Status.SUBMITTED: Label("Chờ duyệt", "blue"),
    Status.RETURNED: Label("Bị trả lại", "orange"),
    Status.APPROVED: Label("Đã duyệt", "green"),
    Status.PUBLISHED: Label("Đã phát hành", "teal"),
    Status.ARCHIVED: Label("Lưu trữ", "grey"),
}

SOURCES: dict[SourceKind, Label] = {
    SourceKind.OWN: Label("Tự sản xuất"),
    SourceKind.FORWARDED: Label("Tiếp nhận từ cấp trên"),
}

AUDIO_ORIGINS: dict[AudioOrigin, Label] = {
    AudioOrigin.TTS: Label("Giọng đọc máy"),
    AudioOrigin.UPLOAD: Label("Tệp tải lên"),
    AudioOrigin.RECORDING: Label("Thu âm trên trình duyệt"),
}


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47 (ISO 639-1, else 639-3, else private use); stable, used in URLs
    label: str
    tts: bool = False  # whether a synthetic voice exists for it


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("vi", "Tiếng Việt", tts=True),
        Language("hre", "Tiếng Hrê"),
        Language("cua", "Tiếng Cor"),
        Language("sed-x-cadong", "Tiếng Ca Dong"),
        Language("sed", "Tiếng Xơ Đăng"),
        Language("bdq", "Tiếng Ba Na"),
        Language("rad", "Tiếng Ê Đê"),
        Language("jra", "Tiếng Gia Rai"),
        Language("km", "Tiếng Khmer"),
        Language("hmn", "Tiếng Mông"),
        Language("tai", "Tiếng Thái"),
        Language("tyz", "Tiếng Tày"),
        Language("kpm", "Tiếng Cơ Ho"),
        Language("cjm", "Tiếng Chăm"),
    )
}

DEFAULT_LANGUAGE = "vi"


def language_label(code: str) -> str:
    lang = LANGUAGES.get(code)
    return lang.label if lang else code

"""Kinds of each register, as data: enum → Vietnamese label, unit word, aliases.

Aliases are compared after ``fold`` (lower case, no diacritics), so a CSV may say "Pa nô", "pano" or
"panel". Topics are ``loa.topics`` (their defaults are seeded by ``loa db upgrade``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from loa.vocab.text import fold


@dataclass(frozen=True)
class KindInfo:
    label: str  # shown in forms and sheets: "Pa nô"
    unit: str  # used after a count in prose: "08 pa nô"
    aliases: tuple[str, ...] = ()


class VisualKind(StrEnum):
    BANNER = "banner"
    FLAG = "flag"
    PANEL = "panel"
    BOARD = "board"


class PressKind(StrEnum):
    RADIO_REPORTAGE = "radio_reportage"
    TV_REPORTAGE = "tv_reportage"
    NEWS = "news"
    ARTICLE = "article"


class PortalKind(StrEnum):
    ARTICLE = "article"
    NEWS = "news"
    PHOTO = "photo"


class RadioKind(StrEnum):
    PROGRAMME = "programme"
    NEWS = "news"
    ARTICLE = "article"
    REPORTAGE = "reportage"


class EventKind(StrEnum):
    CONFERENCE = "conference"
    SEMINAR = "seminar"
    CONTEST = "contest"
    PERFORMANCE = "performance"
    RALLY = "rally"
    OTHER = "other"


VISUAL_KINDS: dict[StrEnum, KindInfo] = {
    VisualKind.BANNER: KindInfo("Băng rôn", "băng rôn", ("bang ron", "bangron", "banner", "bang-ron")),
    VisualKind.FLAG: KindInfo("Phướn", "phướn", ("phuon", "to phuon", "co phuon", "flag")),
    VisualKind.PANEL: KindInfo("Pa nô", "pa nô", ("pa no", "pano", "pa-no", "panel", "billboard", "hop")),
    VisualKind.BOARD: KindInfo("Bảng tin", "bảng tin", ("bang tin", "board", "bang thong tin")),
}
PRESS_KINDS: dict[StrEnum, KindInfo] = {
    PressKind.RADIO_REPORTAGE: KindInfo(
        "Phóng sự truyền thanh", "phóng sự truyền thanh", ("phong su truyen thanh", "phong su phat thanh")
    ),
    PressKind.TV_REPORTAGE: KindInfo(
        "Phóng sự truyền hình", "phóng sự truyền hình", ("phong su truyen hinh", "phong su tv")
    ),
    PressKind.NEWS: KindInfo("Tin", "tin", ("tin", "tin tuc", "news")),
    PressKind.ARTICLE: KindInfo("Bài", "bài", ("bai", "bai viet", "article")),
}
PORTAL_KINDS: dict[StrEnum, KindInfo] = {
    PortalKind.ARTICLE: KindInfo("Bài viết", "bài viết", ("bai viet", "bai", "article")),
    PortalKind.NEWS: KindInfo("Tin", "tin", ("tin", "tin tuc", "news")),
    PortalKind.PHOTO: KindInfo("Ảnh", "ảnh", ("anh", "hinh anh", "photo")),
}
RADIO_KINDS: dict[StrEnum, KindInfo] = {
    RadioKind.PROGRAMME: KindInfo("Chuyên mục", "chuyên mục", ("chuyen muc", "programme", "program")),
    RadioKind.NEWS: KindInfo("Tin", "tin", ("tin", "tin tuc", "news")),
    RadioKind.ARTICLE: KindInfo("Bài viết", "bài viết", ("bai viet", "bai", "article")),
    RadioKind.REPORTAGE: KindInfo("Phóng sự", "phóng sự", ("phong su", "reportage")),
}
EVENT_KINDS: dict[StrEnum, KindInfo] = {
    EventKind.CONFERENCE: KindInfo("Hội nghị", "hội nghị", ("hoi nghi", "conference")),
    EventKind.SEMINAR: KindInfo("Hội thảo, tọa đàm", "hội thảo, tọa đàm", ("hoi thao", "toa dam", "seminar")),
    EventKind.CONTEST: KindInfo("Hội thi", "hội thi", ("hoi thi", "cuoc thi", "contest")),
    EventKind.PERFORMANCE: KindInfo(
        "Buổi văn nghệ, sân khấu hóa",
        "buổi văn nghệ, sân khấu hóa",
        ("van nghe", "san khau hoa", "performance"),
    ),
    EventKind.RALLY: KindInfo(
        "Lễ mít tinh, diễu hành", "lễ mít tinh, diễu hành", ("mit tinh", "dieu hanh", "rally")
    ),
    EventKind.OTHER: KindInfo("Sự kiện khác", "sự kiện khác", ("khac", "su kien", "other")),
}


def match_kind(table: dict[StrEnum, KindInfo], text: str) -> StrEnum | None:
    """The kind named by a code, a label or an alias (case and diacritics ignored)."""
    wanted = fold(text)
    for kind, info in table.items():
        if wanted in (kind.value, fold(info.label), *info.aliases):
            return kind
    return None

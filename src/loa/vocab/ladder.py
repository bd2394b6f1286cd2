"""The priority ladder as data: one numeric scale, its Vietnamese labels and colours, and how the three
regulated bulletin priorities (thông thường < ưu tiên < khẩn cấp) sit on it.

    khẩn cấp (emergency alert) 900 > phát trực tiếp (live) 700 > bản tin ưu tiên 500
    > chương trình theo lịch (thông thường) 300 > nền / dự phòng 100 > im lặng 0

The numbers (``loa.protocol.priority``) travel to devices; labels and colours stay on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from loa.errors import InvalidInput
from loa.protocol.priority import PRIORITY_MAX, PRIORITY_MIN, PreemptRule, Priority

__all__ = [
    "BULLETIN_PRIORITIES",
    "LADDER",
    "PREEMPT_RULES",
    "BulletinPriority",
    "PreemptRule",
    "Priority",
    "Rung",
    "check_priority",
    "ladder_priority",
    "rung_of",
]


@dataclass(frozen=True)
class Rung:
    priority: Priority
    label: str  # Vietnamese
    colour: str
    default_preempt_rule: PreemptRule  # what its items do when something higher interrupts them
    description: str  # Vietnamese, for the help page


LADDER: MappingProxyType[Priority, Rung] = MappingProxyType(
    {
        Priority.EMERGENCY: Rung(
            Priority.EMERGENCY,
            "Khẩn cấp",
            "red",
            PreemptRule.RESTART,
            "Cảnh báo khẩn cấp (thiên tai, sự cố): phát ngay, ngắt mọi nội dung khác.",
        ),
        Priority.LIVE: Rung(
            Priority.LIVE,
            "Phát trực tiếp",
            "purple",
            PreemptRule.SKIP,
            "Phát trực tiếp từ micro của đài: ngắt chương trình theo lịch, nhường cảnh báo khẩn cấp.",
        ),
        Priority.PRIORITY_BULLETIN: Rung(
            Priority.PRIORITY_BULLETIN,
            "Ưu tiên",
            "orange",
            PreemptRule.RESTART,
            "Bản tin ưu tiên: phát đúng giờ, ngắt chương trình thông thường.",
        ),
        Priority.SCHEDULED: Rung(
            Priority.SCHEDULED,
            "Thông thường",
            "blue",
            PreemptRule.RESUME,
            "Chương trình, bản tin theo lịch phát thường lệ.",
        ),
        Priority.BACKGROUND: Rung(
            Priority.BACKGROUND,
            "Nền / dự phòng",
            "grey",
            PreemptRule.RESUME,
            "Nội dung nền (nhạc, tiếp sóng) lấp khoảng trống khi không có lịch.",
        ),
        Priority.SILENCE: Rung(Priority.SILENCE, "Im lặng", "light", PreemptRule.SKIP, "Không phát gì."),
    }
)


class BulletinPriority(StrEnum):
    """The three regulated priorities of a bulletin (same codes as ``loa.content.catalog.Priority``)."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class BulletinPriorityInfo:
    label: str
    colour: str
    priority: Priority  # its rung on the ladder


BULLETIN_PRIORITIES: MappingProxyType[BulletinPriority, BulletinPriorityInfo] = MappingProxyType(
    {
        BulletinPriority.NORMAL: BulletinPriorityInfo("Thông thường", "grey", Priority.SCHEDULED),
        BulletinPriority.PRIORITY: BulletinPriorityInfo("Ưu tiên", "orange", Priority.PRIORITY_BULLETIN),
        BulletinPriority.EMERGENCY: BulletinPriorityInfo("Khẩn cấp", "red", Priority.EMERGENCY),
    }
)

PREEMPT_RULES: MappingProxyType[PreemptRule, str] = MappingProxyType(
    {
        PreemptRule.RESUME: "Phát tiếp từ chỗ bị ngắt (nếu còn trong khung giờ)",
        PreemptRule.RESTART: "Phát lại từ đầu (nếu còn đủ thời gian trong khung giờ)",
        PreemptRule.SKIP: "Bỏ qua, không phát lại",
    }
)


def ladder_priority(bulletin_priority: str) -> Priority:
    """The rung of a bulletin priority code (``normal``/``priority``/``emergency``)."""
    try:
        return BULLETIN_PRIORITIES[BulletinPriority(bulletin_priority)].priority
    except ValueError as err:
        raise InvalidInput(
            "Mức ưu tiên không hợp lệ (thông thường, ưu tiên hoặc khẩn cấp).", code="priority_invalid"
        ) from err


def rung_of(priority: int) -> Rung:
    """The rung a numeric priority belongs to (the highest rung not above it)."""
    check_priority(priority)
    return next(rung for p, rung in LADDER.items() if p <= priority)


def check_priority(priority: int) -> int:
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidInput(
            f"Mức ưu tiên phải nằm trong khoảng {PRIORITY_MIN}–{PRIORITY_MAX}.", code="priority_invalid"
        )
    return priority

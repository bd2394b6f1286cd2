"""Tables of the broadcast schedule: programmes (chuyên mục) with their targets and recurrence,
materialised slots (one airing, only stored when it is overridden: moved, cancelled or given its own
running order), running-order lines, and one-off announcements.

Manifests are stored in the fleet's ``device_manifests`` table (``loa.fleet.models.DeviceManifest``),
which the gateway publishes from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return str_enum(cls, name, length=16)


class SlotStatus(StrEnum):
    SCHEDULED = "scheduled"
    MOVED = "moved"
    CANCELLED = "cancelled"


class ItemKind(StrEnum):
    BULLETIN = "bulletin"  # an approved/published bulletin, in the rendition of the target's language
    RECORDING = "recording"  # an audio asset (jingle, interview, relay recording)


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Programme(Base):
    """A regular programme. Times are local wall-clock (``timezone``); the recurrence is RFC 5545."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("activity_topics.id"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_organisation: Mapped[str] = mapped_column(String(200), default="")
    # The smallest unit holding every target: scope checks and listing.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    start_local: Mapped[datetime] = mapped_column(DateTime())  # naive, DTSTART in ``timezone``
    rrule: Mapped[str | None] = mapped_column(String(500))
    until_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    except_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    except_local: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO local datetimes
    extra_local: Mapped[list[str]] = mapped_column(JSON, default=list)
    skip_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    slot_duration_ms: Mapped[int] = mapped_column(Integer)
    # A campaign's cap: at most this many airings per day (the day counted from the start's time of
    # day, see ``Recurrence.max_per_day``); None: as many as the rule gives.
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=300)
    preempt_rule: Mapped[str] = mapped_column(String(16), default="resume")
    volume_percent: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class _TargetColumns:
    """Where something plays: ``kind`` (province, commune, village, station, group, device) and the id
    of the row it names; ``language`` is the rendition those listeners hear (e.g. ``hre``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(24), default="vi")


class ProgrammeTarget(_TargetColumns, Base):
    __tablename__ = "programme_targets"
    __table_args__ = (UniqueConstraint("programme_id", "kind", "ref_id"),)

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)


class Slot(Base):
    """One occurrence of a programme, stored only when overridden. ``occurrence_local`` is the
    recurrence instance it stands for (its key, like RECURRENCE-ID); ``moved_to_local`` its new time."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("programme_id", "occurrence_local"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    occurrence_local: Mapped[datetime] = mapped_column(DateTime())
    status: Mapped[SlotStatus] = mapped_column(_enum(SlotStatus, "slot_status"), default=SlotStatus.SCHEDULED)
    moved_to_local: Mapped[datetime | None] = mapped_column(DateTime())
    own_running_order: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RunningOrderItem(Base):
    """One line of a running order: of the programme's default (``slot_id`` empty) or of one slot.
    ``fallback`` lines (``slot_id`` empty) are the programme's fallback playlist: played, at the
    background rung, in an airing that has nothing else to play."""

    __tablename__ = "running_order_items"
    __table_args__ = (Index("ix_running_order_items_owner", "programme_id", "slot_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind, "running_order_kind"))
    bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="CASCADE"), index=True
    )
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)


class Announcement(Base):
    """A one-off item (thông báo) at a fixed instant, or as soon as possible (``asap``)."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_status_start", "status", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="CASCADE"), index=True
    )
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    asap: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=500)
    preempt_rule: Mapped[str] = mapped_column(String(16), default="restart")
    volume_percent: Mapped[int] = mapped_column(Integer, default=100)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    status: Mapped[AnnouncementStatus] = mapped_column(
        _enum(AnnouncementStatus, "announcement_status"), default=AnnouncementStatus.SCHEDULED
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AnnouncementTarget(_TargetColumns, Base):
    __tablename__ = "announcement_targets"
    __table_args__ = (UniqueConstraint("announcement_id", "kind", "ref_id"),)

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )

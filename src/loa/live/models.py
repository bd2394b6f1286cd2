"""Stream sessions: one live broadcast from a microphone or encoder, or one relay of an outside station.

A session is on air while its status is ``on_air``; the schedule's snapshot reads every session that
overlaps its window (``loa.live.service.stream_slots``) and compiles it into the targeted devices'
manifests as a stream item. Rows are never deleted: they are the register of what went on air.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, utcnow


class StreamKind(StrEnum):
    LIVE = "live"  # a person speaking now (browser microphone or an encoder)
    RELAY = "relay"  # an outside station's stream, pulled by Loa at its slot


class StreamStatus(StrEnum):
    SCHEDULED = "scheduled"  # a relay waiting for its start
    ON_AIR = "on_air"
    ENDED = "ended"
    FAILED = "failed"  # never went on air (relay source dead), or the source broke
    CANCELLED = "cancelled"


STATUS_LABELS: dict[StreamStatus, str] = {
    StreamStatus.SCHEDULED: "Chờ đến giờ",
    StreamStatus.ON_AIR: "Đang phát",
    StreamStatus.ENDED: "Đã kết thúc",
    StreamStatus.FAILED: "Không phát được",
    StreamStatus.CANCELLED: "Đã hủy",
}
KIND_LABELS: dict[StreamKind, str] = {
    StreamKind.LIVE: "Phát trực tiếp",
    StreamKind.RELAY: "Tiếp sóng",
}


class StreamSession(Base):
    __tablename__ = "stream_sessions"
    __table_args__ = (Index("ix_stream_sessions_status_end", "status", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # StreamKind
    status: Mapped[str] = mapped_column(String(12))  # StreamStatus
    title: Mapped[str] = mapped_column(String(200))
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)  # the station's
    mount: Mapped[str] = mapped_column(String(60))
    stream_url: Mapped[str] = mapped_column(String(500))  # what devices open (their token is added)
    source_url: Mapped[str | None] = mapped_column(String(500))  # a relay's outside station
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"kind", "code"}]
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())  # planned (live: when it went on air)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())  # planned end (live: an upper bound)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str] = mapped_column(String(40), default="")
    status_message: Mapped[str] = mapped_column(String(300), default="")  # Vietnamese, for people
    max_listeners: Mapped[int] = mapped_column(Integer, default=0)
    recording_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

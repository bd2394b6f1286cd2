"""Tables of emergency alerts (``loa.alerts.service``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, utcnow


class EmergencyAlert(Base):
    """An emergency message to every loudspeaker of some communes, repeated until stopped
    (``loa.alerts.service``). ``commune_codes`` and ``batch_ids`` are JSON lists: the communes chosen,
    and the command batches that carried it (their per-device rows hold the devices' answers)."""

    __tablename__ = "emergency_alerts"
    __table_args__ = (Index("ix_emergency_alerts_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    commune_codes: Mapped[str] = mapped_column(Text)
    repeat_gap_s: Mapped[int] = mapped_column(Integer)
    device_count: Mapped[int] = mapped_column(Integer)
    batch_ids: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    stopped_by: Mapped[str | None] = mapped_column(String(200))
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

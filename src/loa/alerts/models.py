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
    # Decision 18/2021/QĐ-TTg (``loa.alerts.levels``): hazard code and risk level 1–5; absent on
    # alerts made before they existed.
    hazard: Mapped[str | None] = mapped_column(String(32))
    risk_level: Mapped[int | None] = mapped_column(Integer)
    # draft (e.g. from CAP, waits for a person) | pending_confirmation (waits for a second person) |
    # active | stopped. Alerts made before the column existed are active or stopped by ``stopped_at``.
    status: Mapped[str] = mapped_column(String(24), default="active", server_default="active")
    message_text: Mapped[str | None] = mapped_column(Text)  # the typed warning, when it was typed
    # JSON: what was chosen beyond communes ({"villages": [..], "groups": [..], "polygon": [[lat, lon], ..]})
    target: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # carried until then unless stopped
    source: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")  # manual|cap|…
    source_ref: Mapped[str | None] = mapped_column(String(300))  # e.g. the CAP identifier
    confirmed_by: Mapped[str | None] = mapped_column(String(200))  # the second person, when required
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What the loudspeakers play each round: the lead-in signal of the risk level followed by the
    # message, made once when the alert is sent (``loa.alerts.leadin``); absent: the message alone.
    aired_sha256: Mapped[str | None] = mapped_column(String(64))
    # JSON list: the batches (or single commands) of the stop, whose answers confirm it per device.
    stop_batch_ids: Mapped[str | None] = mapped_column(Text)

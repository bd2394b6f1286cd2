"""Tables of emergency alerts (``loa.alerts.service``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
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


class AlertPolicy(Base):
    """A province's rule for its alerts (``loa.alerts.confirm``): from which risk level a second person
    (a leader) must confirm before an alert sounds. No row, or an empty level: one person suffices."""

    __tablename__ = "alert_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id", ondelete="CASCADE"), unique=True)
    second_person_from_level: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AlertTiming(Base):
    """How fast a composed alert went to air (``loa.alerts.compose``): when "Phát" was pressed, how long
    speech and levelling took, and how long handing it to the loudspeakers took. The first play is
    read from the devices' answers (``loa.alerts.compose.first_play_at``)."""

    __tablename__ = "alert_timings"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_alerts.id", ondelete="CASCADE"), primary_key=True
    )
    pressed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    prepare_ms: Mapped[int] = mapped_column(Integer)  # TTS (or upload) → loudness levelling → store
    send_ms: Mapped[int] = mapped_column(Integer)  # the alert made and its commands queued

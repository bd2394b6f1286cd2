"""Tables of the loudspeaker fleet: devices, groups, status changes, receipts, commands, manifests."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return str_enum(cls, name, length=24)


class StatusEvent(StrEnum):
    """Rows of ``device_status_log`` (state changes only, never every heartbeat)."""

    ENROLLED = "enrolled"
    ONLINE = "online"
    OFFLINE = "offline"
    MANIFEST_ERROR = "manifest_error"
    MANIFEST_OK = "manifest_ok"


class ReceiptOutcome(StrEnum):
    PLAYED = "played"
    PREEMPTED = "preempted"
    FAILED = "failed"


class Device(Base):
    """One loudspeaker cluster (cụm loa). ``uid`` is its id on the wire and its MQTT username."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    village: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Credentials: a random secret known only to the device; we keep its SHA-256 (HTTP, embedded
    # broker) and Mosquitto's PBKDF2 form (written to the broker's password file), and the bcrypt
    # form a NATS cluster's accounts file takes (``loa.fleet.nats``).
    secret_sha256: Mapped[str | None] = mapped_column(String(64))
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(300))
    bcrypt_password_hash: Mapped[str | None] = mapped_column(String(80))
    enrol_code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Reported state (the latest status; history of changes is in device_status_log).
    online: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    online_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When the device counts as offline if nothing more is heard (heartbeat × grace); indexed for
    # the gateway's sweep, which catches half-open connections whose will never fires.
    offline_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    heartbeat_s: Mapped[int] = mapped_column(Integer, default=30)
    volume: Mapped[int | None] = mapped_column(Integer)
    firmware: Mapped[str] = mapped_column(String(200), default="")
    current_item_id: Mapped[str | None] = mapped_column(String(64))
    current_title: Mapped[str | None] = mapped_column(String(200))
    current_priority: Mapped[int | None] = mapped_column(Integer)
    manifest_version: Mapped[int | None] = mapped_column(Integer)
    manifest_error: Mapped[str | None] = mapped_column(String(200))
    storage_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    network_kind: Mapped[str | None] = mapped_column(String(40))
    signal_dbm: Mapped[float | None] = mapped_column(Float)
    pending_receipts: Mapped[int] = mapped_column(Integer, default=0)
    # What the loudspeaker refused of what the broker handed it, and failed to handle, since it started.
    messages_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The agent's output switch (amplifier, FM or wired transmitter; issue 14.4) failed: what failed
    # (technical, for the log; the page says it in words). Empty when it works or is not used.
    output_switch_error: Mapped[str | None] = mapped_column(String(200))
    # Fleet health (issue 18.3), from the latest status.
    storage_total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    operator: Mapped[str | None] = mapped_column(String(60))
    uptime_s: Mapped[int | None] = mapped_column(Integer)
    data_used_today_bytes: Mapped[int | None] = mapped_column(BigInteger)
    data_used_month_bytes: Mapped[int | None] = mapped_column(BigInteger)
    data_budget_bytes: Mapped[int | None] = mapped_column(BigInteger)
    output_state: Mapped[str | None] = mapped_column(String(16))
    agent_version: Mapped[str | None] = mapped_column(String(40), index=True)
    rolled_back_from: Mapped[str | None] = mapped_column(String(40))
    last_receipt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DeviceGroup(Base):
    __tablename__ = "device_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DeviceGroupMember(Base):
    __tablename__ = "device_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("device_groups.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)


class DeviceStatusLog(Base):
    """State changes only (online/offline, manifest refused/accepted), for uptime and diagnosis.
    Partitioned by month of ``at`` on PostgreSQL, kept ``status_log_retention_months``."""

    __tablename__ = "device_status_log"
    __table_args__ = (Index("ix_device_status_log_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    event: Mapped[StatusEvent] = mapped_column(_enum(StatusEvent, "status_event"))
    detail: Mapped[str] = mapped_column(String(300), default="")


class PlayReceipt(Base):
    """Proof of play. Devices deliver at least once; the unique key records each exactly once.

    The key holds ``started_at`` because on PostgreSQL the table is partitioned by month on it (a
    partitioned table's unique key must hold its partition key; ``loa.db.partitions``): a device
    re-sends the very receipt it journaled, so a receipt id always comes with the same start."""

    __tablename__ = "play_receipts"
    __table_args__ = (
        UniqueConstraint("device_id", "receipt_id", "started_at"),
        Index("ix_play_receipts_device_started", "device_id", "started_at"),
        Index("ix_play_receipts_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    receipt_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    audio_sha256: Mapped[str | None] = mapped_column(String(64))  # empty only for a stream
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[ReceiptOutcome] = mapped_column(_enum(ReceiptOutcome, "receipt_outcome"))
    manifest_version: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(200))
    # A stream item (live broadcast, relay; ``loa.protocol.messages.ReceiptKind``): how long its own
    # audio was heard, and how many times it dropped. Empty for a file.
    kind: Mapped[str] = mapped_column(String(10), default="file", server_default="file")
    heard_ms: Mapped[int | None] = mapped_column(BigInteger)
    interruptions: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int | None] = mapped_column(Integer)  # a stream's rung: live (700+) or relay
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReceiptLedger(Base):
    """Every receipt id a device ever had recorded, once, with the start it was recorded with.

    ``play_receipts``' unique key must hold ``started_at`` (its partition key on PostgreSQL), so on its
    own it would store a receipt id sent again with another start — another month, another partition —
    a second time, and every report would count that play twice. This table is not partitioned: its
    key is (device, receipt id) alone. The ingest claims the key here in the receipt's own transaction
    (``loa.fleet.ingest``): the same start again is the ordinary duplicate, another start is refused."""

    __tablename__ = "receipt_ledger"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeviceCommandBatch(Base):
    """One command to many devices, published once on a group topic (``loa.protocol.group``).

    Outbox: the gateway publishes batches whose ``sent_at`` is empty. ``payload`` is the v1 command
    (without targets), ``targets`` a JSON list of device ids or null for every device of ``group_code``
    (empty code: the whole fleet). Each device still has its own ``DeviceCommand`` row (results)."""

    __tablename__ = "device_command_batches"
    __table_args__ = (Index("ix_device_command_batches_unsent", "sent_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    group_code: Mapped[str] = mapped_column(String(32), default="")
    payload: Mapped[str] = mapped_column(Text)
    targets: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeviceCommand(Base):
    """A command to one device (outbox: the gateway sends rows whose ``sent_at`` is empty and that
    belong to no batch; a batch member is sent with its batch and answers with the batch's id)."""

    __tablename__ = "device_commands"
    __table_args__ = (Index("ix_device_commands_unsent", "sent_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    payload: Mapped[str] = mapped_column(Text)  # the exact v1 JSON sent on the cmd topic
    issued_by: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[str | None] = mapped_column(String(24))
    result_detail: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("device_command_batches.id", ondelete="CASCADE"), index=True
    )


class DeviceManifest(Base):
    """Signed manifests delivered to a device (the newest is current). ``published_at`` empty means
    the gateway has yet to publish the retained ``state`` reference for it."""

    __tablename__ = "device_manifests"
    __table_args__ = (UniqueConstraint("device_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # canonical manifest bytes (loa.protocol.manifest)
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # detached Ed25519 signature of ``body``
    # Added by scheduling: what the device will do (hash of the items) and until when it is covered.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class FleetCounter(Base):
    """What the gateways count, summed per UTC day (issue 20.11): messages dropped at the edge by
    reason, refused receipts, and the traffic in and out. Names and labels: ``loa.fleet.counters``."""

    __tablename__ = "fleet_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class HealthSample(Base):
    """A device's health over time (issue 18.3), at most one row per ``loa.fleet.health.SAMPLE_EVERY``
    and none older than ``KEEP_FOR``: a bounded history charted on the device page."""

    __tablename__ = "device_health_samples"
    __table_args__ = (Index("ix_device_health_samples_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    signal_dbm: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    storage_free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    storage_total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    data_used_today_bytes: Mapped[int | None] = mapped_column(BigInteger)
    uptime_s: Mapped[int | None] = mapped_column(Integer)
    output_ok: Mapped[bool | None] = mapped_column(Boolean)


class DeviceAlarm(Base):
    """A health alarm of one device: raised once when its condition starts, cleared when it ends
    (``cleared_at``). Kinds and their Vietnamese words: ``loa.fleet.health.ALARMS``."""

    __tablename__ = "device_alarms"
    __table_args__ = (Index("ix_device_alarms_open", "device_id", "kind", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


class AgentRelease(Base):
    """A signed agent release (issue 18.4): the wheel is kept in ``data_dir/releases/<sha256>.whl``;
    ``signature`` is Ed25519 by the release key over ``messages.release_signed_bytes``."""

    __tablename__ = "agent_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    filename: Mapped[str] = mapped_column(String(160))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(120))  # base64
    published_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200), default="")


class Rollout(Base):
    """A release going out to the devices of one commune (or all) in waves (``waves``: cumulative
    percentages, e.g. "5,25,100"). States and labels: ``loa.fleet.releases.ROLLOUT_STATES``."""

    __tablename__ = "agent_rollouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("agent_releases.id", ondelete="CASCADE"), index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    waves: Mapped[str] = mapped_column(String(60))
    wave: Mapped[int] = mapped_column(Integer, default=0)  # the wave sent last (0-based)
    state: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RolloutTarget(Base):
    """One device of a rollout, in its wave, and what became of it."""

    __tablename__ = "agent_rollout_targets"

    rollout_id: Mapped[int] = mapped_column(
        ForeignKey("agent_rollouts.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    wave: Mapped[int] = mapped_column(Integer)
    command_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="waiting")
    detail: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PrepositionedClip(Base):
    """The generic warning of one risk level, carried as a cache-only clip in every loudspeaker's
    manifest (``loa.protocol.manifest.Clip``) and played by a signed SMS when the data network is down
    (``loa.fleet.clips``). Made by ``loa.alerts.clips``; one row per level."""

    __tablename__ = "prepositioned_clips"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    audio_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    made_by: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReceiptSummaryMonth(Base):
    """A closed Vietnam-local month of play receipts and whether its summary may be read
    (``loa.reports.summary``). ``dirty``: a receipt of the month was recorded after (or while) it was
    summarised; the reports read that month's receipts until maintenance summarises it again. The
    ingest upserts this row, dirty, for every ended month a batch touches (in the batch's transaction)."""

    __tablename__ = "receipt_summary_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the local month's first day
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    summarised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    groups: Mapped[int] = mapped_column(Integer, default=0)


class ReceiptSummary(Base):
    """The receipt aggregate of the reports (``loa.reports.receipt_sql.receipts_statement``) for one closed
    month: one row per commune, local day and item, exactly the row the raw aggregate gives."""

    __tablename__ = "receipt_summaries"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    commune_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    played: Mapped[int] = mapped_column(Integer)
    preempted: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    played_ms: Mapped[int | None] = mapped_column(BigInteger)


class ReceiptSummaryDevice(Base):
    """The commune each cluster with receipts in a summarised month was counted under. A report reads
    a month's summary only while every one of these clusters still exists in the same commune (a
    cluster moved or deleted since: the month's receipts are read instead, until summarised again)."""

    __tablename__ = "receipt_summary_devices"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int | None] = mapped_column(Integer)

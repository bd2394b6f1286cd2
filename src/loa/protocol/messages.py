"""Wire messages of protocol v1 (see docs/protocol.md): typed, versioned JSON, parsed once at the edge.

Every payload is a JSON object with ``"v": 1`` and a ``type``. Unknown fields are ignored so a newer
peer may add optional fields without breaking an older one; anything else that does not fit is refused
with a ``ProtocolError`` carrying a stable ``code`` (the gateway counts them by code and carries on).

Only the standard library and pydantic are used: the device agent imports this module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from loa.protocol.topics import Channel

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_RECEIPTS_PER_BATCH = 50
SHA256_PATTERN = r"^[0-9a-f]{64}$"

Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]
ShortText = Annotated[str, Field(max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ProtocolError(Exception):
    """A payload that is not a valid v1 message. ``code`` is stable (used as a counter label)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- device → server ---------------------------------------------------------------------------


class NetworkInfo(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: ShortText = "unknown"  # 4g | wifi | ethernet | unknown
    interface: ShortText | None = None
    signal_dbm: float | None = None
    operator: ShortText | None = None


class PlayingInfo(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    item_id: Identifier
    audio_sha256: Sha256 | None = None  # absent while a stream (live, relay) plays
    priority: int = Field(ge=0, le=1000)
    started_at: AwareDatetime
    title: ShortText | None = None
    stream: bool | None = None  # a live broadcast or relay; ``stream_down``: it is down right now
    stream_down: bool | None = None


class StatusReason(StrEnum):
    BOOT = "boot"
    HEARTBEAT = "heartbeat"
    CHANGE = "change"


class Status(_Message):
    """Heartbeat (every ``heartbeat_s``) and on every change. QoS 0: a lost one is replaced by the next."""

    type: Literal["status"] = "status"
    sent_at: AwareDatetime
    reason: StatusReason = StatusReason.HEARTBEAT
    heartbeat_s: int = Field(default=30, ge=1, le=3600)
    firmware: ShortText = ""
    uptime_s: int = Field(default=0, ge=0)
    volume: int = Field(default=70, ge=0, le=100)
    storage_free_bytes: int | None = Field(default=None, ge=0)
    storage_total_bytes: int | None = Field(default=None, ge=0)
    temperature_c: float | None = Field(default=None, ge=-60, le=200)
    network: NetworkInfo | None = None
    playing: PlayingInfo | None = None
    manifest_version: int | None = Field(default=None, ge=0)
    manifest_error: ShortText | None = None  # code of the last refusal, e.g. "signature_invalid"
    audio_errors: int = Field(default=0, ge=0)
    items_ready: int = Field(default=0, ge=0)
    items_missing: int = Field(default=0, ge=0)
    pending_receipts: int = Field(default=0, ge=0)
    data_used_today_bytes: int = Field(default=0, ge=0)
    # Optional (added in v1): messages from the broker the device refused as invalid, and those whose
    # handling failed, since it started (none of them stops it).
    messages_refused: int = Field(default=0, ge=0)
    message_errors: int = Field(default=0, ge=0)
    # Optional (added in v1, issue 14.4): the output switch (amplifier, FM or wired transmitter) failed
    # the last time it was turned on or off (what failed, short); absent when it works or is not used.
    output_switch_error: ShortText | None = None


class Birth(_Message):
    """Published (QoS 1, not retained) on every connect: the device is online."""

    type: Literal["birth"] = "birth"
    sent_at: AwareDatetime
    boot_id: Identifier
    firmware: ShortText = ""
    manifest_version: int | None = Field(default=None, ge=0)


class Lwt(_Message):
    """The last will, registered at connect and published by the broker when the device vanishes."""

    type: Literal["lwt"] = "lwt"
    state: Literal["offline"] = "offline"


class Outcome(StrEnum):
    PLAYED = "played"
    PREEMPTED = "preempted"
    FAILED = "failed"


class ReceiptKind(StrEnum):
    FILE = "file"  # a cached, content-addressed file
    STREAM = "stream"  # a live broadcast or a relay, played from its URL


class Receipt(BaseModel):
    """Proof of play. ``receipt_id`` is unique per device; the server records each exactly once."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    receipt_id: Identifier
    seq: int = Field(ge=0)
    item_id: Identifier
    # A file item's audio. Absent only on a stream receipt (a stream names no file; its fallback clip
    # is not what was broadcast).
    audio_sha256: Sha256 | None = None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    outcome: Outcome
    manifest_version: int | None = Field(default=None, ge=0)
    detail: ShortText | None = None
    # Added in v1 for live and relay items (issue 14); absent on a file receipt, whose older form is
    # unchanged. ``heard_ms``: how long the stream's own audio sounded (not the fallback clip or
    # silence while it was down); ``interruptions``: how many times it dropped (or was dead) while due.
    kind: ReceiptKind = ReceiptKind.FILE
    heard_ms: int | None = Field(default=None, ge=0)
    interruptions: int | None = Field(default=None, ge=0)
    # The item's rung (a stream: live at ``Priority.LIVE`` and above, else a relay), as the manifest gave it.
    priority: int | None = Field(default=None, ge=0, le=1000)

    @model_validator(mode="after")
    def _kind_fields(self) -> Receipt:
        if self.kind is ReceiptKind.FILE and self.audio_sha256 is None:
            raise ValueError("a file receipt needs audio_sha256")
        if self.kind is ReceiptKind.STREAM and (self.heard_ms is None or self.interruptions is None):
            raise ValueError("a stream receipt needs heard_ms and interruptions")
        return self


class ReceiptBatch(_Message):
    type: Literal["receipts"] = "receipts"
    sent_at: AwareDatetime
    receipts: list[Receipt] = Field(min_length=1, max_length=MAX_RECEIPTS_PER_BATCH)


class CommandStatus(StrEnum):
    DONE = "done"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


class CommandResult(_Message):
    type: Literal["cmd_result"] = "cmd_result"
    command_id: Identifier
    status: CommandStatus
    at: AwareDatetime
    detail: ShortText | None = None


# --- server → device ---------------------------------------------------------------------------


class StateRef(_Message):
    """Retained on ``state``: where to fetch the current manifest. Never the manifest, nothing secret
    (amqtt 0.12 may hand a retained message to a client subscribed to another device's topic)."""

    type: Literal["state"] = "state"
    manifest_version: int = Field(ge=0)
    sha256: Sha256
    url: Annotated[str, Field(max_length=500)]
    issued_at: AwareDatetime
    # Optional (added in v1): the commune group codes whose ``{prefix}/g/{code}/cmd`` the device
    # subscribes to besides ``{prefix}/all/cmd``. Absent: keep the groups already known.
    groups: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]] | None = Field(
        default=None, max_length=8
    )


class ReceiptAck(_Message):
    type: Literal["ack"] = "ack"
    receipt_ids: list[Identifier] = Field(max_length=MAX_RECEIPTS_PER_BATCH * 4)


REPEAT_GAP_MAX_S = 3600  # the longest silence between two rounds of a repeated "play now"


class PlayNowArgs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # The audio by its hash, always from the device's own server (``…/devices/{id}/audio/{sha256}``):
    # a command never names where to fetch (issue 20.2; a ``url`` sent by an older server is ignored).
    audio_sha256: Sha256
    priority: int = Field(default=500, ge=0, le=1000)  # priority bulletin; live is 700, emergency 900
    title: ShortText | None = None
    item_id: Identifier | None = None
    # Optional (added in v1): play again this many seconds after each end, until a ``stop`` command
    # (an emergency message repeated until cancelled). Absent: once. A device that does not know the
    # field plays once.
    repeat_gap_s: int | None = Field(default=None, ge=0, le=REPEAT_GAP_MAX_S)


class VolumeArgs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    level: int = Field(ge=0, le=100)


class UpdateArgs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: ShortText
    url: Annotated[str, Field(max_length=500)]
    sha256: Sha256


class EmptyArgs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _CommandBase(_Message):
    type: Literal["cmd"] = "cmd"
    id: Identifier
    issued_at: AwareDatetime
    expires_at: AwareDatetime

    def expired(self, at: datetime | None = None) -> bool:
        return (at or now_utc()) >= self.expires_at


class PlayNow(_CommandBase):
    kind: Literal["play_now"] = "play_now"
    args: PlayNowArgs


class Stop(_CommandBase):
    kind: Literal["stop"] = "stop"
    args: EmptyArgs = EmptyArgs()


class SetVolume(_CommandBase):
    kind: Literal["volume"] = "volume"
    args: VolumeArgs


class Sync(_CommandBase):
    kind: Literal["sync"] = "sync"
    args: EmptyArgs = EmptyArgs()


class Reboot(_CommandBase):
    kind: Literal["reboot"] = "reboot"
    args: EmptyArgs = EmptyArgs()


class Update(_CommandBase):
    kind: Literal["update"] = "update"
    args: UpdateArgs


Command = Annotated[PlayNow | Stop | SetVolume | Sync | Reboot | Update, Field(discriminator="kind")]
COMMAND_KINDS: tuple[str, ...] = ("play_now", "stop", "volume", "sync", "reboot", "update")
# The arguments each kind has. A peer ignores unknown fields; the server refuses to send any.
COMMAND_ARGS: dict[str, frozenset[str]] = {
    "play_now": frozenset(PlayNowArgs.model_fields),
    "stop": frozenset(),
    "volume": frozenset(VolumeArgs.model_fields),
    "sync": frozenset(),
    "reboot": frozenset(),
    "update": frozenset(UpdateArgs.model_fields),
}

# --- parsing at the edge ----------------------------------------------------------------------------

DeviceMessage = Status | Birth | Lwt | ReceiptBatch | CommandResult
ServerMessage = StateRef | ReceiptAck | PlayNow | Stop | SetVolume | Sync | Reboot | Update

_ADAPTERS: dict[Channel, TypeAdapter[Any]] = {
    Channel.STATUS: TypeAdapter(Status),
    Channel.BIRTH: TypeAdapter(Birth),
    Channel.LWT: TypeAdapter(Lwt),
    Channel.RECEIPTS: TypeAdapter(ReceiptBatch),
    Channel.RESULT: TypeAdapter(CommandResult),
    Channel.STATE: TypeAdapter(StateRef),
    Channel.ACK: TypeAdapter(ReceiptAck),
    Channel.CMD: TypeAdapter(Command),
}


def parse(channel: Channel, payload: bytes | bytearray, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """Parse one payload for ``channel`` into its typed message, or raise ``ProtocolError``.

    Codes: ``oversized``, ``not_json``, ``bad_version``, ``invalid``."""
    if len(payload) > max_bytes:
        raise ProtocolError("oversized", f"{len(payload)} > {max_bytes} bytes")
    try:
        raw = json.loads(bytes(payload))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ProtocolError("not_json", str(err)[:200]) from err
    if not isinstance(raw, dict):
        raise ProtocolError("invalid", "not an object")
    if raw.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("bad_version", repr(raw.get("v"))[:40])
    try:
        return _ADAPTERS[channel].validate_python(raw)
    except ValidationError as err:
        raise ProtocolError("invalid", _first_error(err)) from err


def parse_device_message(channel: Channel, payload: bytes | bytearray) -> DeviceMessage:
    """Server side: parse what a device published. Refuses server-only channels."""
    if channel not in (Channel.STATUS, Channel.BIRTH, Channel.LWT, Channel.RECEIPTS, Channel.RESULT):
        raise ProtocolError("wrong_channel", channel.value)
    message: DeviceMessage = parse(channel, payload)
    return message


def parse_server_message(channel: Channel, payload: bytes | bytearray) -> ServerMessage:
    """Device side: parse what the server published."""
    if channel not in (Channel.STATE, Channel.ACK, Channel.CMD):
        raise ProtocolError("wrong_channel", channel.value)
    message: ServerMessage = parse(channel, payload, max_bytes=MAX_PAYLOAD_BYTES)
    return message


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    return f"{loc}: {first.get('type', '')}"[:200]

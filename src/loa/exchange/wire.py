"""The bodies of the exchange API, version 1 (``/api/exchange/v1``), as pydantic models: what a
connected system sends and what it gets. Pure; the OpenAPI document is generated from these.

Identifiers that cross the wire: administrative units by their official code (GSO: province 2
digits, commune 5; codes of units merged in 2025 are accepted and mapped to today's unit, see
``area_codes``), loudspeaker clusters by their device id (``loa-`` + 12 hex), play receipts by
``<device id>:<receipt id>``, a pushed bulletin by the sender's own ``id`` (unique per sender).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from loa.exchange.models import InboxState, Priority

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z._-]+$")]
RemoteId = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[0-9A-Za-z._:-]+$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
MAX_AUDIO_BASE64 = 36 * 1024 * 1024  # ~27 MB of audio: a bulletin, not a programme
MAX_BATCH = 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- pushed down: a bulletin from a higher system ----------------------------------------------------


class AudioIn(_In):
    content_type: str = Field(default="audio/mpeg", max_length=64)
    data_base64: str = Field(min_length=4, max_length=MAX_AUDIO_BASE64)
    sha256: Sha256 = Field(description="SHA-256 (hex) of the decoded bytes: checked on arrival.")


class BulletinIn(_In):
    id: RemoteId = Field(description="The sender's id of the bulletin; sending it again changes nothing.")
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=50_000)
    priority: Priority
    source: str = Field(default="", max_length=200, description="The issuing organisation.")
    areas: list[Code] = Field(min_length=1, max_length=5000, description="Official unit codes.")
    audio: AudioIn
    valid_until: AwareDatetime | None = None


class InboxOut(_Out):
    id: str = Field(description="The sender's id.")
    state: InboxState
    state_label: str
    received_at: datetime
    scheduled_for: datetime | None = None
    plays: int = 0
    reason: str = ""
    communes: list[str] = []


# --- reported up: acknowledgements, play logs, snapshots --------------------------------------------


class AckIn(_In):
    id: RemoteId = Field(description="The id of the bulletin as *we* sent it (our id).")
    state: InboxState
    reason: str = Field(default="", max_length=1000)
    scheduled_for: AwareDatetime | None = None
    plays: int = Field(default=0, ge=0)
    played_ms: int = Field(default=0, ge=0)
    at: AwareDatetime


class PlayIn(_In):
    key: str = Field(min_length=3, max_length=140, description="<device id>:<receipt id>")
    device: str = Field(min_length=1, max_length=64)
    device_name: str = Field(default="", max_length=200)
    commune_code: str = Field(default="", max_length=32)
    commune_name: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=300)
    source_id: RemoteId | None = Field(default=None, description="Our bulletin id, when it was ours.")
    started_at: AwareDatetime
    ended_at: AwareDatetime
    outcome: Literal["played", "preempted", "failed"]


class PlaysIn(_In):
    plays: list[PlayIn] = Field(max_length=MAX_BATCH)


class SnapshotIn(_In):
    kind: Literal["inventory", "statistics"]
    period: str = Field(default="", max_length=24, description="For statistics: the day (YYYY-MM-DD).")
    body: dict[str, object]


class Accepted(_Out):
    accepted: int
    duplicates: int = 0


# --- pulled: what a higher system reads -------------------------------------------------------------


class AreaCodeOut(_Out):
    code: str = Field(description="The code as asked.")
    name: str | None
    current: list[str] = Field(description="Today's unit(s) for it (itself, or its successors).")
    valid: bool = Field(description="Whether the code is a unit in force today.")


class StationOut(_Out):
    id: int
    name: str
    technology: str
    commune_code: str
    commune_name: str
    former_codes: list[str]
    address: str
    latitude: float | None
    longitude: float | None
    active: bool


class ClusterOut(_Out):
    id: str
    name: str
    commune_code: str | None
    commune_name: str | None
    former_codes: list[str]
    village: str
    station_id: int | None
    latitude: float | None
    longitude: float | None


class ClusterStatusOut(_Out):
    id: str
    online: bool
    last_seen_at: datetime | None
    volume: int | None
    playing: str | None
    priority: int | None
    manifest_version: int | None
    manifest_error: str | None
    firmware: str
    network: str | None


class BulletinOut(_Out):
    id: int
    title: str
    kind: str
    priority: str
    status: str
    area_code: str
    topics: list[str]
    source: str
    published_at: datetime | None
    updated_at: datetime


class ScheduleItemOut(_Out):
    cluster: str
    item_id: str
    title: str
    start_at: datetime
    duration_ms: int
    priority: int


class PlayOut(_Out):
    key: str
    device: str
    commune_code: str | None
    item_id: str
    title: str
    started_at: datetime
    ended_at: datetime
    outcome: str


class PlayPage(_Out):
    plays: list[PlayOut]
    next_cursor: int | None = Field(description="Pass as ``after`` for the next page; null at the end.")


class CommuneFigures(_Out):
    code: str
    name: str
    clusters: int
    online: int
    played: int
    preempted: int
    failed: int
    played_ms: int
    from_above: int = Field(description="Bulletins received from higher systems in the period.")


class StatisticsOut(_Out):
    start: str
    end: str
    communes: list[CommuneFigures]
    feedback_received: int
    feedback_answered: int
    feedback_on_time: int

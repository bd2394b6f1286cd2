"""The per-device manifest: what one loudspeaker plays in the coming window, signed by the server.

Wire format (schema 1), see docs/scheduling.md:

* canonical JSON: UTF-8, keys sorted, no whitespace, ``None`` fields omitted, times as UTC with
  milliseconds (``2023-01-16T00:00:00.000Z``), no floats. Same manifest → same bytes, on any machine.
* ``content_hash`` = SHA-256 of the canonical ``{"items": [...], "schema": 1}``: what the device will
  *do*. Two compilations with the same items have the same hash, so an unchanged device is not re-sent.
* the signature is Ed25519 over the full canonical bytes, detached (sent beside the body, e.g. in an
  HTTP header); the MQTT ``state`` message only carries version, SHA-256 of the bytes and URL.

Only the standard library, pydantic and cryptography are used: the device agent imports this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from loa.errors import InvalidInput
from loa.protocol.priority import PRIORITY_MAX, PRIORITY_MIN, PreemptRule

SCHEMA_VERSION = 1
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
ITEM_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"  # the item ids receipts may carry (loa.protocol.messages)

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ItemId = Annotated[str, Field(pattern=ITEM_ID_PATTERN)]
Text = Annotated[str, Field(max_length=200)]
Url = Annotated[str, Field(min_length=1, max_length=500)]
# A commune group code (``loa.protocol.topics.GROUP_CODE_PATTERN``): the device subscribes to its
# ``{prefix}/g/{code}/cmd`` topic. Carried in the signed manifest so that a device restarted after a
# broker lost its retained ``state`` still knows its groups.
GroupCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class ManifestError(InvalidInput):
    """A manifest that must not be played. ``code`` is stable (the agent reports it in its status)."""

    default_code = "manifest_invalid"
    default_message = "Lịch phát không hợp lệ."


class AudioKind(StrEnum):
    FILE = "file"  # a content-addressed file, cached on the device before its time
    STREAM = "stream"  # a relay (tiếp sóng) of a live stream; nothing to cache


def _utc_ms(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def format_time(value: datetime) -> str:
    """UTC with milliseconds and ``Z``: the only time format of the manifest."""
    value = _utc_ms(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SmallerAudio(_Wire):
    """A smaller rendition of the same programme (Opus), signed with the item: a device whose data
    budget is tight downloads this instead (optional, added in schema 1; older agents ignore it)."""

    sha256: Sha256
    size_bytes: int = Field(ge=0)


class AudioSource(_Wire):
    kind: AudioKind = AudioKind.FILE
    url: Url
    sha256: Sha256 | None = None
    size_bytes: int | None = Field(default=None, ge=0)
    smaller: SmallerAudio | None = None

    @model_validator(mode="after")
    def _file_is_addressed(self) -> AudioSource:
        if self.kind is AudioKind.FILE and (self.sha256 is None or self.size_bytes is None):
            raise ValueError("a file needs sha256 and size_bytes")
        return self


class ManifestItem(_Wire):
    """One thing to play. ``start_local`` is informative (Asia/Ho_Chi_Minh); ``start_at`` is the truth."""

    id: ItemId
    title: Text
    source_id: Text  # the programme or announcement it comes from
    bulletin_id: Text | None = None  # for proof of play per bulletin
    start_at: AwareDatetime
    start_local: Text
    duration_ms: int = Field(gt=0)
    not_after_at: AwareDatetime | None = None  # cut here; never start at or after it
    priority: int = Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)
    preempt_rule: PreemptRule
    volume_percent: int = Field(default=100, ge=0, le=100)
    audio: AudioSource

    @field_validator("start_at", "not_after_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc_ms(value)

    def wire(self) -> dict[str, Any]:
        audio: dict[str, Any] = {"kind": self.audio.kind.value, "url": self.audio.url}
        if self.audio.sha256 is not None:
            audio["sha256"] = self.audio.sha256
        if self.audio.size_bytes is not None:
            audio["size_bytes"] = self.audio.size_bytes
        if self.audio.smaller is not None:
            audio["smaller"] = {
                "sha256": self.audio.smaller.sha256,
                "size_bytes": self.audio.smaller.size_bytes,
            }
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "source_id": self.source_id,
            "start_at": format_time(self.start_at),
            "start_local": self.start_local,
            "duration_ms": self.duration_ms,
            "priority": self.priority,
            "preempt_rule": self.preempt_rule.value,
            "volume_percent": self.volume_percent,
            "audio": audio,
        }
        if self.bulletin_id is not None:
            out["bulletin_id"] = self.bulletin_id
        if self.not_after_at is not None:
            out["not_after_at"] = format_time(self.not_after_at)
        return out


class Clip(_Wire):
    """A pre-positioned clip (issue 15.8): audio the device keeps in its cache without a time to play
    it — the generic warning of one risk level, played when a signed SMS asks for it
    (``loa.protocol.sms``) even with no data network. Cache-only: never on the timeline."""

    level: int = Field(ge=1, le=5)
    title: Text
    duration_ms: int = Field(gt=0)
    audio: AudioSource

    @model_validator(mode="after")
    def _a_file(self) -> Clip:
        if self.audio.kind is not AudioKind.FILE:
            raise ValueError("a clip is a file to cache")
        return self

    def wire(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "title": self.title,
            "duration_ms": self.duration_ms,
            "audio": {
                "kind": self.audio.kind.value,
                "url": self.audio.url,
                "sha256": self.audio.sha256,
                "size_bytes": self.audio.size_bytes,
            },
        }


class Manifest(_Wire):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schema")
    device_id: Text
    manifest_version: int = Field(ge=1)
    generated_at: AwareDatetime
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    timezone: Text = "Asia/Ho_Chi_Minh"
    content_hash: Sha256
    groups: tuple[GroupCode, ...] = Field(default=(), max_length=8)  # omitted on the wire when empty
    # Pre-positioned clips, one per risk level at most; omitted on the wire when empty (a device that
    # does not know the field ignores it; the content hash covers them when present).
    clips: tuple[Clip, ...] = Field(default=(), max_length=5)
    items: tuple[ManifestItem, ...] = ()

    @field_validator("generated_at", "valid_from", "valid_until")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return _utc_ms(value)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if len({item.id for item in self.items}) != len(self.items):
            raise ValueError("item ids must be unique")
        if len({clip.level for clip in self.clips}) != len(self.clips):
            raise ValueError("one clip per level")
        return self

    def clip_for(self, level: int) -> Clip | None:
        return next((c for c in self.clips if c.level == level), None)

    def header_wire(self) -> dict[str, Any]:
        return manifest_header(
            device_id=self.device_id,
            manifest_version=self.manifest_version,
            generated_at=self.generated_at,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            timezone=self.timezone,
            content_hash=self.content_hash,
            groups=self.groups,
            clips=[c.wire() for c in self.clips],
        )

    def canonical_bytes(self, items_json: bytes | None = None) -> bytes:
        """The exact bytes that are hashed, signed and sent. ``items_json`` (from ``items_bytes``) may
        be passed when it is already known, e.g. shared by all devices of one group."""
        if items_json is None:
            items_json = items_bytes(self.items)
        return splice_canonical(self.header_wire(), "items", items_json)


def manifest_header(
    *,
    device_id: str,
    manifest_version: int,
    generated_at: datetime,
    valid_from: datetime,
    valid_until: datetime,
    timezone: str,
    content_hash: str,
    groups: Sequence[str] = (),
    clips: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The wire form of every manifest field except ``items`` (``groups`` and ``clips`` only when
    there are any)."""
    out: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "device_id": device_id,
        "manifest_version": manifest_version,
        "generated_at": format_time(generated_at),
        "valid_from": format_time(valid_from),
        "valid_until": format_time(valid_until),
        "timezone": timezone,
        "content_hash": content_hash,
    }
    if groups:
        out["groups"] = list(groups)
    if clips:
        out["clips"] = list(clips)
    return out


# --- canonical bytes and hashes --------------------------------------------------------------------


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """UTF-8, sorted keys, no whitespace; NaN/Infinity refused (floats never appear in a manifest)."""
    return _CANONICAL.encode(value).encode("utf-8")


def item_bytes(item: ManifestItem) -> bytes:
    return canonical_json(item.wire())


def items_bytes(items: Iterable[ManifestItem]) -> bytes:
    """Canonical JSON of a list of items (identical to ``canonical_json([...])``)."""
    return join_items_bytes(item_bytes(i) for i in items)


def join_items_bytes(parts: Iterable[bytes]) -> bytes:
    """Canonical JSON list from the canonical bytes of each item (a compiler may cache them)."""
    return b"[" + b",".join(parts) + b"]"


def splice_canonical(header: dict[str, Any], key: str, raw_value: bytes) -> bytes:
    """Canonical JSON of ``{**header, key: <raw_value>}`` where ``raw_value`` is already canonical
    (two ``json.dumps`` calls however large the value: the compiler shares ``items`` between devices)."""
    before = {k: v for k, v in header.items() if k < key}
    after = {k: v for k, v in header.items() if k > key}
    parts = []
    if before:
        parts.append(canonical_json(before)[1:-1])
    parts.append(canonical_json(key) + b":" + raw_value)
    if after:
        parts.append(canonical_json(after)[1:-1])
    return b"{" + b",".join(parts) + b"}"


def content_hash_of(items_json: bytes, clips: Sequence[dict[str, Any]] = ()) -> str:
    """SHA-256 (hex) of the canonical ``{"items": ..., "schema": 1}`` — with ``"clips"`` when there
    are pre-positioned clips (so a manifest without them hashes as before)."""
    header: dict[str, Any] = {"schema": SCHEMA_VERSION}
    if clips:
        header["clips"] = list(clips)
    body = splice_canonical(header, "items", items_json)
    return hashlib.sha256(body).hexdigest()


def build_manifest(
    *,
    device_id: str,
    manifest_version: int,
    generated_at: datetime,
    valid_from: datetime,
    valid_until: datetime,
    items: Sequence[ManifestItem],
    timezone: str = "Asia/Ho_Chi_Minh",
    items_json: bytes | None = None,
    groups: Sequence[str] = (),
    clips: Sequence[Clip] = (),
) -> Manifest:
    ordered = tuple(sorted(items, key=item_order))
    if items_json is None:
        items_json = items_bytes(ordered)
    by_level = tuple(sorted(clips, key=lambda c: c.level))
    return Manifest(
        device_id=device_id,
        manifest_version=manifest_version,
        generated_at=generated_at,
        valid_from=valid_from,
        valid_until=valid_until,
        timezone=timezone,
        content_hash=content_hash_of(items_json, [c.wire() for c in by_level]),
        groups=tuple(groups),
        clips=by_level,
        items=ordered,
    )


def item_order(item: ManifestItem) -> tuple[datetime, int, str]:
    """The one order of items in a manifest: by start, higher priority first, then id."""
    return (item.start_at, -item.priority, item.id)


def decode_manifest(data: bytes) -> Manifest:
    """Parse manifest bytes, checking size, schema, canonical form and ``content_hash``."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError("Lịch phát quá lớn.", code="manifest_oversized")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ManifestError("Lịch phát không phải JSON hợp lệ.", code="manifest_not_json") from err
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_VERSION:
        raise ManifestError("Phiên bản định dạng lịch phát không được hỗ trợ.", code="manifest_bad_schema")
    if canonical_json(raw) != data:
        raise ManifestError("Lịch phát không ở dạng chuẩn.", code="manifest_not_canonical")
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as err:
        raise ManifestError("Lịch phát có dữ liệu không hợp lệ.", code="manifest_invalid") from err
    clips = raw.get("clips", [])
    if content_hash_of(canonical_json(raw.get("items", [])), clips if isinstance(clips, list) else []) != (
        manifest.content_hash
    ):
        raise ManifestError("Mã băm nội dung lịch phát không khớp.", code="manifest_hash_mismatch")
    return manifest


# --- Ed25519 signatures ----------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise ManifestError("Khóa công khai không hợp lệ.", code="public_key_invalid") from err


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short public name of a key (first 16 hex of the SHA-256 of the raw public key)."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def sign(manifest_bytes: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """The 64-byte Ed25519 signature of the canonical bytes."""
    return private_key.sign(manifest_bytes)


def verify(manifest_bytes: bytes, signature: bytes, public_key: Ed25519PublicKey | bytes) -> bool:
    """True only if ``signature`` is a valid Ed25519 signature of exactly these bytes."""
    try:
        key = load_public_key(public_key) if isinstance(public_key, bytes) else public_key
        key.verify(signature, manifest_bytes)
    except (InvalidSignature, ManifestError, ValueError, TypeError):
        return False
    return True


def open_signed(
    manifest_bytes: bytes, signature: bytes, public_keys: Sequence[Ed25519PublicKey | bytes]
) -> Manifest:
    """Device side: verify against any trusted key, then decode. Raises ``ManifestError``."""
    if not any(verify(manifest_bytes, signature, key) for key in public_keys):
        raise ManifestError("Chữ ký lịch phát không hợp lệ.", code="signature_invalid")
    return decode_manifest(manifest_bytes)


# --- differences, for people -----------------------------------------------------------------------

_COMPARED = (
    "title",
    "start_at",
    "duration_ms",
    "not_after_at",
    "priority",
    "preempt_rule",
    "volume_percent",
    "audio",
)


@dataclass(frozen=True)
class ItemChange:
    old: ManifestItem
    new: ManifestItem
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ManifestDiff:
    added: tuple[ManifestItem, ...]
    removed: tuple[ManifestItem, ...]
    changed: tuple[ItemChange, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary_vi(self) -> str:
        if self.empty:
            return "Không có thay đổi."
        parts = []
        if self.added:
            parts.append(f"thêm {len(self.added)} mục")
        if self.removed:
            parts.append(f"bỏ {len(self.removed)} mục")
        if self.changed:
            parts.append(f"thay đổi {len(self.changed)} mục")
        text = ", ".join(parts)
        return text[0].upper() + text[1:] + "."


def diff_manifests(old: Manifest | None, new: Manifest) -> ManifestDiff:
    """Items added, removed and changed (matched by id) between two manifests of one device."""
    before = {item.id: item for item in (old.items if old is not None else ())}
    after = {item.id: item for item in new.items}
    changed = []
    for item_id in sorted(before.keys() & after.keys()):
        a, b = before[item_id], after[item_id]
        fields = tuple(f for f in _COMPARED if getattr(a, f) != getattr(b, f))
        if fields:
            changed.append(ItemChange(a, b, fields))
    return ManifestDiff(
        added=tuple(sorted((after[i] for i in after.keys() - before.keys()), key=item_order)),
        removed=tuple(sorted((before[i] for i in before.keys() - after.keys()), key=item_order)),
        changed=tuple(changed),
    )

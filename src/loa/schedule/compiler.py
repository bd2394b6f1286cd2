"""Compile a schedule snapshot into one signed manifest per device for a window (default 48 hours).

Pure and deterministic: the same snapshot, window and ``generated_at`` give the same bytes, whatever
the order of the input. It scales by *target sets*: every device is reduced to the set of things that
reach it (its key); devices with the same key — typically the members of one group or village — share
one compilation, and only the small per-device header is serialised and signed per device.

Incremental recompilation (``recompile``) compares the new snapshot with the previous one, recompiles
only the devices reached by what changed, and issues a new ``manifest_version`` only where the content
hash changed (identical content is not re-sent).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.errors import InvalidInput
from loa.protocol import streams
from loa.protocol.manifest import (
    AudioKind,
    Manifest,
    ManifestItem,
    content_hash_of,
    item_bytes,
    join_items_bytes,
    manifest_header,
    sign,
    splice_canonical,
)
from loa.schedule.conflicts import Conflict, OverfullSlot, merge_conflicts, merge_overfull
from loa.schedule.layout import Engine, KeyResult, Notice
from loa.schedule.snapshot import Snapshot, check_snapshot

DEFAULT_WINDOW = timedelta(hours=48)
MAX_WINDOW = timedelta(days=14)
# A stream URL's token outlives its item by this much (a device reconnecting near the end, clock skew).
STREAM_TOKEN_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class Window:
    start_at: datetime
    end_at: datetime

    def __post_init__(self) -> None:
        for at in (self.start_at, self.end_at):
            if at.tzinfo is None or at.utcoffset() is None:
                raise InvalidInput("Khoảng thời gian lập lịch phải có múi giờ.", code="window_invalid")
        if self.end_at <= self.start_at:
            raise InvalidInput("Thời điểm kết thúc phải sau thời điểm bắt đầu.", code="window_invalid")
        if self.end_at - self.start_at > MAX_WINDOW:
            raise InvalidInput("Chỉ lập lịch tối đa 14 ngày một lần.", code="window_invalid")

    @classmethod
    def starting(cls, start_at: datetime, length: timedelta = DEFAULT_WINDOW) -> Window:
        """From ``start_at`` (floored to the minute) for ``length``."""
        start = start_at.astimezone(UTC).replace(second=0, microsecond=0)
        return cls(start, start + length)


@dataclass(frozen=True)
class DeviceState:
    """What the server last issued to a device (kept in the database between compilations)."""

    manifest_version: int
    content_hash: str
    valid_until: datetime


@dataclass(frozen=True)
class CompiledManifest:
    device_id: str
    manifest_version: int
    content_hash: str
    body: bytes  # the canonical bytes: serve these (gzip, ETag = sha256)
    sha256: str  # of ``body``; the MQTT ``state`` reference carries it
    signature: bytes | None  # Ed25519 over ``body``
    result: KeyResult = field(repr=False, compare=False)
    header: Mapping[str, object] = field(repr=False, compare=False)

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest.model_validate({**self.header, "items": self.result.items})


@dataclass(frozen=True)
class ChangeSet:
    """What changed since the previous compilation (ids). ``diff_snapshots`` finds it by comparison;
    a caller may add what comparison cannot see."""

    programmes: frozenset[str] = frozenset()
    announcements: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    everything: bool = False

    def __or__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(
            self.programmes | other.programmes,
            self.announcements | other.announcements,
            self.devices | other.devices,
            self.everything or other.everything,
        )


@dataclass(frozen=True)
class Compilation:
    window: Window
    generated_at: datetime
    snapshot: Snapshot
    manifests: Mapping[str, CompiledManifest]  # issued now: new content, or renewed cover
    states: Mapping[str, DeviceState]  # every device after this compilation
    changed: frozenset[str]  # devices whose content changed (a new version to send)
    renewed: frozenset[str]  # same content re-issued because its cover (valid_until) ran short
    removed: frozenset[str]  # devices no longer in the snapshot
    conflicts: tuple[Conflict, ...]
    overfull: tuple[OverfullSlot, ...]
    notices: tuple[Notice, ...]
    target_sets: int  # distinct keys among all devices
    compiled_target_sets: int  # keys compiled in this run (the rest were reused)
    engine: Engine = field(repr=False, compare=False)
    device_keys: Mapping[str, frozenset[str]] = field(repr=False, compare=False)
    results: Mapping[frozenset[str], KeyResult] = field(repr=False, compare=False)


def diff_snapshots(old: Snapshot, new: Snapshot) -> ChangeSet:
    """Ids of programmes (incl. their episodes), announcements and devices that differ."""
    if (old.extra_holidays, old.timezone, old.clips) != (new.extra_holidays, new.timezone, new.clips):
        return ChangeSet(everything=True)

    def changed_ids(a: Mapping[str, object], b: Mapping[str, object]) -> frozenset[str]:
        return frozenset(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))

    def episodes(s: Snapshot) -> dict[str, set[object]]:
        out: dict[str, set[object]] = defaultdict(set)
        for e in s.episodes:
            out[e.programme_id].add(e)
        return out

    programmes = changed_ids({p.id: p for p in old.programmes}, {p.id: p for p in new.programmes})
    programmes |= changed_ids(episodes(old), episodes(new))
    return ChangeSet(
        programmes=programmes,
        announcements=changed_ids({a.id: a for a in old.announcements}, {a.id: a for a in new.announcements}),
        devices=changed_ids({d.device_id: d for d in old.devices}, {d.device_id: d for d in new.devices}),
    )


def compile_manifests(
    snapshot: Snapshot,
    *,
    window: Window,
    generated_at: datetime,
    signing_key: Ed25519PrivateKey | None = None,
    previous: Mapping[str, DeviceState] | None = None,
    renew_below: timedelta | None = None,
    stream_key: bytes | None = None,
) -> Compilation:
    """Compile every device. ``previous`` (from the database) continues version numbers: a device whose
    content hash is unchanged keeps its version and is not re-issued, unless less than ``renew_below``
    (default: half the window) of its last manifest's cover remains."""
    check_snapshot(snapshot)
    engine = Engine(snapshot, window.start_at, window.end_at)
    prior = dict(previous or {})
    margin = renew_below if renew_below is not None else (window.end_at - window.start_at) / 2
    renew = {
        d for d, st in prior.items() if st.valid_until - window.start_at < margin and d in engine.devices
    }
    return _assemble(
        engine,
        window=window,
        generated_at=generated_at,
        signing_key=signing_key,
        prior=prior,
        device_keys={},
        results={},
        todo=set(engine.devices),
        renew=renew,
        stream_key=stream_key,
    )


def recompile(
    previous: Compilation,
    snapshot: Snapshot,
    *,
    generated_at: datetime,
    signing_key: Ed25519PrivateKey | None = None,
    changes: ChangeSet | None = None,
    stream_key: bytes | None = None,
) -> Compilation:
    """Recompile after a change, for the same window: only devices reached by what changed."""
    check_snapshot(snapshot)
    found = diff_snapshots(previous.snapshot, snapshot) | (changes or ChangeSet())
    if found.everything:
        return compile_manifests(
            snapshot,
            window=previous.window,
            generated_at=generated_at,
            signing_key=signing_key,
            previous=previous.states,
            stream_key=stream_key,
        )
    dirty_sources = frozenset(
        [*(f"P|{p}" for p in found.programmes), *(f"A|{a}" for a in found.announcements)]
    )
    old = previous.engine
    engine = old.derive(snapshot, programmes=found.programmes, announcements=found.announcements)
    todo = set(found.devices) | (engine.devices.keys() - previous.states.keys())
    for e in (old, engine):
        todo |= e.devices_reached(found.programmes, found.announcements)
    todo &= engine.devices.keys()
    results = {k: r for k, r in previous.results.items() if not (r.sources & dirty_sources)}
    device_keys = {d: k for d, k in previous.device_keys.items() if d in engine.devices}
    return _assemble(
        engine,
        window=previous.window,
        generated_at=generated_at,
        signing_key=signing_key,
        prior=dict(previous.states),
        device_keys=device_keys,
        results=results,
        todo=todo,
        renew=set(),
        stream_key=stream_key,
    )


def _assemble(
    engine: Engine,
    *,
    window: Window,
    generated_at: datetime,
    signing_key: Ed25519PrivateKey | None,
    prior: dict[str, DeviceState],
    device_keys: dict[str, frozenset[str]],
    results: dict[frozenset[str], KeyResult],
    todo: Iterable[str],
    renew: set[str],
    stream_key: bytes | None = None,
) -> Compilation:
    compiled = 0
    base = manifest_header(
        device_id="",
        manifest_version=1,
        generated_at=generated_at,
        valid_from=window.start_at,
        valid_until=window.end_at,
        timezone=engine.snapshot.timezone,
        content_hash="",
        clips=[c.wire() for c in engine.snapshot.clips],
    )
    clip_wires = base.get("clips", [])
    with_clips: dict[frozenset[str], str] = {}  # per target set: its hash with the clips
    manifests: dict[str, CompiledManifest] = {}
    changed: set[str] = set()
    renewed: set[str] = set()
    states = {d: st for d, st in prior.items() if d in engine.devices}
    for device_id in sorted(set(todo) | renew):
        key = engine.key_of(device_id)
        device_keys[device_id] = key
        result = results.get(key)
        if result is None:
            result = results[key] = engine.compile_key(key)
            compiled += 1
        result = _with_stream_tokens(result, device_id, stream_key)
        before = prior.get(device_id)
        # With pre-positioned clips the hash covers them too (``loa.protocol.manifest.content_hash_of``).
        content_hash = result.content_hash
        if clip_wires:
            if key not in with_clips:
                with_clips[key] = content_hash_of(result.items_json, clip_wires)
            content_hash = with_clips[key]
        if before is not None and before.content_hash == content_hash and device_id not in renew:
            continue
        version = before.manifest_version + 1 if before is not None else 1
        header = {
            **base,
            "device_id": device_id,
            "manifest_version": version,
            "content_hash": content_hash,
        }
        command_groups = engine.devices[device_id].command_groups
        if command_groups:
            header["groups"] = list(command_groups)
        body = splice_canonical(header, "items", result.items_json)
        manifests[device_id] = CompiledManifest(
            device_id=device_id,
            manifest_version=version,
            content_hash=content_hash,
            body=body,
            sha256=hashlib.sha256(body).hexdigest(),
            signature=sign(body, signing_key) if signing_key is not None else None,
            result=result,
            header=header,
        )
        states[device_id] = DeviceState(version, content_hash, window.end_at)
        if before is not None and before.content_hash == content_hash:
            renewed.add(device_id)
        else:
            changed.add(device_id)
    members: dict[frozenset[str], list[str]] = defaultdict(list)
    for device_id, key in device_keys.items():
        members[key].append(device_id)
    live_results = {k: results[k] for k in members}
    return Compilation(
        window=window,
        generated_at=generated_at,
        snapshot=engine.snapshot,
        manifests=manifests,
        states=states,
        changed=frozenset(changed),
        renewed=frozenset(renewed),
        removed=frozenset(prior.keys() - engine.devices.keys()),
        conflicts=tuple(
            merge_conflicts(c.with_devices(members[k]) for k, r in live_results.items() for c in r.conflicts)
        ),
        overfull=tuple(
            merge_overfull(w.with_devices(members[k]) for k, r in live_results.items() for w in r.overfull)
        ),
        notices=engine.notices(),
        target_sets=len(members),
        compiled_target_sets=compiled,
        engine=engine,
        device_keys=device_keys,
        results=live_results,
    )


def _tokened(item: ManifestItem, device_id: str, key: bytes) -> ManifestItem:
    end_at = item.not_after_at or item.start_at + timedelta(milliseconds=item.duration_ms)
    token = streams.make_token(
        key,
        device_id=device_id,
        mount=streams.mount_of(item.audio.url),
        expires_at=end_at + STREAM_TOKEN_MARGIN,
    )
    audio = item.audio.model_copy(update={"url": streams.with_token(item.audio.url, token)})
    return item.model_copy(update={"audio": audio})


def _with_stream_tokens(result: KeyResult, device_id: str, key: bytes | None) -> KeyResult:
    """The device's own copy of a target set's items when they include streams: each stream URL gets
    the device's token (``loa.protocol.streams``), so its items, hash and version are its own."""
    if key is None or not any(item.audio.kind is AudioKind.STREAM for item in result.items):
        return result
    items = tuple(
        _tokened(item, device_id, key) if item.audio.kind is AudioKind.STREAM else item
        for item in result.items
    )
    items_json = join_items_bytes(item_bytes(item) for item in items)
    return replace(result, items=items, items_json=items_json, content_hash=content_hash_of(items_json))

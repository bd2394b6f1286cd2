"""Compile the next 48 hours from the database and store one signed manifest per device that changed.

Manifests go into the fleet's ``device_manifests`` table with ``published_at`` empty; the fleet
gateway's outbox then publishes each device's retained ``state`` reference. A device whose content
hash is unchanged gets no new version. A process keeps its last compilation in a ``CompilationCache``
so that the next change recompiles only the devices it reaches (``loa.schedule.compiler.recompile``);
the cache is used only while the database still holds exactly what it compiled.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.errors import Conflict
from loa.fleet import keys, outbox
from loa.fleet.models import Device, DeviceManifest
from loa.protocol import streams
from loa.schedule.compiler import Compilation, DeviceState, Window, compile_manifests, recompile
from loa.schedule.dbsnapshot import load_snapshot

INCREMENTAL_FOR = timedelta(hours=1)  # reuse a cached window this long, then slide it forward


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The server's Ed25519 key (created once under ``data_dir`` with 0600 permissions, shared with
    the fleet, whose enrolment hands the public half to devices)."""
    return keys.load_or_create_signing_key(data_dir)


@dataclass
class CompilationCache:
    """The last compilation of this process (for incremental recompilation)."""

    last: Compilation | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class CompileReport:
    window: Window
    incremental: bool
    devices: int
    changed: tuple[str, ...]  # device ids with new content → new version stored
    renewed: tuple[str, ...]  # same content re-issued because its cover ran short
    removed: tuple[str, ...]
    versions: dict[str, int]  # new version per device issued now
    conflicts: tuple[str, ...]  # Vietnamese messages
    overfull: tuple[str, ...]
    notices: tuple[str, ...]
    target_sets: int
    compiled_target_sets: int

    def as_dict(self) -> dict[str, object]:
        return {
            "window": {
                "start_at": self.window.start_at.isoformat(),
                "end_at": self.window.end_at.isoformat(),
            },
            "incremental": self.incremental,
            "devices": self.devices,
            "changed": list(self.changed),
            "renewed": list(self.renewed),
            "removed": list(self.removed),
            "versions": self.versions,
            "conflicts": list(self.conflicts),
            "overfull": list(self.overfull),
            "notices": list(self.notices),
            "target_sets": self.target_sets,
            "compiled_target_sets": self.compiled_target_sets,
        }


def device_states(session: Session) -> dict[str, DeviceState]:
    """What each device was last issued (its newest manifest row)."""
    newest = (
        select(DeviceManifest.device_id, func.max(DeviceManifest.version).label("version"))
        .group_by(DeviceManifest.device_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Device.uid,
            DeviceManifest.version,
            DeviceManifest.content_hash,
            DeviceManifest.valid_until,
            DeviceManifest.id,
        )
        .join(
            newest,
            (newest.c.device_id == DeviceManifest.device_id) & (newest.c.version == DeviceManifest.version),
        )
        .join(Device, Device.id == DeviceManifest.device_id)
    ).all()
    out: dict[str, DeviceState] = {}
    for uid, version, content_hash, valid_until, row_id in rows:
        if content_hash is None or valid_until is None:
            # Stored by someone else (e.g. by hand): read the header of the body once.
            body = session.scalar(select(DeviceManifest.body).where(DeviceManifest.id == row_id))
            header = json.loads(body or b"{}")
            content_hash = str(header.get("content_hash", ""))
            valid_until = datetime.fromisoformat(str(header.get("valid_until", "1970-01-01T00:00:00Z")))
        out[uid] = DeviceState(version, content_hash, valid_until)
    return out


def _same_states(a: dict[str, DeviceState], b: dict[str, DeviceState]) -> bool:
    return a.keys() == b.keys() and all(
        (a[k].manifest_version, a[k].content_hash) == (b[k].manifest_version, b[k].content_hash) for k in a
    )


def compile_and_store(
    session: Session,
    *,
    key: Ed25519PrivateKey,
    now: datetime | None = None,
    cache: CompilationCache | None = None,
    full: bool = False,
    actor: Principal | None = None,
    reason: str = "",
) -> CompileReport:
    """Compile every device for the window starting now and store what changed (not committed)."""
    now = now or utcnow()
    if cache is None:
        return _run(session, key=key, now=now, cache=None, full=full, actor=actor, reason=reason)
    with cache.lock:
        return _run(session, key=key, now=now, cache=cache, full=full, actor=actor, reason=reason)


def _run(
    session: Session,
    *,
    key: Ed25519PrivateKey,
    now: datetime,
    cache: CompilationCache | None,
    full: bool,
    actor: Principal | None,
    reason: str,
) -> CompileReport:
    states = device_states(session)
    last = cache.last if cache is not None else None
    usable = (
        not full
        and last is not None
        and last.window.start_at <= now < last.window.start_at + INCREMENTAL_FOR
        and _same_states(states, dict(last.states))
    )
    window = last.window if usable and last is not None else Window.starting(now)
    loaded = load_snapshot(session, start_at=window.start_at, end_at=window.end_at)
    stream_key = streams.token_key(key.private_bytes_raw())
    if usable and last is not None:
        compilation = recompile(
            last, loaded.snapshot, generated_at=now, signing_key=key, stream_key=stream_key
        )
    else:
        compilation = compile_manifests(
            loaded.snapshot,
            window=window,
            generated_at=now,
            signing_key=key,
            previous=states,
            stream_key=stream_key,
        )
    _store(session, compilation, loaded.device_ids, window=window, now=now)
    if cache is not None:
        cache.last = compilation
    report = CompileReport(
        window=window,
        incremental=bool(usable),
        devices=len(loaded.device_ids),
        changed=tuple(sorted(compilation.changed)),
        renewed=tuple(sorted(compilation.renewed)),
        removed=tuple(sorted(compilation.removed)),
        versions={uid: c.manifest_version for uid, c in sorted(compilation.manifests.items())},
        conflicts=tuple(c.message for c in compilation.conflicts),
        overfull=tuple(w.message for w in compilation.overfull),
        notices=tuple(dict.fromkeys([*loaded.notices, *(n.message for n in compilation.notices)])),
        target_sets=compilation.target_sets,
        compiled_target_sets=compilation.compiled_target_sets,
    )
    if compilation.manifests or actor is not None:
        _audit(session, report, actor=actor, reason=reason)
    return report


def _store(
    session: Session, compilation: Compilation, device_ids: dict[str, int], *, window: Window, now: datetime
) -> None:
    """Store every new manifest; a concurrent compilation of the same versions is refused (409)."""
    rows = []
    for uid, compiled in compilation.manifests.items():
        assert compiled.signature is not None
        rows.append(
            DeviceManifest(
                device_id=device_ids[uid],
                version=compiled.manifest_version,
                sha256=compiled.sha256,
                body=compiled.body,
                signature=compiled.signature,
                content_hash=compiled.content_hash,
                valid_until=window.end_at,
                created_at=now,
            )
        )
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError as err:
        raise Conflict(
            "Lịch phát đang được lập đồng thời ở nơi khác. Vui lòng thử lại.", code="compile_concurrent"
        ) from err
    if rows:
        outbox.announce(session)  # the gateway publishes the new state references at commit


def _audit(session: Session, report: CompileReport, *, actor: Principal | None, reason: str) -> None:
    record(
        session,
        action="schedule.manifests_issue",
        actor=actor,
        actor_name=None if actor is not None else "hệ thống",
        target_type="schedule",
        target_id="manifests",
        details={
            "reason": reason,
            "incremental": report.incremental,
            "changed": len(report.changed),
            "renewed": len(report.renewed),
            "devices": report.devices,
            "sample": list(report.versions)[:20],
        },
    )


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()

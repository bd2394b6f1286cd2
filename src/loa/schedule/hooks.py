"""What other packages call when something scheduling depends on changes. Each call recompiles
(incrementally when this process compiled last) and stores new manifests for the devices that changed,
in the caller's transaction; the fleet gateway publishes them from ``device_manifests``.

* content, after a bulletin's status or approved audio changes (approve, publish, archive, an edit of an
  approved bulletin, TTS audio attached)::

      from loa.schedule.hooks import bulletin_changed
      bulletin_changed(session, bulletin_id=bulletin.id, data_dir=settings.data_dir)

* fleet, after devices are created, moved (commune, station, village), deactivated or change groups::

      from loa.schedule.hooks import devices_changed
      devices_changed(session, data_dir=settings.data_dir)

* alerts, after an alert starts, stops or expires (its rounds enter or leave the manifests)::

      from loa.schedule.hooks import alerts_changed
      alerts_changed(session, alert_ids={12}, data_dir=settings.data_dir)

* live, after a live session or relay goes on air, stops or is scheduled (``loa.live``)::

      streams_changed(session, data_dir=settings.data_dir)   # recompile + ``sync`` to those devices

* a timer (the gateway runner, cron, ``loa schedule compile``) at least every few hours, so that the
  48-hour cover slides forward: ``periodic_compile(session, data_dir=settings.data_dir)``.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.orm import Session

from loa.fleet.models import Device
from loa.fleet.service import issue_command
from loa.schedule import models as m
from loa.schedule.manifests import CompilationCache, CompileReport, compile_and_store, signing_key

_caches: weakref.WeakKeyDictionary[Engine, CompilationCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(session: Session) -> CompilationCache:
    """This process's last compilation for the session's database."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = CompilationCache()
        return cache


def publish(
    session: Session, *, data_dir: Path, reason: str, now: datetime | None = None, full: bool = False
) -> CompileReport:
    return compile_and_store(
        session, key=signing_key(data_dir), now=now, cache=cache_for(session), full=full, reason=reason
    )


def bulletin_changed(
    session: Session, *, bulletin_id: int, data_dir: Path, now: datetime | None = None
) -> CompileReport | None:
    """Recompile if the bulletin is in any running order or announcement (None otherwise)."""
    used = session.scalar(
        select(
            or_(
                exists().where(m.RunningOrderItem.bulletin_id == bulletin_id),
                exists().where(
                    m.Announcement.bulletin_id == bulletin_id,
                    m.Announcement.status == m.AnnouncementStatus.SCHEDULED,
                ),
            )
        )
    )
    if not used:
        return None
    return publish(session, data_dir=data_dir, reason=f"bulletin:{bulletin_id}", now=now)


def devices_changed(session: Session, *, data_dir: Path, now: datetime | None = None) -> CompileReport:
    return publish(session, data_dir=data_dir, reason="devices", now=now)


def alerts_changed(
    session: Session, *, alert_ids: set[int], data_dir: Path, now: datetime | None = None
) -> CompileReport:
    reason = "alert:" + ",".join(str(i) for i in sorted(alert_ids))
    return publish(session, data_dir=data_dir, reason=reason[:200], now=now)


def periodic_compile(session: Session, *, data_dir: Path, now: datetime | None = None) -> CompileReport:
    return publish(session, data_dir=data_dir, reason="periodic", now=now, full=True)


def streams_changed(session: Session, *, data_dir: Path, now: datetime | None = None) -> CompileReport:
    """Recompile, then send every device whose manifest changed a ``sync``: a live broadcast must
    reach loudspeakers now, not at their next periodic fetch."""
    report = publish(session, data_dir=data_dir, reason="streams", now=now)
    if report.changed:
        devices = list(
            session.scalars(select(Device).where(Device.uid.in_(report.changed), Device.active.is_(True)))
        )
        if devices:
            issue_command(session, devices=devices, kind="sync", args={}, issued_by="hệ thống", now=now)
    return report

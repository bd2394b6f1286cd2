"""The retained ``state`` reference of each device: built once here for the gateway's outbox and for
publishing every device's current one again when the broker has lost them.

A broker that restarts without persistence (or whose persistence file is lost) forgets its retained
messages and the gateway's session; the gateway learns it from the CONNACK (no session present) and
publishes the newest published manifest's reference of every active device again, before anything
newer from the outbox. Devices compare the version with the one they hold, so a reference they
already have costs them nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from loa.fleet import service
from loa.fleet.models import Device, DeviceManifest
from loa.protocol import messages as m
from loa.protocol.topics import valid_group_code
from loa.units.models import AdminUnit


def state_ref(*, uid: str, version: int, sha256: str, commune_code: str | None, now: datetime) -> m.StateRef:
    return m.StateRef(
        manifest_version=version,
        sha256=sha256,
        url=service.manifest_url(uid),
        issued_at=now,
        groups=[commune_code] if commune_code and valid_group_code(commune_code) else [],
    )


def published_states(session: Session, *, now: datetime) -> list[tuple[str, m.StateRef]]:
    """(device id, reference) of the newest published manifest of every active device."""
    newest = (
        select(DeviceManifest.device_id, func.max(DeviceManifest.version).label("version"))
        .where(DeviceManifest.published_at.is_not(None))
        .group_by(DeviceManifest.device_id)
        .subquery()
    )
    rows = session.execute(
        select(Device.uid, DeviceManifest.version, DeviceManifest.sha256, AdminUnit.code)
        .join(
            newest,
            and_(newest.c.device_id == DeviceManifest.device_id, newest.c.version == DeviceManifest.version),
        )
        .join(Device, Device.id == DeviceManifest.device_id)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.active.is_(True))
        .order_by(Device.uid)
    ).all()
    return [
        (r.uid, state_ref(uid=r.uid, version=r.version, sha256=r.sha256, commune_code=r.code, now=now))
        for r in rows
    ]

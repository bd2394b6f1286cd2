"""Read models for the API and the dashboard, scoped to what a principal may see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.accounts.scope import NO_AREA, in_scope
from loa.db.base import one_of, utcnow
from loa.errors import NotFound
from loa.fleet.models import (
    Device,
    DeviceCommand,
    DeviceCommandBatch,
    DeviceStatusLog,
    PlayReceipt,
    StatusEvent,
)
from loa.fleet.service import Commandable
from loa.units.models import AdminUnit

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class DeviceRow:
    device: Device
    commune_name: str | None
    commune_path: str | None


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _scoped(stmt: S, principal: Principal | None) -> S:
    """Restrict a statement joined with ``AdminUnit`` to the principal's areas (None: the system)."""
    return stmt if principal is None else stmt.where(in_scope(principal, AdminUnit.path))


def _with_commune() -> Select[Device, str, str]:  # commune name and path are None without one
    return select(Device, AdminUnit.name, AdminUnit.path).outerjoin(
        AdminUnit, AdminUnit.id == Device.commune_id
    )


def list_devices(
    session: Session,
    *,
    principal: Principal | None,
    commune_id: int | None = None,
    search: str = "",
    limit: int = 500,
) -> list[DeviceRow]:
    stmt = _scoped(_with_commune().where(Device.active.is_(True)), principal)
    if commune_id is not None:
        stmt = stmt.where(Device.commune_id == commune_id)
    if search.strip():
        like = f"%{search.strip()}%"
        stmt = stmt.where(Device.name.ilike(like) | Device.uid.ilike(like) | Device.village.ilike(like))
    stmt = stmt.order_by(AdminUnit.name, Device.name).limit(limit)
    return [DeviceRow(d, name, path) for d, name, path in session.execute(stmt).all()]


def _in_scope(principal: Principal | None, path: str | None) -> bool:
    """The device's commune is in scope (None principal: the system; no commune: administrators only)."""
    return principal is None or principal.can_access_path(path or NO_AREA)


def visible_device_row(session: Session, *, principal: Principal | None, uid: str) -> DeviceRow:
    """The device with its commune: NotFound if it does not exist or lies outside the principal's
    areas (the same answer, so a device id reveals nothing)."""
    row = session.execute(_with_commune().where(Device.uid == uid)).first()
    if row is None or not _in_scope(principal, row[2]):
        raise NotFound(f"Không tìm thấy cụm loa {uid}.", code="device_not_found")
    device, name, path = row
    return DeviceRow(device, name, path)


def visible_device(session: Session, *, principal: Principal | None, uid: str) -> Device:
    return visible_device_row(session, principal=principal, uid=uid).device


def visible_devices(
    session: Session, *, principal: Principal | None, uids: Sequence[str]
) -> list[Commandable]:
    """Active devices by id, all of them in the principal's areas (else NotFound: a device outside them
    is answered like a missing one)."""
    wanted = list(dict.fromkeys(uids))
    rows: list[Any] = []
    for start in range(0, len(wanted), 10_000):  # below SQLite's parameter limit
        rows += session.execute(
            select(Device.id, Device.uid, Device.commune_id, Device.active, AdminUnit.path)
            .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(one_of(session, Device.uid, wanted[start : start + 10_000]), Device.active.is_(True))
        ).all()
    everywhere = principal is None or principal.is_admin  # skip 10,000 checks that cannot fail
    missing = set(wanted) - {r.uid for r in rows if everywhere or _in_scope(principal, r.path)}
    if missing:
        raise NotFound(f"Không tìm thấy cụm loa: {', '.join(sorted(missing)[:20])}.", code="device_not_found")
    # The rows already have what a command needs (id, uid, commune_id, active): no copy of 10,000.
    return cast(list[Commandable], rows)


def communes_in_scope(session: Session, *, principal: Principal) -> list[AdminUnit]:
    """Communes (with or without devices) a principal may add devices to, by name."""
    from loa.areas.logic import COMMUNE_KINDS

    stmt = select(AdminUnit).where(
        AdminUnit.kind.in_(list(COMMUNE_KINDS)),
        AdminUnit.valid_to.is_(None),
        in_scope(principal, AdminUnit.path),
    )
    return list(session.scalars(stmt.order_by(AdminUnit.name).limit(2000)))


def receipts_for(session: Session, *, device: Device, limit: int = 50) -> list[PlayReceipt]:
    return list(
        session.scalars(
            select(PlayReceipt)
            .where(PlayReceipt.device_id == device.id)
            .order_by(PlayReceipt.started_at.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ReceiptPage:
    receipts: list[PlayReceipt]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def receipts_page(
    session: Session,
    *,
    device: Device,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ReceiptPage:
    """Proof of play, newest first. ``since`` inclusive, ``until`` exclusive (by start time)."""
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    conditions = [PlayReceipt.device_id == device.id]
    if since is not None:
        conditions.append(PlayReceipt.started_at >= since)
    if until is not None:
        conditions.append(PlayReceipt.started_at < until)
    total = int(session.scalar(select(func.count()).select_from(PlayReceipt).where(*conditions)) or 0)
    rows = session.scalars(
        select(PlayReceipt)
        .where(*conditions)
        .order_by(PlayReceipt.started_at.desc(), PlayReceipt.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return ReceiptPage(list(rows), total, page, per_page)


def receipt_count(session: Session, *, device: Device, since: datetime | None = None) -> int:
    stmt = select(func.count()).select_from(PlayReceipt).where(PlayReceipt.device_id == device.id)
    if since is not None:
        stmt = stmt.where(PlayReceipt.started_at >= since)
    return int(session.scalar(stmt) or 0)


def online_changes(session: Session, *, device: Device, since: datetime) -> list[tuple[datetime, bool]]:
    """Online/offline changes from ``since`` on, plus the last one before it (the starting state)."""
    kinds = (StatusEvent.ONLINE, StatusEvent.OFFLINE)
    base = select(DeviceStatusLog.at, DeviceStatusLog.event).where(
        DeviceStatusLog.device_id == device.id, DeviceStatusLog.event.in_(kinds)
    )
    before = session.execute(
        base.where(DeviceStatusLog.at <= since).order_by(DeviceStatusLog.at.desc()).limit(1)
    ).all()
    after = session.execute(base.where(DeviceStatusLog.at > since).order_by(DeviceStatusLog.at)).all()
    return [(at, event is StatusEvent.ONLINE) for at, event in [*before, *after]]


def status_log(session: Session, *, device: Device, limit: int = 20) -> list[DeviceStatusLog]:
    return list(
        session.scalars(
            select(DeviceStatusLog)
            .where(DeviceStatusLog.device_id == device.id)
            .order_by(DeviceStatusLog.at.desc(), DeviceStatusLog.id.desc())
            .limit(limit)
        )
    )


def recent_commands(session: Session, *, device: Device, limit: int = 20) -> list[DeviceCommand]:
    """The device's commands, newest first, with group commands still waiting for the gateway (their
    per-device rows are written when they are published) shown as unsaved rows."""
    code = session.scalar(select(AdminUnit.code).where(AdminUnit.id == device.commune_id))
    waiting = session.scalars(
        select(DeviceCommandBatch).where(
            DeviceCommandBatch.sent_at.is_(None),
            DeviceCommandBatch.expires_at > utcnow(),
            DeviceCommandBatch.group_code.in_(["", code or ""]),
            or_(
                DeviceCommandBatch.targets.is_(None),
                DeviceCommandBatch.targets.contains(json.dumps(device.uid)),
            ),
        )
    ).all()
    pending = [
        DeviceCommand(
            id=b.id,
            device_id=device.id,
            kind=b.kind,
            issued_by=b.issued_by,
            issued_at=b.issued_at,
            batch_id=b.id,
        )
        for b in waiting
    ]
    stored = session.scalars(
        select(DeviceCommand)
        .where(DeviceCommand.device_id == device.id)
        .order_by(DeviceCommand.issued_at.desc())
        .limit(limit)
    ).all()
    return [*pending, *stored][:limit]


def device_password_entries(session: Session) -> list[tuple[str, str]]:
    """(device id, ``$7$`` hash) of every active, enrolled device."""
    rows = session.execute(
        select(Device.uid, Device.mqtt_password_hash).where(
            Device.active.is_(True), Device.mqtt_password_hash.is_not(None)
        )
    ).all()
    return sorted((uid, h) for uid, h in rows if h)


def device_bcrypt_entries(session: Session) -> list[tuple[str, str]]:
    """(device id, bcrypt hash) of every active device enrolled since the NATS option exists."""
    rows = session.execute(
        select(Device.uid, Device.bcrypt_password_hash).where(
            Device.active.is_(True), Device.bcrypt_password_hash.is_not(None)
        )
    ).all()
    return sorted((uid, h) for uid, h in rows if h)

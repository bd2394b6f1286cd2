"""Read models for the API and the dashboard, scoped to what a principal may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, Unpack

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.areas.models import AdminUnit
from loa.errors import NotFound
from loa.fleet.models import Device, PlayReceipt


@dataclass(frozen=True)
class DeviceRow:
    device: Device
    commune_name: str | None
    commune_path: str | None


S = TypeVar("S", bound=Select[Unpack[tuple[Any, ...]]])


def _scoped(stmt: S, principal: Principal | None) -> S:
    """Restrict a statement joined with ``AdminUnit`` to the principal's areas (admins: all)."""
    if principal is None or principal.is_admin:
        return stmt
    if not principal.scope_paths:
        return stmt.where(false())
    return stmt.where(or_(*(AdminUnit.path.startswith(p) for p in principal.scope_paths)))


def list_devices(
    session: Session,
    *,
    principal: Principal | None,
    commune_id: int | None = None,
    search: str = "",
    limit: int = 500,
) -> list[DeviceRow]:
    stmt = (
        select(Device, AdminUnit.name, AdminUnit.path)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.active.is_(True))
    )
    stmt = _scoped(stmt, principal)
    if commune_id is not None:
        stmt = stmt.where(Device.commune_id == commune_id)
    if search.strip():
        like = f"%{search.strip()}%"
        stmt = stmt.where(Device.name.ilike(like) | Device.uid.ilike(like) | Device.village.ilike(like))
    stmt = stmt.order_by(AdminUnit.name, Device.name).limit(limit)
    return [DeviceRow(d, name, path) for d, name, path in session.execute(stmt).all()]


def visible_device(session: Session, *, principal: Principal | None, uid: str) -> Device:
    """The device, if it exists and lies in the principal's areas (else NotFound, not 403)."""
    stmt = (
        select(Device, AdminUnit.name, AdminUnit.path)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.uid == uid)
    )
    row = session.execute(_scoped(stmt, principal)).first()
    if row is None:
        raise NotFound(f"Không tìm thấy cụm loa {uid}.")
    device: Device = row[0]
    return device


def visible_devices(session: Session, *, principal: Principal | None, uids: Sequence[str]) -> list[Device]:
    stmt = (
        select(Device, AdminUnit.name, AdminUnit.path)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.uid.in_(list(uids)), Device.active.is_(True))
    )
    found = [row[0] for row in session.execute(_scoped(stmt, principal)).all()]
    missing = set(uids) - {d.uid for d in found}
    if missing:
        raise NotFound(f"Không tìm thấy cụm loa: {', '.join(sorted(missing))}.")
    return found


def receipts_for(session: Session, *, device: Device, limit: int = 50) -> list[PlayReceipt]:
    return list(
        session.scalars(
            select(PlayReceipt)
            .where(PlayReceipt.device_id == device.id)
            .order_by(PlayReceipt.started_at.desc())
            .limit(limit)
        )
    )


def receipt_count(session: Session, *, device: Device, since: datetime | None = None) -> int:
    stmt = select(func.count()).select_from(PlayReceipt).where(PlayReceipt.device_id == device.id)
    if since is not None:
        stmt = stmt.where(PlayReceipt.started_at >= since)
    return int(session.scalar(stmt) or 0)

"""Where each device belongs, for the compiler: its province, commune, village, station and groups,
resolved from the fleet's rows at compile time (a village typed on a device is matched by code or by
name)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.areas.logic import name_key
from loa.fleet.models import Device, DeviceGroupMember
from loa.protocol.topics import valid_group_code
from loa.schedule.snapshot import DeviceMembership
from loa.units.models import AdminUnit, Station, UnitKind

_VILLAGE_KINDS = (UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)


def _communes(session: Session, commune_ids: set[int]) -> dict[int, tuple[str, str]]:
    """unit id → (code, path) of the devices' communes."""
    if not commune_ids:
        return {}
    return {
        uid: (code, path)
        for uid, code, path in session.execute(
            select(AdminUnit.id, AdminUnit.code, AdminUnit.path).where(AdminUnit.id.in_(commune_ids))
        ).all()
    }


def _villages(session: Session, commune_ids: set[int]) -> dict[int, dict[str, str]]:
    """commune id → its villages' codes, found by code or by folded name."""
    villages: dict[int, dict[str, str]] = defaultdict(dict)
    for parent, unit_code, name in session.execute(
        select(AdminUnit.parent_id, AdminUnit.code, AdminUnit.name).where(
            AdminUnit.parent_id.in_(commune_ids), AdminUnit.kind.in_(_VILLAGE_KINDS)
        )
    ).all():
        if parent is not None:
            villages[parent][unit_code] = unit_code
            villages[parent][name_key(name)] = unit_code
    return villages


def _groups(session: Session, device_ids: dict[str, int], *, every: bool) -> dict[int, list[str]]:
    """devices.id → the ids of its groups (of every device, or of ``device_ids`` only)."""
    groups: dict[int, list[str]] = defaultdict(list)
    member_query = select(DeviceGroupMember.device_id, DeviceGroupMember.group_id)
    if not every:
        member_query = member_query.where(DeviceGroupMember.device_id.in_(list(device_ids.values())))
    for device_id, group_id in session.execute(member_query.order_by(DeviceGroupMember.group_id)).all():
        groups[device_id].append(str(group_id))
    return groups


def load_memberships(
    session: Session, *, uids: Iterable[str] | None = None
) -> tuple[list[DeviceMembership], dict[str, int]]:
    """Where every active device belongs (or only ``uids``)."""
    query = select(Device.id, Device.uid, Device.commune_id, Device.station_id, Device.village).where(
        Device.active.is_(True)
    )
    if uids is not None:
        query = query.where(Device.uid.in_(list(uids)))
    rows = session.execute(query.order_by(Device.uid)).all()
    station_ids = {r.station_id for r in rows if r.station_id is not None}
    station_commune = (
        dict(session.execute(select(Station.id, Station.commune_id).where(Station.id.in_(station_ids))).all())
        if station_ids
        else {}
    )

    def commune_of(row: Any) -> int | None:
        if row.commune_id is not None:
            return int(row.commune_id)
        return station_commune.get(row.station_id) if row.station_id is not None else None

    commune_ids = {c for r in rows if (c := commune_of(r)) is not None}
    communes = _communes(session, commune_ids)
    villages = _villages(session, commune_ids) if commune_ids and any(r.village for r in rows) else {}
    device_ids = {r.uid: r.id for r in rows}
    groups = _groups(session, device_ids, every=uids is None)
    out = []
    for r in rows:
        commune_id = commune_of(r)
        code: str | None = None
        path: str | None = None
        if commune_id is not None and commune_id in communes:
            code, path = communes[commune_id]
        province = path.strip("/").split("/")[0] if path else None
        village: str | None = None
        if r.village and commune_id is not None:
            known = villages.get(commune_id, {})
            village = known.get(r.village.strip()) or known.get(name_key(r.village))
        out.append(
            DeviceMembership(
                device_id=r.uid,
                province=province,
                commune=code,
                village=village,
                station=str(r.station_id) if r.station_id is not None else None,
                groups=tuple(groups.get(r.id, ())),
                command_groups=_command_groups(r.commune_id, communes),
            )
        )
    return out, device_ids


def _command_groups(commune_id: int | None, communes: dict[int, tuple[str, str]]) -> tuple[str, ...]:
    """The device's own commune (not a station's): the group its commune's commands are sent to
    (``loa.fleet.fanout``), named in its manifest."""
    code = communes[commune_id][0] if commune_id is not None and commune_id in communes else None
    return (code,) if code is not None and valid_group_code(code) else ()

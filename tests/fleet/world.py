"""A small world for fleet web/API tests: Quảng Ngãi with two communes, their people and devices."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.db import make_session_factory
from loa.fleet import service
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.units.models import AdminUnit, UnitKind
from tests.support.auth import make_user

PROVINCE, COMMUNE_A, COMMUNE_B = "51", "21484", "21490"

PEOPLE: tuple[tuple[str, Role, str | None], ...] = (
    ("quantri", Role.ADMIN, None),
    ("vanhanh.a", Role.COMMUNE_OPERATOR, COMMUNE_A),
    ("vanhanh.b", Role.COMMUNE_OPERATOR, COMMUNE_B),
    ("xem.a", Role.VIEWER, COMMUNE_A),
    ("tinh", Role.PROVINCE_EDITOR, PROVINCE),
)

DEVICES: tuple[tuple[str, str, str, float | None, float | None], ...] = (
    ("loa-a00000000001", "Cụm loa thôn 1", COMMUNE_A, 14.772, 108.723),
    ("loa-a00000000002", "Cụm loa chợ Ba Tơ", COMMUNE_A, 14.768, 108.731),
    ("loa-b00000000001", "Cụm loa UBND xã Ba Vì", COMMUNE_B, None, None),
)


def seed_fleet_world(session: Session) -> None:
    province = AdminUnit(
        code=PROVINCE, kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    units = {}
    for code, name in ((COMMUNE_A, "Ba Tơ"), (COMMUNE_B, "Ba Vì")):
        unit = AdminUnit(
            code=code,
            kind=UnitKind.COMMUNE,
            name=name,
            name_folded=name.lower(),
            parent_id=province.id,
            path=f"/51/{code}/",
        )
        session.add(unit)
        session.flush()
        units[code] = unit
    for username, role, area in PEOPLE:
        make_user(session, username, role, area)
    for uid, name, commune, lat, lon in DEVICES:
        service.create_device(
            session, uid=uid, name=name, commune_id=units[commune].id, latitude=lat, longitude=lon
        )


@dataclass(frozen=True)
class DeviceIds:
    a1: str = DEVICES[0][0]
    a2: str = DEVICES[1][0]
    b1: str = DEVICES[2][0]


IDS = DeviceIds()


def device(session: Session, uid: str) -> Device:
    found = session.scalar(select(Device).where(Device.uid == uid))
    assert found is not None
    return found


# --- what commands and pages need: a playable audio, and the commands queued ----------------------

SHA = "cd" * 32


def add_asset(engine: Engine, sha: str = SHA, name: str = "thong-bao-tiem-chung.mp3") -> None:
    with make_session_factory(engine)() as s, s.begin():
        s.add(
            AudioAsset(
                sha256=sha,
                format="mp3",
                size_bytes=1000,
                duration_ms=65_000,
                loudness_lufs=-16.0,
                true_peak_dbtp=-1.5,
                sample_rate=22050,
                source_kind=AudioSourceKind.UPLOAD,
                original_filename=name,
            )
        )


def commands(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    """(device, kind, args) of every command queued, group messages expanded to the devices they
    address (their per-device rows are only written when the gateway publishes them)."""
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(Device.uid, DeviceCommand.kind, DeviceCommand.payload)
            .join(Device, Device.id == DeviceCommand.device_id)
            .where(DeviceCommand.batch_id.is_(None))
        ).all()
        out = [(uid, kind, json.loads(payload)["args"]) for uid, kind, payload in rows]
        for batch in s.scalars(select(DeviceCommandBatch)):
            args = json.loads(batch.payload)["args"]
            out += [(uid, batch.kind, args) for _, uid in s.execute(service.batch_members(s, batch=batch))]
    return sorted(out, key=lambda r: (r[0], r[1], json.dumps(r[2], sort_keys=True)))

"""Fleet use cases: devices, enrolment, manifests, commands. Keyword-only, session first, never commit.

Ingest (status, receipts, online/offline) is in ``loa.fleet.ingest``; it is called by the gateway.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Select, String, cast, delete, func, insert, literal, select, true
from sqlalchemy.orm import Session

from loa.db.base import dialect_insert, one_of, utcnow
from loa.db.changes import mark_changed
from loa.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from loa.fleet import credentials, outbox
from loa.fleet.fanout import Member, plan_fanout
from loa.fleet.models import (
    Device,
    DeviceCommand,
    DeviceCommandBatch,
    DeviceGroup,
    DeviceGroupMember,
    DeviceManifest,
    DeviceStatusLog,
    StatusEvent,
)
from loa.protocol import messages as m
from loa.protocol.topics import Channel, valid_device_id, valid_group_code
from loa.units.models import AdminUnit

ENROL_CODE_TTL = timedelta(days=7)
COMMAND_TTL = timedelta(minutes=10)


def create_device(
    session: Session,
    *,
    name: str,
    commune_id: int | None = None,
    station_id: int | None = None,
    village: str = "",
    uid: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Device:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Tên cụm loa không được để trống và tối đa 200 ký tự.")
    uid = uid or credentials.new_device_uid()
    if not valid_device_id(uid):
        raise InvalidInput("Mã thiết bị chỉ gồm chữ thường, số và dấu gạch ngang (3–64 ký tự).")
    if session.scalar(select(Device.id).where(Device.uid == uid)) is not None:
        raise Conflict(f"Mã thiết bị {uid} đã tồn tại.")
    device = Device(
        uid=uid,
        name=name,
        commune_id=commune_id,
        station_id=station_id,
        village=village.strip(),
        latitude=latitude,
        longitude=longitude,
    )
    session.add(device)
    session.flush()
    _devices_changed(session)
    return device


def _devices_changed(session: Session) -> None:
    """Tell scheduling (subscribed in ``loa.wiring``) to recompile manifests before this commit."""
    mark_changed(session, "devices", True)


def move_device(
    session: Session, *, device: Device, commune_id: int | None, station_id: int | None, village: str
) -> Device:
    """Change where a device stands (commune, station, village): its schedule follows in the commit."""
    village = village.strip()[:200]
    if (device.commune_id, device.station_id, device.village) != (commune_id, station_id, village):
        device.commune_id, device.station_id, device.village = commune_id, station_id, village
        session.flush()
        _devices_changed(session)
    return device


def deactivate_device(session: Session, *, device: Device) -> None:
    """Retire a device: it may no longer connect, and it leaves every compiled schedule."""
    if device.active:
        device.active = False
        session.flush()
        _devices_changed(session)


def set_group_members(session: Session, *, group: DeviceGroup, device_ids: Sequence[int]) -> None:
    """Replace a device group's members (programmes may target groups)."""
    wanted = set(device_ids)
    current = set(
        session.scalars(select(DeviceGroupMember.device_id).where(DeviceGroupMember.group_id == group.id))
    )
    if wanted == current:
        return
    if current - wanted:
        session.execute(
            delete(DeviceGroupMember).where(
                DeviceGroupMember.group_id == group.id, DeviceGroupMember.device_id.in_(current - wanted)
            )
        )
    session.add_all(DeviceGroupMember(group_id=group.id, device_id=d) for d in sorted(wanted - current))
    session.flush()
    _devices_changed(session)


def get_device(session: Session, *, uid: str) -> Device:
    device = session.scalar(select(Device).where(Device.uid == uid))
    if device is None:
        raise NotFound(f"Không tìm thấy cụm loa {uid}.")
    return device


def issue_enrol_code(
    session: Session, *, device: Device, ttl: timedelta = ENROL_CODE_TTL, now: datetime | None = None
) -> str:
    """A fresh one-time code (shown once, as text and QR). Any earlier code stops working."""
    code = credentials.new_enrol_code()
    device.enrol_code_sha256 = credentials.sha256_hex(code)
    device.enrol_code_expires_at = (now or utcnow()) + ttl
    session.flush()
    return code


@dataclass(frozen=True)
class Enrolment:
    device_uid: str
    secret: str
    device_name: str
    groups: tuple[str, ...] = ()


def command_groups(session: Session, *, device: Device) -> tuple[str, ...]:
    """The commune groups whose signed commands reach ``device`` (``loa.fleet.fanout``: its own
    commune's code), as enrolment, the manifest and the retained ``state`` tell the device."""
    if device.commune_id is None:
        return ()
    code = session.scalar(select(AdminUnit.code).where(AdminUnit.id == device.commune_id))
    return (code,) if code is not None and valid_group_code(code) else ()


def enrol(session: Session, *, code: str, now: datetime | None = None) -> Enrolment:
    """Consume a one-time code: the device gets its id and a new secret (old credentials die)."""
    now = now or utcnow()
    digest = credentials.sha256_hex(credentials.normalise_enrol_code(code))
    device = session.scalar(select(Device).where(Device.enrol_code_sha256 == digest))
    if device is None or not device.active:
        raise AuthenticationFailed("Mã đăng ký không đúng hoặc đã được sử dụng.", code="enrol_code_invalid")
    if device.enrol_code_expires_at is None or device.enrol_code_expires_at <= now:
        raise AuthenticationFailed("Mã đăng ký đã hết hạn. Hãy tạo mã mới.", code="enrol_code_expired")
    secret = credentials.new_secret()
    device.secret_sha256 = credentials.sha256_hex(secret)
    device.mqtt_password_hash = credentials.mosquitto_hash(secret)
    device.bcrypt_password_hash = credentials.bcrypt_hash(secret)
    device.enrol_code_sha256 = None
    device.enrol_code_expires_at = None
    device.enrolled_at = now
    session.add(DeviceStatusLog(device_id=device.id, at=now, event=StatusEvent.ENROLLED))
    session.flush()
    return Enrolment(
        device_uid=device.uid,
        secret=secret,
        device_name=device.name,
        groups=command_groups(session, device=device),
    )


def authenticate_device(session: Session, *, uid: str, secret: str) -> Device:
    device = session.scalar(select(Device).where(Device.uid == uid))
    if device is None or not device.active or not credentials.verify_secret(secret, device.secret_sha256):
        raise AuthenticationFailed("Thông tin xác thực thiết bị không đúng.", code="device_auth_failed")
    return device


def set_manifest(
    session: Session, *, device: Device, version: int, body: bytes, signature: bytes
) -> DeviceManifest:
    """Store a signed manifest for a device; the gateway then publishes its ``state`` reference."""
    latest = current_manifest(session, device=device)
    if latest is not None and version <= latest.version:
        raise Conflict(f"Phiên bản lịch {version} không mới hơn phiên bản hiện tại {latest.version}.")
    row = DeviceManifest(
        device_id=device.id,
        version=version,
        sha256=hashlib.sha256(body).hexdigest(),
        body=body,
        signature=signature,
    )
    session.add(row)
    session.flush()
    outbox.announce(session)
    return row


def current_manifest(session: Session, *, device: Device) -> DeviceManifest | None:
    return session.scalar(
        select(DeviceManifest)
        .where(DeviceManifest.device_id == device.id)
        .order_by(DeviceManifest.version.desc())
        .limit(1)
    )


def manifest_url(uid: str) -> str:
    return f"/api/v1/devices/{uid}/manifest"


def audio_url(uid: str, sha256: str) -> str:
    return f"/api/v1/devices/{uid}/audio/{sha256}"


class Commandable(Protocol):
    """A device as a command needs it: a ``Device``, or a row of ``queries.visible_devices``."""

    @property
    def id(self) -> int: ...
    @property
    def uid(self) -> str: ...
    @property
    def commune_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...


class IssuedCommand(NamedTuple):
    """A queued command to one device (``batch_id`` set when it travels in a group message; a
    tuple, as there is one per addressed device)."""

    id: str
    device_id: int
    payload: str
    batch_id: str | None = None


def issue_command(
    session: Session,
    *,
    devices: Sequence[Commandable],
    kind: str,
    args: dict[str, Any],
    issued_by: str = "",
    ttl: timedelta = COMMAND_TTL,
    now: datetime | None = None,
) -> list[IssuedCommand]:
    """Queue ``kind`` for the devices (the gateway sends them). Arguments are validated here.

    One device: one command on its own ``cmd`` topic. Several: one signed group message per commune
    (or for the whole fleet, see ``loa.fleet.fanout``), inserted as one batch row plus one bulk
    INSERT of the per-device result rows; each device answers with the batch's command id."""
    if kind not in m.COMMAND_KINDS:
        raise InvalidInput("Lệnh không được hỗ trợ.")
    unique = list({d.id: d for d in devices}.values())
    if not unique:
        raise InvalidInput("Chưa chọn cụm loa nào.")
    now = now or utcnow()
    if len(unique) == 1:
        command_id, payload = _command_payload(kind, args, now, ttl)
        row = DeviceCommand(
            id=command_id,
            device_id=unique[0].id,
            kind=kind,
            payload=payload,
            issued_by=issued_by,
            issued_at=now,
            expires_at=now + ttl,
        )
        session.add(row)
        session.flush()
        outbox.announce(session)
        return [IssuedCommand(command_id, unique[0].id, payload)]
    return _issue_batches(
        session, devices=unique, kind=kind, args=args, issued_by=issued_by, ttl=ttl, now=now
    )


def member_command_id(batch_id: str, device_id: int) -> str:
    """The row of one device's part in a group command."""
    return f"{member_command_prefix(batch_id)}{device_id}"


def member_command_prefix(batch_id: str) -> str:
    """What every ``member_command_id`` of a batch starts with."""
    return f"{batch_id}."


def batch_members(session: Session, *, batch: DeviceCommandBatch) -> Select[int, str]:
    """(device id, uid) of the devices a batch addresses, as they are now: its targets, or every
    active device of its commune (or of the fleet)."""
    stmt = select(Device.id, Device.uid).where(Device.active.is_(True))
    if batch.targets is not None:
        return stmt.where(one_of(session, Device.uid, json.loads(batch.targets)))
    if batch.group_code:
        commune = select(AdminUnit.id).where(AdminUnit.code == batch.group_code).scalar_subquery()
        return stmt.where(Device.commune_id == commune)
    return stmt


def materialise_batch(session: Session, *, batch: DeviceCommandBatch, sent_at: datetime) -> None:
    """After publishing: one ``DeviceCommand`` row per addressed device, copied inside the database
    (one INSERT … SELECT). Rows that an early answer already created are kept (``ON CONFLICT``)."""
    commands: Any = DeviceCommand.__table__
    members = batch_members(session, batch=batch).subquery()
    values: dict[str, Any] = {
        "kind": batch.kind,
        "payload": "",
        "issued_by": batch.issued_by,
        "issued_at": batch.issued_at,
        "expires_at": batch.expires_at,
        "sent_at": sent_at,
        "batch_id": batch.id,
    }
    # In device order (the gateway takes batches by id): ingest upserts early answers in the same
    # (batch, device) order, so the two writers never wait on each other in a cycle.
    chosen = (
        select(
            literal(batch.id + ".") + cast(members.c.id, String),
            members.c.id,
            *(literal(v, type_=commands.c[name].type) for name, v in values.items()),
        )
        .where(true())  # SQLite needs a WHERE to parse INSERT … SELECT … ON CONFLICT
        .order_by(members.c.id)
    )
    columns = ["id", "device_id", *values]
    statement = dialect_insert(session, commands).from_select(columns, chosen).on_conflict_do_nothing()
    session.execute(statement)


def check_command_args(kind: str, args: dict[str, Any]) -> None:
    """Refuse any argument ``kind`` does not have — above all a ``url``: a device fetches only from its
    own server, by hash (issue 20.2)."""
    unknown = sorted(set(args) - m.COMMAND_ARGS.get(kind, frozenset()))
    if unknown:
        raise InvalidInput("Tham số của lệnh không hợp lệ.", details=f"args: {', '.join(unknown)[:200]}")


def _command_payload(kind: str, args: dict[str, Any], now: datetime, ttl: timedelta) -> tuple[str, str]:
    check_command_args(kind, args)
    command_id = uuid.uuid4().hex
    raw = {
        "v": 1,
        "type": "cmd",
        "id": command_id,
        "kind": kind,
        "issued_at": now.isoformat(),
        "expires_at": (now + ttl).isoformat(),
        "args": args,
    }
    try:
        parsed = m.parse(Channel.CMD, json.dumps(raw).encode())
    except m.ProtocolError as err:
        raise InvalidInput("Tham số của lệnh không hợp lệ.", details=err.detail) from err
    return command_id, parsed.to_bytes().decode()


def _issue_batches(
    session: Session,
    *,
    devices: Sequence[Commandable],
    kind: str,
    args: dict[str, Any],
    issued_by: str,
    ttl: timedelta,
    now: datetime,
) -> list[IssuedCommand]:
    commune_ids = {d.commune_id for d in devices if d.commune_id is not None}
    codes: dict[int, str] = {}
    if commune_ids:
        rows = session.execute(select(AdminUnit.id, AdminUnit.code).where(AdminUnit.id.in_(commune_ids)))
        codes = {unit_id: code for unit_id, code in rows}
    code_of: Any = codes.get  # a device without a commune (None) has no code
    members = [Member(d.id, d.uid, code_of(d.commune_id)) for d in devices if d.active]
    active_total = (
        session.scalar(select(func.count()).select_from(Device).where(Device.active.is_(True))) or 0
    )
    by_commune: dict[str, int] = {}
    if codes:
        counted = session.execute(
            select(Device.commune_id, func.count())
            .where(Device.active.is_(True), Device.commune_id.in_(list(codes)))
            .group_by(Device.commune_id)
        )
        by_commune = {codes[cid]: n for cid, n in counted if cid is not None}
    if not members:
        raise InvalidInput("Các cụm loa đã chọn đều đã ngừng hoạt động.", code="no_active_devices")
    plan = plan_fanout(members, active_total=int(active_total), active_by_commune=by_commune)
    issued: list[IssuedCommand] = []
    batch_rows: list[dict[str, Any]] = []
    for fan in plan:
        batch_id, payload = _command_payload(kind, args, now, ttl)
        batch_rows.append(
            {
                "id": batch_id,
                "kind": kind,
                "group_code": fan.group_code,
                "payload": payload,
                "targets": json.dumps(list(fan.targets)) if fan.targets is not None else None,
                "issued_by": issued_by,
                "issued_at": now,
                "expires_at": now + ttl,
            }
        )
        prefix = member_command_prefix(batch_id)
        issued += [IssuedCommand(f"{prefix}{mb[0]}", mb[0], payload, batch_id) for mb in fan.members]
    # Only the batch rows: how long "play now" takes must not grow with the fleet. The gateway
    # writes each device's row right after publishing (``materialise_batch``).
    batches: Any = DeviceCommandBatch.__table__
    session.connection().execute(insert(batches), batch_rows)
    outbox.announce(session)
    return issued

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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from loa.fleet import credentials
from loa.fleet.models import Device, DeviceCommand, DeviceManifest, DeviceStatusLog, StatusEvent
from loa.protocol import messages as m
from loa.protocol.topics import Channel, valid_device_id

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
    return device


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
    device.enrol_code_sha256 = None
    device.enrol_code_expires_at = None
    device.enrolled_at = now
    session.add(DeviceStatusLog(device_id=device.id, at=now, event=StatusEvent.ENROLLED))
    session.flush()
    return Enrolment(device_uid=device.uid, secret=secret, device_name=device.name)


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


def issue_command(
    session: Session,
    *,
    devices: Sequence[Device],
    kind: str,
    args: dict[str, Any],
    issued_by: str = "",
    ttl: timedelta = COMMAND_TTL,
    now: datetime | None = None,
) -> list[DeviceCommand]:
    """Queue one command per device (the gateway sends them). Arguments are validated here."""
    if kind not in m.COMMAND_KINDS:
        raise InvalidInput("Lệnh không được hỗ trợ.")
    if not devices:
        raise InvalidInput("Chưa chọn cụm loa nào.")
    now = now or utcnow()
    rows = []
    for device in devices:
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
        row = DeviceCommand(
            id=command_id,
            device_id=device.id,
            kind=kind,
            payload=parsed.to_bytes().decode(),
            issued_by=issued_by,
            issued_at=now,
            expires_at=now + ttl,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows

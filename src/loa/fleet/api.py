"""JSON routes of the fleet: device enrolment and manifest/audio fetch (device credentials), and
operator routes (bearer token or session) to list devices, issue enrolment codes and send commands."""

from __future__ import annotations

import base64
import binascii
import gzip
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, Response

from loa.accounts import audit
from loa.accounts.deps import ApiPrincipal, client_ip
from loa.accounts.principal import Permission
from loa.accounts.scope import require
from loa.errors import AuthenticationFailed, NotFound
from loa.fleet import commands, keys, queries, releases, service
from loa.fleet.audio import AudioLocator, locator_for
from loa.fleet.clips import device_sms_key
from loa.fleet.device_audio import named_for_device
from loa.fleet.models import Device
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/devices", tags=["fleet"])

SIGNATURE_HEADER = "X-Loa-Signature"  # base64 of the detached Ed25519 signature of the body


# --- device side -----------------------------------------------------------------------------------


class EnrolRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40)


class MqttEndpoint(BaseModel):
    host: str
    port: int
    username: str
    password: str
    topic_prefix: str
    tls: bool = False  # connect with TLS, verifying the broker's certificate


class EnrolResponse(BaseModel):
    protocol_version: int = 1
    device_id: str
    device_name: str
    secret: str
    mqtt: MqttEndpoint
    manifest_public_key: str  # base64 of the raw 32-byte Ed25519 key: pin it
    release_public_key: str | None = None  # base64: the distinct key that signs agent releases
    groups: list[str] = []  # commune group codes whose signed commands reach the device
    sms_key: str  # base64 of the device's key for SMS triggers (loa.protocol.sms): keep it secret


@router.post("/enrol", response_model=EnrolResponse)
def enrol_device(body: EnrolRequest, db: SessionDep, settings: SettingsDep) -> EnrolResponse:
    """Một thiết bị đổi mã đăng ký dùng một lần lấy danh tính và khóa công khai của máy chủ."""
    enrolment = service.enrol(db, code=body.code)
    public_key = keys.public_key_b64(keys.load_or_create_signing_key(settings.data_dir))
    release_key = keys.public_key_b64(keys.load_or_create_release_key(settings.data_dir))
    db.commit()
    return EnrolResponse(
        device_id=enrolment.device_uid,
        device_name=enrolment.device_name,
        secret=enrolment.secret,
        mqtt=MqttEndpoint(
            host=settings.mqtt_device_host or settings.mqtt_host,
            port=settings.mqtt_device_port or settings.mqtt_port,
            username=enrolment.device_uid,
            password=enrolment.secret,
            topic_prefix=settings.mqtt_topic_prefix,
            tls=settings.mqtt_device_tls,
        ),
        manifest_public_key=public_key,
        release_public_key=release_key,
        groups=list(enrolment.groups),
        sms_key=base64.b64encode(device_sms_key(settings.data_dir, enrolment.device_uid)).decode(),
    )


def _device_from_basic_auth(request: Request, db: SessionDep, uid: str) -> Device:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise AuthenticationFailed("Thiết bị phải xác thực (HTTP Basic).", code="device_auth_required")
    try:
        username, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise AuthenticationFailed("Thông tin xác thực thiết bị không đúng.") from err
    if username != uid:
        raise AuthenticationFailed("Thông tin xác thực thiết bị không đúng.", code="device_auth_failed")
    return service.authenticate_device(db, uid=uid, secret=secret)


@router.get("/{uid}/manifest")
def device_manifest(uid: str, request: Request, db: SessionDep) -> Response:
    """Lịch phát (manifest) đã ký của thiết bị; hỗ trợ ETag và gzip."""
    device = _device_from_basic_auth(request, db, uid)
    row = service.current_manifest(db, device=device)
    if row is None:
        raise NotFound("Thiết bị chưa có lịch phát.", code="no_manifest")
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Loa-Manifest-Version": str(row.version),
        SIGNATURE_HEADER: base64.b64encode(row.signature).decode(),
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    body = row.body
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, mtime=0)
        headers["Content-Encoding"] = "gzip"
    headers["Vary"] = "Accept-Encoding"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{uid}/audio/{sha256}")
def device_audio(uid: str, sha256: str, request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    """Tệp âm thanh theo mã SHA-256; hỗ trợ tải tiếp (HTTP Range)."""
    device = _device_from_basic_auth(request, db, uid)
    locator: AudioLocator = getattr(request.app.state, "audio_locator", None) or locator_for(settings)
    # Only audio this device's manifests or commands name; anything else is "not found" (issue 20.8).
    path = locator(sha256) if named_for_device(db, device, sha256) else None
    if path is None:
        raise NotFound("Không tìm thấy tệp âm thanh.", code="audio_not_found")
    return FileResponse(path, media_type="application/octet-stream", headers={"ETag": f'"{sha256}"'})


@router.get("/{uid}/releases/{sha256}/{filename}")
def device_release(
    uid: str, sha256: str, filename: str, request: Request, db: SessionDep, settings: SettingsDep
) -> Response:
    """Gói phần mềm tác tử đã ký, chỉ cho thiết bị đã nhận lệnh cập nhật lên phiên bản đó."""
    device = _device_from_basic_auth(request, db, uid)
    release = releases.release_for_device(db, device=device, sha256=sha256)
    path = releases.wheel_path(settings.data_dir, sha256) if release is not None else None
    if release is None or path is None or not path.is_file() or filename != release.filename:
        raise NotFound("Không tìm thấy gói phần mềm.", code="release_not_found")
    return FileResponse(path, media_type="application/octet-stream", headers={"ETag": f'"{sha256}"'})


class SmsKeyOut(BaseModel):
    sms_key: str  # base64 of the device's key for SMS triggers (loa.protocol.sms)


@router.get("/{uid}/sms-key", response_model=SmsKeyOut)
def device_sms_key_route(uid: str, request: Request, db: SessionDep, settings: SettingsDep) -> SmsKeyOut:
    """Khóa tin nhắn kích hoạt của chính thiết bị (cho thiết bị đã đăng ký trước khi có khóa này)."""
    _device_from_basic_auth(request, db, uid)
    return SmsKeyOut(sms_key=base64.b64encode(device_sms_key(settings.data_dir, uid)).decode())


# --- operator side ---------------------------------------------------------------------------------


class DeviceOut(BaseModel):
    device_id: str
    name: str
    commune: str | None
    village: str
    online: bool
    last_seen_at: datetime | None
    volume: int | None
    firmware: str
    current_item_id: str | None
    current_title: str | None
    manifest_version: int | None
    manifest_error: str | None
    last_receipt_at: datetime | None
    enrolled: bool


def _out(row: queries.DeviceRow) -> DeviceOut:
    d = row.device
    return DeviceOut(
        device_id=d.uid,
        name=d.name,
        commune=row.commune_name,
        village=d.village,
        online=d.online,
        last_seen_at=d.last_seen_at,
        volume=d.volume,
        firmware=d.firmware,
        current_item_id=d.current_item_id,
        current_title=d.current_title,
        manifest_version=d.manifest_version,
        manifest_error=d.manifest_error,
        last_receipt_at=d.last_receipt_at,
        enrolled=d.enrolled_at is not None,
    )


@router.get("", response_model=list[DeviceOut])
def list_devices(db: SessionDep, principal: ApiPrincipal, q: str = "") -> list[DeviceOut]:
    """Danh sách cụm loa trong địa bàn của người dùng."""
    require(principal, Permission.VIEW)
    return [_out(r) for r in queries.list_devices(db, principal=principal, search=q)]


class EnrolCodeOut(BaseModel):
    device_id: str
    code: str
    expires_at: datetime


@router.post("/{uid}/enrol-code", response_model=EnrolCodeOut)
def new_enrol_code(uid: str, request: Request, db: SessionDep, principal: ApiPrincipal) -> EnrolCodeOut:
    """Tạo mã đăng ký dùng một lần cho cụm loa (mã cũ mất hiệu lực)."""
    require(principal, Permission.OPERATE_STATION)
    device = queries.visible_device(db, principal=principal, uid=uid)
    code = service.issue_enrol_code(db, device=device)
    expires_at = device.enrol_code_expires_at
    audit.record(
        db,
        action="device.enrol_code",
        actor=principal,
        target_type="device",
        target_id=uid,
        area_id=device.commune_id,
        ip=client_ip(request),
    )
    db.commit()
    assert expires_at is not None
    return EnrolCodeOut(device_id=uid, code=code, expires_at=expires_at)


class CommandIn(BaseModel):
    device_ids: list[str] = Field(min_length=1, max_length=100_000)
    kind: str
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_s: int = Field(default=600, ge=5, le=7 * 24 * 3600)


class CommandOut(BaseModel):
    command_ids: list[str]


@router.post("/commands", response_model=CommandOut, status_code=202)
def send_commands(body: CommandIn, request: Request, db: SessionDep, principal: ApiPrincipal) -> CommandOut:
    """Gửi lệnh (phát ngay, dừng, âm lượng, đồng bộ, khởi động lại, cập nhật) tới các cụm loa.

    «Phát ngay» mặc định ở mức ưu tiên 500 (bản tin ưu tiên); mức khẩn cấp (900) phải ghi rõ."""
    rows = commands.send_commands(
        db,
        principal=principal,
        device_uids=body.device_ids,
        kind=body.kind,
        args=body.args,
        ttl=timedelta(seconds=body.ttl_s),
        ip=client_ip(request),
    )
    ids = [r.id for r in rows]
    db.commit()
    return CommandOut(command_ids=ids)

"""Out of band (issue 15 point 8): the generic warning clip of each risk level, made by Loa (TTS with
the spoken lead-in "Chú ý! Chú ý!"), carried on every loudspeaker as a cache-only clip of its manifest;
and the SMS an operator sends from a phone when the data network is down, which plays the clip of a
level on the loudspeakers whose modem receives it (``loa.protocol.sms``).

Making the clips is an administrator's act (they reach every loudspeaker); composing SMS codes is an
operator's, for loudspeakers in their areas. Both are audited (never the code itself: it is a
credential for six hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require
from loa.alerts import levels
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import InvalidInput, PermissionDenied
from loa.fleet.clips import device_sms_key
from loa.fleet.models import Device, PrepositionedClip
from loa.protocol import sms
from loa.speech.service import SpeechContext, synthesize
from loa.units.models import AdminUnit

LEAD_IN = "Chú ý! Chú ý!"
# What each level's clip says (after the lead-in): general, because it is recorded before the event.
CLIP_TEXT: dict[int, str] = {
    1: "Đây là tin cảnh báo thiên tai cấp độ 1, rủi ro nhỏ. Đề nghị bà con theo dõi thông tin trên loa "
    "truyền thanh và chủ động phòng tránh.",
    2: "Đây là tin cảnh báo thiên tai cấp độ 2, rủi ro trung bình. Đề nghị bà con chuẩn bị phòng tránh, "
    "hạn chế đi lại ở vùng nguy hiểm và làm theo hướng dẫn của chính quyền xã.",
    3: "Đây là tin cảnh báo thiên tai cấp độ 3, rủi ro lớn. Đề nghị bà con khẩn trương chằng chống nhà "
    "cửa, sẵn sàng di chuyển đến nơi an toàn theo hướng dẫn của chính quyền xã.",
    4: "Đây là tin cảnh báo khẩn cấp thiên tai cấp độ 4, rủi ro rất lớn. Bà con ở vùng nguy hiểm di chuyển "
    "ngay đến nơi an toàn, không ra khỏi nơi trú ẩn cho đến khi có thông báo mới.",
    5: "Đây là tin cảnh báo khẩn cấp thiên tai cấp độ 5, thảm họa. Bà con thực hiện ngay lệnh sơ tán của "
    "chính quyền, đến ngay nơi trú ẩn an toàn gần nhất và giữ liên lạc với cán bộ thôn.",
}


def clip_title(level: int) -> str:
    return f"Cảnh báo soạn sẵn — {levels.RISK_LEVELS[level].label}"


def make_clips(
    session: Session, *, principal: Principal, speech: SpeechContext, ip: str = ""
) -> list[PrepositionedClip]:
    """Read aloud each level's warning and keep it as that level's clip; the manifests of every
    loudspeaker are recompiled to carry them (the ``devices`` change)."""
    if not principal.is_admin:
        raise PermissionDenied("Chỉ quản trị hệ thống được tạo đoạn cảnh báo soạn sẵn cho mọi cụm loa.")
    made = []
    for level, body in sorted(CLIP_TEXT.items()):
        text = f"{LEAD_IN} {body} {LEAD_IN} {body}"
        audio = synthesize(session, context=speech, text=text, created_by_id=principal.user_id)
        row = session.get(PrepositionedClip, level) or PrepositionedClip(level=level)
        row.title, row.text = clip_title(level), text
        row.audio_sha256, row.size_bytes, row.duration_ms = audio.sha256, audio.size_bytes, audio.duration_ms
        row.made_by, row.made_at = principal.username, utcnow()
        session.add(row)
        made.append(row)
    session.flush()
    mark_changed(session, "devices", True)  # every manifest carries the clips
    audit.record(
        session,
        action="alert.clips",
        actor=principal,
        target_type="prepositioned_clips",
        target_id="1-5",
        details={"levels": [r.level for r in made], "audio": [r.audio_sha256 for r in made]},
        ip=ip,
    )
    return made


def current_clips(session: Session) -> list[PrepositionedClip]:
    return list(session.scalars(select(PrepositionedClip).order_by(PrepositionedClip.level)))


@dataclass(frozen=True)
class SmsText:
    device_uid: str
    device_name: str
    text: str


def compose_sms(
    session: Session,
    *,
    principal: Principal,
    device_uids: list[str],
    action: int,
    data_dir: Path,
    now: datetime | None = None,
    ip: str = "",
) -> list[SmsText]:
    """The SMS to send to each loudspeaker's modem: play the clip of ``action`` (a level 1–5), or stop
    (0). Codes are valid for ``sms.MAX_SKEW_S`` and once per loudspeaker."""
    require(principal, Permission.BROADCAST)
    if action not in sms.ACTIONS:
        raise InvalidInput("Chọn cấp độ 1 đến 5, hoặc lệnh dừng.", code="sms_action_invalid")
    wanted = sorted({u.strip() for u in device_uids if u.strip()})
    if not wanted:
        raise InvalidInput("Chưa chọn cụm loa nào.", code="no_devices")
    if action != sms.STOP and session.get(PrepositionedClip, action) is None:
        raise InvalidInput(
            "Chưa có đoạn cảnh báo soạn sẵn cho cấp độ này; quản trị hệ thống cần tạo trước.",
            code="clip_missing",
        )
    rows = session.execute(
        select(Device.uid, Device.name, AdminUnit.id)
        .join(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.uid.in_(wanted), Device.active.is_(True), in_scope(principal, AdminUnit.path))
        .order_by(Device.uid)
    ).all()
    if len(rows) != len(wanted):
        raise InvalidInput(
            "Có cụm loa không tồn tại, không hoạt động hoặc ngoài địa bàn bạn quản lý.",
            code="device_outside_target",
        )
    counter = int((now or utcnow()).timestamp())
    out = [
        SmsText(uid, name, sms.compose(device_sms_key(data_dir, uid), uid, action, counter))
        for uid, name, _ in rows
    ]
    for area_id in sorted({area for _, _, area in rows}):
        audit.record(
            session,
            action="alert.sms_code",
            actor=principal,
            target_type="devices",
            target_id=",".join(uid for uid, _, a in rows if a == area_id)[:200],
            area_id=area_id,
            details={
                "action": action,
                "counter": counter,
                "devices": [uid for uid, _, a in rows if a == area_id],
            },
            ip=ip,
        )
    return out

"""Out-of-band routes (``loa.alerts.clips``): make the pre-positioned clips (administrators), compose
the SMS that plays one on chosen loudspeakers when the data network is down (operators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.alerts import clips
from loa.speech.runtime import runtime_for
from loa.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class ClipOut(BaseModel):
    level: int
    title: str
    audio_sha256: str
    duration_ms: int


class SmsIn(BaseModel):
    device_uids: list[str] = Field(min_length=1, max_length=500)
    level: int = Field(ge=0, le=5, description="1–5: phát đoạn cảnh báo của cấp độ; 0: dừng")


class SmsOut(BaseModel):
    device_id: str
    device_name: str
    text: str


@router.post("/clips", response_model=list[ClipOut])
def make_clips(request: Request, db: SessionDep, principal: ApiPrincipal) -> list[ClipOut]:
    """Tạo (lại) đoạn cảnh báo soạn sẵn cho từng cấp độ rủi ro, lưu sẵn trên mọi cụm loa."""
    made = clips.make_clips(
        db, principal=principal, speech=runtime_for(request.app.state).context, ip=client_ip(request)
    )
    db.commit()
    return [
        ClipOut(level=c.level, title=c.title, audio_sha256=c.audio_sha256, duration_ms=c.duration_ms)
        for c in made
    ]


@router.post("/sms", response_model=list[SmsOut])
def compose_sms(body: SmsIn, request: Request, db: SessionDep, principal: ApiPrincipal) -> list[SmsOut]:
    """Soạn tin nhắn SMS gửi tới modem của cụm loa để phát đoạn cảnh báo soạn sẵn khi mất mạng dữ liệu."""
    texts = clips.compose_sms(
        db,
        principal=principal,
        device_uids=body.device_uids,
        action=body.level,
        data_dir=request.app.state.settings.data_dir,
        ip=client_ip(request),
    )
    db.commit()
    return [SmsOut(device_id=t.device_uid, device_name=t.device_name, text=t.text) for t in texts]

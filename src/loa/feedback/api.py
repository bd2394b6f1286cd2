"""The webhook of the SMS/hotline provider (``loa.feedback.sms``): a text message or a hotline operator's
note becomes a feedback item of the commune it names. The provider authenticates with the shared token
``LOA_FEEDBACK_SMS_TOKEN`` (no token configured: the webhook is closed). The number is rate-limited like
an address on the public form."""

from __future__ import annotations

import hmac
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from loa.db.base import utcnow
from loa.errors import AuthenticationFailed
from loa.feedback import logic, media, service
from loa.feedback.models import FeedbackChannel
from loa.feedback.public import limits_of
from loa.settings import Settings
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/feedback/v1", tags=["feedback"])
TOKEN_REFUSED = "Mã xác thực của nhà cung cấp SMS không đúng hoặc chưa được cấu hình."


class SmsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: str = Field(alias="from", min_length=3, max_length=20, description="Số điện thoại người gửi.")
    text: str = Field(min_length=1, max_length=logic.MAX_TEXT_CHARS)
    commune: str = Field(min_length=1, max_length=32, description="Mã xã/phường/đặc khu nhận ý kiến.")
    channel: Literal["sms", "hotline"] = "sms"


class SmsOut(BaseModel):
    tracking_code: str
    due_date: str


def _check_token(request: Request, settings: Settings) -> None:
    expected = settings.feedback_sms_token.get_secret_value() if settings.feedback_sms_token else ""
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
        raise AuthenticationFailed(TOKEN_REFUSED, code="sms_token_invalid")


@router.post("/sms", response_model=SmsOut, status_code=201)
def receive_sms(body: SmsIn, request: Request, db: SessionDep, settings: SettingsDep) -> SmsOut:
    """Nhận một tin nhắn SMS hoặc ghi nhận từ đường dây nóng; trả về mã tra cứu để nhắn lại người gửi."""
    _check_token(request, settings)
    phone = logic.check_phone(body.sender)
    commune = service.public_commune(db, body.commune)
    item, code = service.submit(
        db,
        commune=commune,
        data=service.Submission(text=body.text, phone=phone),
        attachments=media.Attachments(),
        source=logic.source_key(settings.secret_key.get_secret_value(), "phone:" + phone),
        challenge_nonce=None,
        channel=FeedbackChannel(body.channel),
        limits=limits_of(settings),
        now=utcnow(),
    )
    db.commit()
    return SmsOut(tracking_code=code, due_date=item.due_at.date().isoformat())

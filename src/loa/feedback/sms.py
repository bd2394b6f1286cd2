"""The seam to an SMS/hotline provider (a telecom's SMS brandname or call-centre service).

Inbound: the provider calls ``POST /api/feedback/v1/sms`` with the shared token
(``LOA_FEEDBACK_SMS_TOKEN``): a message or a hotline note becomes a feedback item of the commune it
names, and the answer to the webhook carries the tracking code for the provider to text back.
Outbound: when an officer answers an item that has a phone number, ``SmsGateway.send`` tells the
citizen an answer exists and how to read it (never the answer itself, which may be long or private).
``HttpSms`` posts JSON ``{"to", "text"}`` with the token as a bearer to ``LOA_FEEDBACK_SMS_URL``;
without a URL nothing is sent (``NoSms``). Tests use a fake."""

from __future__ import annotations

from typing import Protocol

import httpx

from loa.settings import Settings


class SmsError(Exception):
    pass


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class NoSms:
    """No provider configured: the answer waits on the tracking page only."""

    def send(self, phone: str, text: str) -> None:
        raise SmsError("chưa cấu hình nhà cung cấp SMS")


class HttpSms:
    def __init__(self, url: str, token: str, timeout_s: float = 10.0) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    def send(self, phone: str, text: str) -> None:
        try:
            response = httpx.post(
                self.url,
                json={"to": phone, "text": text},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as err:
            raise SmsError(f"{type(err).__name__}: {err}") from err
        if response.status_code >= 300:
            raise SmsError(f"nhà cung cấp SMS trả lời {response.status_code}")


def gateway_for(settings: Settings) -> SmsGateway:
    if settings.feedback_sms_url:
        token = settings.feedback_sms_token.get_secret_value() if settings.feedback_sms_token else ""
        return HttpSms(settings.feedback_sms_url, token)
    return NoSms()


def answer_notice(commune: str, received: str) -> str:
    """The SMS text. The tracking code is not in it: only its hash is kept (docs/feedback.md)."""
    return (
        f"{commune} đã trả lời ý kiến bạn gửi ngày {received}. "
        "Xem trả lời trên trang góp ý của xã bằng mã tra cứu bạn nhận khi gửi."
    )

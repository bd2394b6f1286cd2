"""A commune world for the feedback tests (Ba Tơ and Ba Vì of Quảng Ngãi, their officers), a client
that fills the public form as a citizen's browser would (CSRF token, challenge), and a fake SMS
provider."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.db import make_session_factory
from loa.feedback import logic
from loa.settings import Settings
from tests.exchange.world import BA_TO, BA_VI, PROVINCE, seed_areas
from tests.support.auth import make_user

SMS_TOKEN = "sms-provider-token-0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-secret-key-0123456789abcdef"),
        feedback_max_photo_bytes=200_000,
        feedback_max_voice_bytes=400_000,
        feedback_max_voice_s=20,
        feedback_sms_token=SecretStr(SMS_TOKEN),
    )


@pytest.fixture
def world(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as s:
        seed_areas(s)
        make_user(s, "vanhanh.bato", Role.COMMUNE_OPERATOR, BA_TO, display_name="Phạm Thị Lan")
        make_user(s, "vanhanh.bavi", Role.COMMUNE_OPERATOR, BA_VI, display_name="Đinh Văn Hùng")
        make_user(s, "bientap.tinh", Role.PROVINCE_EDITOR, PROVINCE, display_name="Nguyễn Văn Biên")
        make_user(s, "quantri", Role.ADMIN, display_name="Quản Trị")
        s.commit()
        yield s


@dataclass
class FakeSms:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))


@pytest.fixture
def sms(app: FastAPI) -> FakeSms:
    fake = FakeSms()
    app.state.feedback_sms = fake
    return fake


@pytest.fixture
def client(app: FastAPI, world: Session, sms: FakeSms) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def answer_of(html: str) -> str:
    question = re.search(r'data-testid="challenge-question">([^<]+)<', html)
    assert question
    first, rest = question.group(1).split(" cộng ")
    return str(logic.DIGIT_WORDS.index(first.lower()) + logic.DIGIT_WORDS.index(rest.split(" bằng")[0]))


def send_feedback(
    client: TestClient,
    commune: str = BA_TO,
    *,
    text: str = "Đèn đường thôn Gò Khoại hỏng từ tuần trước, buổi tối rất tối.",
    files: dict[str, tuple[str, bytes, str]] | None = None,
    answer: str | None = None,
    **fields: str,
) -> tuple[int, str]:
    """Open the commune's form, fill it as a person would, send it: (status, page)."""
    page = client.get(f"/gop-y/{commune}").text
    data = {
        "csrf_token": hidden(page, "csrf_token"),
        "challenge": hidden(page, "challenge"),
        "answer": answer if answer is not None else answer_of(page),
        "text": text,
        **fields,
    }
    response = client.post(f"/gop-y/gui?commune={commune}", data=data, files=files or {})
    return response.status_code, response.text


def code_of(page: str) -> str:
    found = re.search(r'data-testid="tracking-code">([A-Z0-9-]+)<', page)
    assert found, "no tracking code on the page"
    return found.group(1)


def jpeg(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buf, "JPEG", quality=85)
    return buf.getvalue()

"""A bulletin from a higher system that waits for the commune (normal: a time to choose; priority
clashing with the commune's own: an order to set) reaches, through ``loa.wiring``, the phones of
those who may broadcast in its communes; an emergency, already on air, does not ask anyone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts.service import aired_audio
from loa.db.base import utcnow
from loa.exchange import inbox
from loa.exchange.peers import Caller
from loa.exchange.wire import BulletinIn
from loa.push import keys, service
from loa.push.models import PushSubscription
from loa.settings import Settings
from loa.speech.service import SpeechContext
from tests.exchange.world import BA_TO, bulletin_body, people, tone
from tests.support.fakepush import FakeBrowser, FakePushService, fake_push_service


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with fake_push_service() as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, push_service: FakePushService) -> Settings:
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        vapid_private_key=keys.generate().private_key,  # type: ignore[arg-type]
        vapid_subject="https://loa.quangngai.gov.vn",
        push_services=push_service.base_url,
    )


def _phones(lower: Session, push_service: FakePushService, settings: Settings) -> dict[str, FakeBrowser]:
    phones = {}
    for username, principal in people(lower).items():
        phone = phones[username] = FakeBrowser(push_service, username)
        keys_ = phone.subscription()["keys"]
        service.subscribe(
            lower,
            principal=principal,
            endpoint=phone.endpoint,
            p256dh=keys_["p256dh"],
            auth=keys_["auth"],
            services=settings.push_services,
        )
    lower.commit()
    return phones


def _receive(
    lower: Session, caller: Caller, speech: SpeechContext, settings: Settings, body: dict[str, object]
) -> None:
    inbox.receive_bulletin(
        lower,
        caller=caller,
        data=BulletinIn.model_validate(body),
        speech_context=speech,
        context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
    )
    lower.commit()


def _wait_recorded(sessions: sessionmaker[Session], endpoint: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sessions() as s:
            if s.scalar(select(PushSubscription.last_sent_at).where(PushSubscription.endpoint == endpoint)):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing recorded for {endpoint}")


def test_a_bulletin_waiting_for_the_commune_reaches_its_operators(
    lower: Session,
    upper_caller: Caller,
    speech: SpeechContext,
    settings: Settings,
    sessions: sessionmaker[Session],
    push_service: FakePushService,
) -> None:
    phones = _phones(lower, push_service, settings)
    _receive(lower, upper_caller, speech, settings, bulletin_body("tw-9", "normal", [BA_TO], tone()))
    _wait_recorded(sessions, phones["vanhanh.bato"].endpoint)
    _wait_recorded(sessions, phones["quantri"].endpoint)
    [push] = push_service.to(phones["vanhanh.bato"])
    notice = phones["vanhanh.bato"].read(push)
    assert notice["title"] == "Tin từ Cục Thông tin cơ sở chờ xác nhận"
    assert notice["body"] == "«Tin normal tw-9». Tin chờ xã chọn giờ phát." and notice["url"] == "/exchange"
    assert push_service.to(phones["vanhanh.bavi"]) == []  # Ba Vì was not sent it


def test_an_emergency_on_air_asks_nobody(
    lower: Session,
    upper_caller: Caller,
    speech: SpeechContext,
    settings: Settings,
    sessions: sessionmaker[Session],
    push_service: FakePushService,
) -> None:
    phones = _phones(lower, push_service, settings)
    _receive(lower, upper_caller, speech, settings, bulletin_body("tw-10", "emergency", [BA_TO], tone()))
    # Then a normal one: once its notices are recorded, the emergency's would have been too.
    _receive(lower, upper_caller, speech, settings, bulletin_body("tw-11", "normal", [BA_TO], tone()))
    _wait_recorded(sessions, phones["vanhanh.bato"].endpoint)
    bodies = [phones["vanhanh.bato"].read(p)["body"] for p in push_service.to(phones["vanhanh.bato"])]
    assert bodies == ["«Tin normal tw-11». Tin chờ xã chọn giờ phát."]

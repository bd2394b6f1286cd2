"""An emergency alert that waits for a second person reaches, through ``loa.wiring``, the phones of the
leaders who may confirm it — not its sender, not an operator, not a leader of another commune."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from loa.accounts.models import User
from loa.accounts.principal import Role
from loa.accounts.service import principal_for
from loa.alerts import confirm
from loa.db import make_session_factory
from loa.push import keys, service
from loa.settings import Settings
from tests.fleet.conftest import web, world_engine
from tests.fleet.world import COMMUNE_A, COMMUNE_B, SHA, add_asset
from tests.support.auth import bearer, make_user
from tests.support.fakepush import FakeBrowser, FakePushService, fake_push_service

__all__ = ["web", "world_engine"]


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


def test_an_alert_waiting_for_a_second_person_reaches_the_leaders(
    web: TestClient, world_engine: Engine, settings: Settings, push_service: FakePushService
) -> None:
    add_asset(world_engine)
    phones: dict[str, FakeBrowser] = {}
    with make_session_factory(world_engine)() as s, s.begin():
        make_user(s, "lanhdao", Role.APPROVER, "51")
        make_user(s, "lanhdao.b", Role.APPROVER, COMMUNE_B)
        for username in ("lanhdao", "lanhdao.b", "vanhanh.a", "quantri"):
            user = s.scalars(select(User).where(User.username == username)).one()
            phone = phones[username] = FakeBrowser(push_service, username)
            sub = phone.subscription()["keys"]
            service.subscribe(
                s, principal=principal_for(s, user), endpoint=phone.endpoint, p256dh=sub["p256dh"],
                auth=sub["auth"], services=settings.push_services,
            )  # fmt: skip
        confirm.set_policy(
            s, principal=principal_for(s, s.scalars(select(User).where(User.username == "quantri")).one()),
            province_code="51", from_level=4,
        )  # fmt: skip
    body = {"commune_codes": [COMMUNE_A], "audio_sha256": SHA, "hazard": "storm", "risk_level": 4}
    sent = web.post("/api/v1/alerts", json=body, headers=bearer(web, "vanhanh.a"))
    assert sent.json()["status"] == "pending_confirmation"
    pushes = push_service.wait_for(2)  # the province's leader and the administrator
    assert sorted(push_service.base_url + p.path for p in pushes) == sorted(
        [phones["lanhdao"].endpoint, phones["quantri"].endpoint]
    )
    notice = phones["lanhdao"].read(push_service.to(phones["lanhdao"])[0])
    assert notice["title"] == "Cảnh báo bão cấp độ 4 chờ bạn xác nhận" and notice["url"] == "/alerts"
    assert "vanhanh.a đã soạn cảnh báo tới 2 cụm loa" in notice["body"]
    assert push_service.to(phones["lanhdao.b"]) == [] and push_service.to(phones["vanhanh.a"]) == []

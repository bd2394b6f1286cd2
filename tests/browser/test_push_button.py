"""The "Nhận thông báo" button of the top bar, in Chromium on a phone: with the server's VAPID key
set it appears, subscribes this browser (with the server's public key as applicationServerKey) and
the server then reaches it; pressed again, it leaves. The browser's own push service (FCM, outside
the machine) is replaced in the page by a subscription to the fake push service on 127.0.0.1, whose
private key decrypts what arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.push import keys
from loa.push.models import PushSubscription
from loa.settings import Settings
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.fleet.world import seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD
from tests.support.fakepush import FakeBrowser, FakePushService, fake_push_service

pytestmark = pytest.mark.browser

VAPID = keys.generate()

# Stands in for the browser's push service: subscribe() answers with the fake subscription.
FAKE_PUSH_MANAGER = """(sub => {
  let current = null;
  PushManager.prototype.subscribe = function (options) {
    window.__pushOptions = { userVisibleOnly: options.userVisibleOnly,
                             key: Array.from(new Uint8Array(options.applicationServerKey)) };
    current = { endpoint: sub.endpoint, toJSON: () => sub,
                unsubscribe: () => { current = null; return Promise.resolve(true); } };
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})(%s);"""


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with fake_push_service() as service:
        yield service


@pytest.fixture
def settings(tmp_path: Path, push_service: FakePushService) -> Settings:
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        vapid_private_key=VAPID.private_key,  # type: ignore[arg-type]
        vapid_subject="mailto:vanhanh@quangngai.gov.vn",
        push_services=push_service.base_url,
    )


@pytest.fixture
def phone(
    browser: Browser, live_server: str, push_service: FakePushService
) -> Iterator[tuple[Page, FakeBrowser]]:
    context = browser.new_context(
        base_url=live_server,
        locale="vi-VN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.grant_permissions(["notifications"])
    fake = FakeBrowser(push_service, "phone")
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(fake.subscription()))
    try:
        yield context.new_page(), fake
    finally:
        context.close()


def _subscriptions(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(PushSubscription.endpoint)))


def test_the_button_subscribes_this_phone_and_leaves(
    phone: tuple[Page, FakeBrowser], live_session: Session, live_engine: Engine, push_service: FakePushService
) -> None:
    seed_fleet_world(live_session)
    live_session.commit()
    page, fake = phone
    page.goto("/login?next=/fleet")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.a")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    button = page.get_by_test_id("push-toggle")
    expect(button).to_have_text("Nhận thông báo")
    button.tap()
    expect(button).to_have_text("Tắt thông báo")
    options = page.evaluate("window.__pushOptions")
    assert options == {"userVisibleOnly": True, "key": list(keys.b64url_decode(VAPID.public_key))}
    assert _subscriptions(live_engine) == [fake.endpoint]

    sent = page.evaluate(
        """() => fetch('/api/v1/push/trial', {method: 'POST', credentials: 'same-origin',
             headers: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}})
           .then(r => r.json())"""
    )
    assert sent == {"sent": 1}
    [push] = push_service.wait_for(1)
    assert fake.read(push)["title"] == "Loa: thông báo thử"

    button.tap()
    expect(button).to_have_text("Nhận thông báo")
    assert _subscriptions(live_engine) == []

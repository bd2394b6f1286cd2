"""The web app on a phone (Chromium at 390×844, touch): it is installable (a valid manifest with
Vietnamese names and PNG icons), its service worker registers, keeps only the offline page and what
that page shows, deletes older caches, and shows the Vietnamese offline page when the network is
cut; the operator's pages fit the screen (nothing wider than it), and "Phát ngay" to several
loudspeakers still asks first, with the buttons reachable at that size."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.service import get_user, principal_for
from loa.content import renditions
from loa.content.logic import DraftInput
from loa.content.service import create_bulletin
from loa.web.pwa import SHELL
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.browser.test_csp import violations
from tests.fleet.world import COMMUNE_A, IDS, SHA, add_asset, commands, seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def world(live_session: Session, live_engine: Engine) -> int:
    seed_fleet_world(live_session)
    live_session.flush()
    operator = live_session.scalar(select(User).where(User.username == "vanhanh.a"))
    assert operator is not None
    principal = principal_for(live_session, get_user(live_session, operator.id))
    bulletin = create_bulletin(
        live_session,
        principal=principal,
        draft=DraftInput(
            title="Thông báo lịch tiêm chủng mở rộng tháng 12 cho trẻ em dưới năm tuổi", area_code=COMMUNE_A
        ),
    )
    # A reading in Hrê, to be recorded on the phone and sent (record-and-send).
    renditions.save_text(
        live_session, principal=principal, bulletin_id=bulletin.id, language="hre", text="Bản đọc tiếng Hrê."
    )
    live_session.commit()
    add_asset(live_engine)
    return bulletin.id


@pytest.fixture
def phone_context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=live_server,
        locale="vi-VN",
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def phone(phone_context: BrowserContext) -> Page:
    return phone_context.new_page()


def _sign_in(page: Page, next_path: str = "/fleet") -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.a")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{next_path}")


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def test_the_manifest_is_linked_and_valid(phone: Page) -> None:
    phone.goto("/login")
    href = phone.locator('link[rel="manifest"]').get_attribute("href")
    assert href == "/manifest.webmanifest"
    response = phone.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "Loa — Hệ thống thông tin cơ sở" and manifest["short_name"] == "Loa"
    assert manifest["lang"] == "vi" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    sizes = set()
    for icon in manifest["icons"]:
        got = phone.request.get(icon["src"])
        assert got.ok and got.headers["content-type"] == icon["type"], icon
        if icon["type"] == "image/png":
            width, height = _png_size(got.body())
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add((width, icon.get("purpose", "any")))
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes  # what Chromium asks to install
    assert phone.locator('meta[name="theme-color"]').get_attribute("content") == manifest["theme_color"]


def _controlled(page: Page) -> None:
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")


CACHED = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map(r => new URL(r.url).pathname).sort();
  }
  return out;
}"""


def test_the_service_worker_keeps_only_the_shell_and_shows_it_offline(
    phone: Page, phone_context: BrowserContext, world: int
) -> None:
    # A cache left by an older version of the worker, made before the first worker installs.
    phone.goto("/offline")
    phone.evaluate("async () => (await caches.open('loa-shell-old')).put('/stale', new Response('x'))")
    _sign_in(phone, "/fleet")
    _controlled(phone)
    phone.reload()  # a page seen with the worker in control: it still must not be kept
    expect(phone.get_by_role("heading", name="Cụm loa", level=1)).to_be_visible()
    phone.evaluate("fetch('/api/v1/push/key').then(r => r.json())")
    version = phone.request.get("/sw.js").text().split('VERSION = "')[1].split('"')[0]
    assert len(version) == 12 and "__" not in version
    assert phone.evaluate(CACHED) == {f"loa-shell-{version}": sorted(SHELL)}  # the old one is gone

    phone_context.set_offline(True)
    try:
        for path in ("/fleet", "/alerts", f"/fleet/devices/{IDS.a1}"):
            phone.goto(path)
            expect(phone.get_by_role("heading", name="Không có kết nối mạng", level=1)).to_be_visible()
            expect(phone.get_by_test_id("offline-page")).to_contain_text("Các cụm loa vẫn phát theo lịch")
            assert "vanhanh" not in phone.content()  # nothing of the signed-in person
        assert phone.evaluate("fetch('/api/v1/push/key').then(() => 'answered', () => 'failed')") == "failed"
    finally:
        phone_context.set_offline(False)
    phone.goto("/fleet")
    expect(phone.get_by_role("heading", name="Cụm loa", level=1)).to_be_visible()


WIDTH = "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
# For the message: the innermost elements reaching past the screen's right edge.
WIDER = """limit => {
  const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') { return true; } } return false; };
  const past = e => e.getBoundingClientRect().right > limit + 0.5;
  return Array.from(document.querySelectorAll('body *')).filter(e => past(e) && !clipped(e))
    .filter(e => !Array.from(e.children).some(past)).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' '
      + Math.round(e.getBoundingClientRect().right) + 'px: ' + (e.textContent || '').trim().slice(0, 40));
}"""


def test_the_operators_pages_fit_a_phone(phone: Page, world: int) -> None:
    seen = violations(phone)
    _sign_in(phone, "/fleet")
    pages = ["/", "/fleet", f"/fleet/devices/{IDS.a1}", "/alerts", f"/bulletins/{world}", "/bulletins/new"]
    for path in pages:
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        document, body, viewport = phone.evaluate(WIDTH)
        wider = phone.evaluate(WIDER, PHONE["width"])
        assert viewport == PHONE["width"], f"{path} zoomed out to {viewport}px by {wider}"
        assert document <= viewport and body <= viewport, f"{path} is {document}px wide: {wider}"
    phone.goto("/fleet")  # the controls an operator needs are on the screen
    for control in (
        phone.get_by_role("button", name="Phát ngay"),
        phone.get_by_role("button", name="Dừng phát"),
        phone.get_by_label("Âm lượng Cụm loa thôn 1"),
        phone.get_by_label("Chọn Cụm loa thôn 1"),
    ):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    tap = phone.get_by_role("button", name="Phát ngay").bounding_box()
    assert tap is not None and tap["height"] >= 44  # a finger, not a mouse pointer
    phone.goto(f"/bulletins/{world}")  # record and send
    _on_screen(phone.get_by_role("button", name="● Thu âm").first)
    _on_screen(phone.get_by_role("button", name="Tải bản thu lên").first)
    assert seen == []  # the worker's registration (pwa.js) is a file, under script-src 'self'


def _on_screen(control: Locator) -> None:
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_an_emergency_alert_started_and_stopped_on_a_phone(
    phone: Page, world: int, live_engine: Engine
) -> None:
    _sign_in(phone, "/alerts")
    phone.get_by_label("Hoặc dùng bản thu âm / tệp đã tải lên (khi không gõ nội dung)").select_option(SHA)
    phone.get_by_label("Loại thiên tai").select_option("flood")
    phone.get_by_label("Cấp độ 2 (vàng nhạt)").tap()
    phone.get_by_label("Ba Tơ (2 cụm loa)").tap()
    phone.get_by_role("button", name="Xem lại trước khi phát").tap()
    step = phone.get_by_test_id("confirm-step")  # the confirmation, a step of the server's
    expect(step.get_by_test_id("confirm-devices")).to_have_text("2 cụm loa")
    _on_screen(step.get_by_role("button", name="Phát", exact=True))
    step.get_by_role("button", name="Phát", exact=True).tap()
    expect(phone.locator("p.flash[role=status]")).to_be_visible()
    row = phone.get_by_test_id("alerts-table").locator("tr", has_text="Đang phát lặp lại")
    stop = row.get_by_role("button", name="Dừng cảnh báo")
    _on_screen(stop)  # not scrolled off to the right of a table
    document, _, viewport = phone.evaluate(WIDTH)
    assert document <= viewport
    stop.tap()
    expect(phone.get_by_test_id("alerts-table")).to_contain_text("Đã dừng lúc")


def test_play_now_asks_first_on_a_phone(phone: Page, world: int, live_engine: Engine) -> None:
    _sign_in(phone, "/fleet")
    phone.get_by_label("Âm thanh (bản tin đã có giọng đọc hoặc tệp đã tải lên)").select_option(SHA)
    phone.get_by_label("Chọn Cụm loa thôn 1").tap()
    phone.get_by_label("Chọn Cụm loa chợ Ba Tơ").tap()
    phone.get_by_role("button", name="Phát ngay").tap()
    step = phone.get_by_test_id("confirm-step")  # the confirmation, a step of the server's
    expect(step).to_contain_text("Phát ngay tới 2 cụm loa đã chọn?")
    box = step.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert commands(live_engine) == []
    step.get_by_role("button", name="Đồng ý").tap()
    expect(phone.locator("p.flash[role=status]")).to_contain_text("tới 2 cụm loa")
    assert sorted(uid for uid, kind, _ in commands(live_engine) if kind == "play_now") == [IDS.a1, IDS.a2]
    stop = phone.get_by_role("button", name="Dừng phát")
    look = "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b, '::before').content]"
    assert stop.evaluate(look) != phone.get_by_role("button", name="Phát ngay").evaluate(look)

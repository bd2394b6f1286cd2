"""A bulletin's whole life in Chromium: write, preview the reading, add a Hrê recording, synthesise
the Vietnamese reading and play it, submit, be returned, fix, approve, publish, find it in the feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from loa.content.atom import ATOM_NS
from tests.content.conftest import seed_world
from tests.content.test_flow import recording
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def world_people(live_session: Session) -> Iterator[None]:
    seed_world(live_session)
    live_session.commit()
    yield


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_bulletin_flow_in_the_browser(page: Page, live_server: str, world_people: None, app: FastAPI) -> None:
    sign_in(page, "bientap.a")
    page.goto("/bulletins")
    page.get_by_test_id("new-bulletin").click()
    page.get_by_label("Tiêu đề").fill("Thông báo tiếp công dân <script>alert(1)</script>")
    page.get_by_label("Thể loại").select_option(label="Thông báo")
    page.get_by_label("Mức ưu tiên").select_option(label="Ưu tiên")
    page.get_by_label("Cải cách hành chính").check()
    page.locator("#body").fill("UBND xã tiếp công dân lúc 7h30 ngày 15/3/2025, liên hệ 0912345678.")
    expect(page.get_by_test_id("reading-preview")).to_contain_text("bảy giờ")
    page.get_by_test_id("save").click()
    expect(page).to_have_url(re.compile(r"/bulletins/\d+$"))
    bulletin_url = page.url
    expect(page.get_by_test_id("bulletin-status")).to_have_text("Bản nháp")
    expect(page.get_by_test_id("bulletin-title")).to_have_text(
        "Thông báo tiếp công dân <script>alert(1)</script>"
    )

    # Renditions: Vietnamese (read by the synthetic voice) and Hrê (a person's recording).
    add = page.get_by_test_id("add-rendition")
    add.get_by_label("Thêm bản ngôn ngữ").select_option("vi")
    add.get_by_role("button", name="Thêm").click()
    add = page.get_by_test_id("add-rendition")
    add.get_by_label("Thêm bản ngôn ngữ").select_option("hre")
    add.get_by_label("Văn bản").fill("Bản dịch tiếng Hrê.")
    add.get_by_role("button", name="Thêm").click()
    hre = page.get_by_test_id("rendition-hre")
    hre.locator('input[type="file"]').set_input_files(
        {"name": "ban-doc-hre.m4a", "mimeType": "audio/mp4", "buffer": recording()}
    )
    hre.get_by_role("button", name="Tải bản thu lên").click()
    # Kept at once, levelled on the job worker: the panel shows progress, then the player.
    expect(page.get_by_test_id("audio-hre")).to_be_attached(timeout=60_000)
    page.get_by_test_id("tts-vi").click()
    player = page.get_by_test_id("audio-vi")
    expect(player).to_be_attached(timeout=60_000)

    page.get_by_test_id("bulletin-title").click()  # a real user gesture before playing
    played = page.evaluate(
        """async () => {
            const el = document.querySelector('[data-testid="audio-vi"]');
            if (isNaN(el.duration)) {
                await new Promise(r => el.addEventListener('loadedmetadata', r, {once: true}));
            }
            await el.play();
            await new Promise(r => { const t = () => el.currentTime > 0.3 ? r() : setTimeout(t, 50); t(); });
            el.pause();
            return {duration: el.duration, currentTime: el.currentTime, played: el.played.length};
        }"""
    )
    assert played["duration"] > 1.0 and played["currentTime"] > 0.3 and played["played"] >= 1

    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("bulletin-status")).to_have_text("Chờ duyệt")
    sign_out(page)

    sign_in(page, "duyet.b")  # an approver of another commune does not even see it
    page.goto(bulletin_url)
    expect(page.get_by_test_id("error-message")).to_contain_text("Không tìm thấy bản tin")
    sign_out(page)

    sign_in(page, "duyet.a")
    page.goto("/bulletins/review")
    item = page.get_by_test_id("review-item")
    item.get_by_label("Ý kiến trả lại").fill("Ghi rõ địa điểm tiếp dân.")
    item.get_by_role("button", name="Trả lại").click()
    expect(page.get_by_role("status")).to_have_text("Đã trả lại bản tin kèm ý kiến.")
    sign_out(page)

    sign_in(page, "bientap.a")
    page.goto(bulletin_url)
    expect(page.get_by_test_id("review-comment")).to_contain_text("Ghi rõ địa điểm tiếp dân.")
    page.locator("#body").fill("UBND xã tiếp công dân tại hội trường lúc 7h30 ngày 15/3/2025.")
    page.get_by_test_id("save").click()
    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("bulletin-status")).to_have_text("Chờ duyệt")
    sign_out(page)

    sign_in(page, "duyet.a")
    page.goto("/bulletins/review")
    page.get_by_test_id("review-item").get_by_role("button", name="Duyệt").click()
    page.goto(bulletin_url)
    page.get_by_test_id("action-publish").click()
    expect(page.get_by_test_id("bulletin-status")).to_have_text("Đã phát hành")
    page.goto(bulletin_url + "/revisions")
    expect(page.get_by_test_id("diff-body").locator("ins").first).to_contain_text("hội trường")

    feed = page.request.get(live_server + "/feeds/bulletins.atom")
    assert feed.ok and b"<script" not in feed.body()
    titles = [
        e.findtext(f"{{{ATOM_NS}}}title") for e in ET.fromstring(feed.body()).findall(f"{{{ATOM_NS}}}entry")
    ]
    assert titles == ["Thông báo tiếp công dân <script>alert(1)</script>"]
    runtime = getattr(app.state, "speech_runtime", None)
    if runtime is not None:
        runtime.close()

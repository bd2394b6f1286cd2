"""Consequential buttons ask first, in Chromium: "Phát ngay" to several loudspeakers (or as an emergency,
even to one) shows how many will be interrupted on a confirmation step the server keeps, and "Hủy" sends
nothing; "Dừng phát" does not look like
"Phát ngay"; the page's icon is served."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.fleet.world import IDS, SHA, add_asset, commands, seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_session: Session, live_engine: Engine) -> None:
    seed_fleet_world(live_session)
    live_session.commit()
    add_asset(live_engine)


def _fleet(page: Page) -> None:
    page.goto("/login?next=/fleet")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.a")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Cụm loa", level=1)).to_be_visible()
    page.get_by_label("Âm thanh (bản tin đã có giọng đọc hoặc tệp đã tải lên)").select_option(SHA)


def test_play_now_to_many_loudspeakers_asks_first(page: Page, world: None, live_engine: Engine) -> None:
    _fleet(page)
    page.get_by_label("Chọn Cụm loa thôn 1").check()
    page.get_by_label("Chọn Cụm loa chợ Ba Tơ").check()
    page.get_by_role("button", name="Phát ngay").click()
    step = page.get_by_test_id("confirm-step")  # a step of the server's, not only a script's question
    expect(step).to_contain_text("Phát ngay tới 2 cụm loa đã chọn?")
    expect(step).to_contain_text("Cụm loa chợ Ba Tơ")
    assert commands(live_engine) == []  # nothing was sent
    step.get_by_role("button", name="Hủy").click()
    expect(page.get_by_role("heading", name="Cụm loa", level=1)).to_be_visible()
    assert commands(live_engine) == []

    page.get_by_label("Âm thanh (bản tin đã có giọng đọc hoặc tệp đã tải lên)").select_option(SHA)
    page.get_by_label("Chọn Cụm loa thôn 1").check()
    page.get_by_label("Chọn Cụm loa chợ Ba Tơ").check()
    page.get_by_role("button", name="Phát ngay").click()
    page.get_by_test_id("confirm-step").get_by_role("button", name="Đồng ý").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("tới 2 cụm loa")
    assert sorted(uid for uid, kind, _ in commands(live_engine) if kind == "play_now") == [IDS.a1, IDS.a2]


def test_one_loudspeaker_needs_no_question_but_an_emergency_does(
    page: Page, world: None, live_engine: Engine
) -> None:
    _fleet(page)
    page.get_by_label("Chọn Cụm loa thôn 1").check()
    page.get_by_label("Khẩn cấp", exact=False).check()
    page.get_by_role("button", name="Phát ngay").click()
    step = page.get_by_test_id("confirm-step")
    expect(step).to_contain_text("Phát KHẨN CẤP tới 1 cụm loa đã chọn?")
    step.get_by_role("button", name="Hủy").click()
    assert commands(live_engine) == []

    page.get_by_label("Âm thanh (bản tin đã có giọng đọc hoặc tệp đã tải lên)").select_option(SHA)
    page.get_by_label("Chọn Cụm loa thôn 1").check()
    page.get_by_role("button", name="Phát ngay").click()  # one loudspeaker, not an emergency: sent at once
    expect(page.locator("p.flash[role=status]")).to_contain_text("tới 1 cụm loa")
    expect(page.get_by_test_id("confirm-step")).to_have_count(0)
    assert [uid for uid, kind, _ in commands(live_engine)] == [IDS.a1]


def test_stop_does_not_look_like_play_and_the_icon_is_served(page: Page, world: None) -> None:
    _fleet(page)
    play = page.get_by_role("button", name="Phát ngay")
    stop = page.get_by_role("button", name="Dừng phát")
    style = (
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color,"
        " getComputedStyle(b, '::before').content]"
    )
    play_look, stop_look = play.evaluate(style), stop.evaluate(style)
    assert play_look[0] != stop_look[0] and play_look[1] != stop_look[1]
    assert (play_look[2], stop_look[2]) == ('"▶ "', '"■ "')
    icon = page.request.get("/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/static/favicon.svg"

"""In Chromium: a commune operator opens "Cảnh báo khẩn cấp" from the menu, sends an alert to their
commune's loudspeakers and stops it."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.db import make_session_factory
from loa.fleet.models import DeviceCommandBatch
from tests.fleet.world import SHA, add_asset, seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_session: Session, live_engine: Engine) -> None:
    seed_fleet_world(live_session)
    live_session.commit()
    add_asset(live_engine)


def test_operator_sends_and_stops_an_alert(page: Page, world: None, live_engine: Engine) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("vanhanh.a")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Cảnh báo khẩn cấp").click()
    expect(page.get_by_role("heading", name="Cảnh báo khẩn cấp", level=1)).to_be_visible()
    page.get_by_label("Hoặc dùng bản thu âm / tệp đã tải lên (khi không gõ nội dung)").select_option(SHA)
    page.get_by_label("Loại thiên tai").select_option("flood")
    page.get_by_label("Cấp độ 2 (vàng nhạt)").check()
    page.get_by_label("Ba Tơ (2 cụm loa)").check()
    page.get_by_label("Nghỉ giữa hai lần phát (giây, 0–3600)").fill("10")
    page.get_by_role("button", name="Xem lại trước khi phát").click()
    step = page.get_by_test_id("confirm-step")  # an emergency alert is always confirmed first, on the server
    expect(step).to_contain_text("thong-bao-tiem-chung.mp3")
    expect(step.get_by_test_id("confirm-devices")).to_have_text("2 cụm loa")
    page.get_by_role("button", name="Phát", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("tới 2 cụm loa")
    expect(page.get_by_test_id("alerts-table")).to_contain_text("Đang phát lặp lại")
    with make_session_factory(live_engine)() as s:
        (payload,) = s.scalars(select(DeviceCommandBatch.payload))
        assert json.loads(payload)["args"]["repeat_gap_s"] == 10
    page.get_by_role("button", name="Dừng cảnh báo").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã dừng cảnh báo")
    expect(page.get_by_test_id("alerts-table")).to_contain_text("Đã dừng lúc")
    with make_session_factory(live_engine)() as s:
        assert s.scalars(select(EmergencyAlert.stopped_by)).one() == "vanhanh.a"

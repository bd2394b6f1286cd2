"""In Chromium, the alerts send form (issue 15, points 3–5): a warning from a template to the air (the
reading shown, a confirmation step, audio and commands out); a polygon drawn on the map counts the
loudspeakers inside it; a level the province reserves for two people waits for a leader, who confirms."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.alerts.models import AlertPolicy, EmergencyAlert
from loa.db import make_session_factory
from loa.speech.models import AudioAsset
from loa.units.models import AdminUnit
from tests.fleet.world import IDS, commands, seed_fleet_world
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def world(live_session: Session) -> None:
    seed_fleet_world(live_session)
    make_user(live_session, "lanhdao", Role.APPROVER, "51")
    live_session.commit()


def _login(page: Page, username: str) -> None:
    page.goto("/login?next=/alerts")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Cảnh báo khẩn cấp", level=1)).to_be_visible()


def _fill_flood_template(page: Page) -> None:
    page.get_by_label("Mẫu cảnh báo").select_option(label="Mực nước tại trạm thủy văn (báo động I–III)")
    expect(page.get_by_test_id("template-fields")).to_be_visible()
    page.get_by_label("Trạm thủy văn").fill("Trà Khúc")
    page.get_by_label("Sông").fill("Trà Khúc")
    page.get_by_label("Giờ đo").fill("14 giờ")
    page.get_by_label("Mực nước (m)").fill("5,8")
    page.get_by_label("So với mức báo động").select_option("báo động III")
    page.get_by_role("button", name="Điền vào nội dung").click()
    expect(page.get_by_label("Nội dung (gõ hoặc dán; giọng máy đọc ngay khi phát)")).to_have_value(
        "Thông báo khẩn về lũ. Lúc 14 giờ, mực nước sông Trà Khúc tại trạm Trà Khúc là 5,8 mét, ở mức "
        "báo động III, đang lên. Đề nghị nhân dân vùng trũng thấp ven sông khẩn trương đưa người, tài sản "
        "đến nơi an toàn; không đi qua ngầm, tràn và những nơi nước chảy xiết."
    )
    expect(page.get_by_test_id("reading")).to_contain_text("năm phẩy tám mét")


def test_typed_warning_from_a_template_to_the_air(page: Page, world: None, live_engine: Engine) -> None:
    _login(page, "vanhanh.a")
    _fill_flood_template(page)
    page.get_by_label("Cấp độ 3 (da cam)").check()
    page.get_by_label("Ba Tơ (2 cụm loa)").check()
    expect(page.get_by_test_id("coverage")).to_contain_text("2 cụm loa ở Ba Tơ")
    page.get_by_role("button", name="Xem lại trước khi phát").click()

    step = page.get_by_test_id("confirm-step")
    expect(step).to_contain_text("Cấp độ 3 · da cam")
    expect(step.get_by_test_id("confirm-devices")).to_have_text("2 cụm loa")
    expect(step.get_by_test_id("reading")).to_contain_text("năm phẩy tám mét")
    assert commands(live_engine) == []  # nothing sent before "Phát"
    page.get_by_role("button", name="Phát", exact=True).click()

    expect(page.get_by_role("status").first).to_contain_text(
        "Đã phát cảnh báo khẩn cấp «Cảnh báo lũ, ngập lụt cấp độ 3: Thông báo khẩn về lũ."
    )
    expect(page.get_by_test_id("alerts-table")).to_contain_text("Đang phát lặp lại")
    expect(page.get_by_test_id("alert-timing")).to_contain_text("giọng đọc")
    with make_session_factory(live_engine)() as s:
        alert = s.scalars(select(EmergencyAlert)).one()
        assert (alert.hazard, alert.risk_level, alert.status) == ("flood", 3, "active")
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == alert.audio_sha256)).one()
        assert asset.duration_ms > 5000
    played = sorted(uid for uid, kind, args in commands(live_engine) if kind == "play_now")
    assert played == [IDS.a1, IDS.a2]


def _frame(page: Page, corners: tuple[tuple[float, float], ...]) -> None:
    """Zoom the drawing map to the area, as a person would before clicking its corners."""
    page.get_by_test_id("alert-map").evaluate(
        "(el, pts) => el.loaMap.fitBounds(pts, {padding: [30, 30], animate: false})",
        [list(c) for c in corners],
    )


def _click_at(page: Page, lat: float, lon: float) -> None:
    box = page.get_by_test_id("alert-map")
    point = box.evaluate(
        "(el, ll) => { const p = el.loaMap.latLngToContainerPoint(ll); return [p.x, p.y]; }", [lat, lon]
    )
    box.click(position={"x": point[0], "y": point[1]})


def test_polygon_drawn_on_the_map_counts_the_loudspeakers_inside(page: Page, world: None) -> None:
    _login(page, "vanhanh.a")
    page.get_by_label("Vùng vẽ trên bản đồ").check()
    expect(page.get_by_test_id("alert-map")).to_be_visible()
    around_a1 = ((14.775, 108.720), (14.775, 108.726), (14.769, 108.726), (14.769, 108.720))
    _frame(page, around_a1)
    for lat, lon in around_a1:
        _click_at(page, lat, lon)
    expect(page.get_by_test_id("polygon-points")).to_have_text("4 đỉnh")
    expect(page.get_by_test_id("coverage-devices")).to_have_text("1 cụm loa")
    page.get_by_role("button", name="Xóa vùng đã vẽ").click()
    around_both = ((14.78, 108.71), (14.78, 108.74), (14.76, 108.74), (14.76, 108.71))
    _frame(page, around_both)
    for lat, lon in around_both:
        _click_at(page, lat, lon)
    expect(page.get_by_test_id("coverage-devices")).to_have_text("2 cụm loa")


def test_second_person_confirms_a_reserved_level(page: Page, world: None, live_engine: Engine) -> None:
    with make_session_factory(live_engine)() as s, s.begin():
        province = s.scalars(select(AdminUnit).where(AdminUnit.code == "51")).one()
        s.add(AlertPolicy(province_id=province.id, second_person_from_level=3, updated_by="quantri"))
    _login(page, "vanhanh.a")
    page.get_by_label("Nội dung (gõ hoặc dán; giọng máy đọc ngay khi phát)").fill(
        "Sạt lở đất ở thôn 1. Sơ tán ngay."
    )
    page.get_by_label("Loại thiên tai").select_option("landslide")
    page.get_by_label("Cấp độ 3 (da cam)").check()
    page.get_by_label("Ba Tơ (2 cụm loa)").check()
    page.get_by_role("button", name="Xem lại trước khi phát").click()
    expect(page.get_by_test_id("second-person")).to_contain_text("cần người thứ hai xác nhận")
    page.get_by_role("button", name="Phát", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("chờ lãnh đạo xác nhận")
    expect(page.get_by_test_id("alerts-table")).to_contain_text("Chờ người thứ hai xác nhận")
    assert commands(live_engine) == []

    page.context.clear_cookies()
    _login(page, "lanhdao")
    pending = page.get_by_test_id("pending-alerts")
    expect(pending).to_contain_text("Sạt lở đất ở thôn 1")
    pending.get_by_role("button", name="Xác nhận và phát").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã xác nhận: cảnh báo của vanhanh.a")
    played = sorted(uid for uid, kind, args in commands(live_engine) if kind == "play_now")
    assert played == [IDS.a1, IDS.a2]
    with make_session_factory(live_engine)() as s:
        alert = s.scalars(select(EmergencyAlert)).one()
        assert (alert.status, alert.confirmed_by) == ("active", "lanhdao")

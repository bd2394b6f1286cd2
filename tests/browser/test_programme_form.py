"""A commune operator adds the monthly CCHC programme in Chromium. "Thứ Hai của tuần thứ ba" has two
readings: the form shows both by name with their next dates (different in August 2032, which begins on a
Sunday), follows the operator's changes without reloading (HTMX), refuses to save until one is chosen, and
the programme's page then says in Vietnamese when it airs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.schedule import models as m
from loa.schedule import service, slots
from tests.conftest import Backend
from tests.schedule.world import BA_TO, load_world, seed_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

NTH = "thứ Hai thứ ba trong tháng"
WEEK = "thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1)"


@pytest.fixture
def live_engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def test_both_readings_previewed_chosen_and_described(page: Page, live_session: Session) -> None:
    page.goto("/login?next=/schedule/programmes/new")
    page.get_by_label("Tên đăng nhập").fill("canbo.bato")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/schedule/programmes/new$"))

    page.get_by_label("Tên chương trình").fill("Chuyên mục Cải cách hành chính")
    where = page.get_by_role("combobox", name="Nơi phát (gõ tên xã, thôn, đài, nhóm hoặc cụm loa rồi chọn)")
    where.press_sequentially("Ba Tơ")  # a name, never a code: the combobox offers the places it names
    page.get_by_role("option", name="Xã Ba Tơ (Quảng Ngãi)").click()
    chips = page.get_by_test_id("combobox-targets").locator(".chips li")
    expect(chips).to_have_count(1)
    expect(chips).to_contain_text("Xã Ba Tơ (Quảng Ngãi)")
    page.get_by_label("Ngày bắt đầu và giờ phát").fill("2032-08-01")
    page.get_by_label("Giờ phát", exact=True).fill("07:00")
    monthly_fields = page.locator('[data-kinds="monthly_weekday"]')
    expect(monthly_fields).to_be_hidden()  # the fields of other kinds of recurrence stay out of the way
    page.get_by_label("Lặp lại").select_option("monthly_weekday")
    expect(monthly_fields).to_be_visible()

    nth_dates = page.get_by_test_id("dates-nth").locator("li")
    week_dates = page.get_by_test_id("dates-week").locator("li")
    expect(page.get_by_test_id("readings")).to_contain_text("«thứ Hai của tuần thứ ba» có hai cách hiểu")
    expect(page.get_by_role("radio", name=NTH)).not_to_be_checked()
    expect(page.get_by_role("radio", name=WEEK)).not_to_be_checked()
    expect(nth_dates).to_have_count(6)
    expect(nth_dates.first).to_have_text("Thứ Hai 16/08/2032 lúc 07:00")
    expect(week_dates.first).to_have_text("Thứ Hai 09/08/2032 lúc 07:00")  # 1/8/2032 is a Sunday

    # the preview follows the choices: Wednesday of the second week
    page.get_by_label("Thứ", exact=True).select_option("WE")
    page.get_by_label("của tuần", exact=True).select_option("2")
    expect(page.get_by_role("radio", name="thứ Tư thứ hai trong tháng")).to_be_visible()
    expect(nth_dates.first).to_have_text("Thứ Tư 11/08/2032 lúc 07:00")
    expect(week_dates.first).to_have_text("Thứ Tư 04/08/2032 lúc 07:00")
    page.get_by_label("Thứ", exact=True).select_option("MO")
    page.get_by_label("của tuần", exact=True).select_option("3")
    expect(week_dates.first).to_have_text("Thứ Hai 09/08/2032 lúc 07:00")

    page.get_by_role("checkbox", name="Phát đến khi hủy").check()
    page.get_by_role("button", name="Lưu chương trình").click()  # no reading chosen: the browser holds it
    assert page.get_by_role("radio", name=WEEK).evaluate("radio => radio.validity.valueMissing")
    expect(page).to_have_url(re.compile(r"/schedule/programmes/new$"))

    page.get_by_role("radio", name=WEEK).check()
    description = (
        "Thứ Hai của tuần thứ ba trong tháng (tuần thứ nhất là tuần có ngày 1) lúc 07:00, phát đến khi hủy"
    )
    expect(page.get_by_test_id("rule-description")).to_contain_text(description)
    expect(week_dates.nth(1)).to_have_text("Thứ Hai 13/09/2032 lúc 07:00")
    expect(page.get_by_role("radio", name=WEEK)).to_be_checked()

    page.get_by_role("button", name="Lưu chương trình").click()
    expect(page).to_have_url(re.compile(r"/schedule\?programme=\d+$"))
    expect(page.get_by_test_id("programme-recurrence")).to_have_text(description)
    expect(page.get_by_test_id("programme-summary")).not_to_contain_text("FREQ")

    programme = live_session.scalars(
        select(m.Programme).where(m.Programme.name.like("Chuyên mục Cải%"))
    ).one()
    listed = slots.list_slots(
        live_session,
        principal=load_world(live_session).operator,
        programme_id=programme.id,
        from_date=date(2032, 8, 1),
        to_date=date(2032, 10, 31),
    )
    assert [s.start_local.date() for s in listed] == [date(2032, 8, 9), date(2032, 9, 13), date(2032, 10, 11)]
    assert [t.code for t in service.programme_targets(live_session, programme.id)] == [BA_TO]

"""A commune operator's day with programmes, in Chromium: the default running order built by finding
bulletins by title (the combobox, with the keyboard), reordered, its total against the slot; one broadcast
cancelled (after confirming), restored and moved to another day and time; the place chosen by name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.schedule import models as m
from loa.schedule import running_orders, service
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from tests.conftest import Backend
from tests.schedule.world import BA_TO, approved_bulletin, audio_asset, load_world, seed_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def live_engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def programme(live_session: Session) -> tuple[int, datetime]:
    """A weekly programme on Mondays at 07:00 from next week, and two approved bulletins."""
    world = load_world(live_session)
    today = to_local(utcnow()).date()
    monday = today + timedelta(days=7 - today.weekday())
    start = datetime.combine(monday, datetime.min.time()).replace(hour=7)
    outcome = service.create_programme(
        live_session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Chuyên mục Cải cách hành chính",
            start_local=start,
            slot_minutes=10,
            targets=[TargetInput("commune", BA_TO)],
            rrule="FREQ=WEEKLY;BYDAY=MO",
            until_cancelled=True,
        ),
        now=utcnow(),
    )
    approved_bulletin(
        live_session, world, "Tin tiêm chủng mở rộng", {"vi": audio_asset(live_session, "tc", 240)}
    )
    approved_bulletin(
        live_session, world, "Tin dịch vụ công trực tuyến", {"vi": audio_asset(live_session, "dv", 420)}
    )
    live_session.commit()
    assert outcome.programme is not None
    return outcome.programme.id, start


def _login(page: Page, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Tên đăng nhập").fill("canbo.bato")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_running_order_by_title_reordered_against_the_slot(
    page: Page, programme: tuple[int, datetime], live_session: Session
) -> None:
    pid, _ = programme
    _login(page, f"/schedule/programmes/{pid}")
    expect(page.get_by_test_id("programme-name")).to_have_text("Chuyên mục Cải cách hành chính")
    page.get_by_role("link", name="Sửa danh mục mặc định").click()
    expect(page.get_by_role("heading", name="Danh mục phát mặc định")).to_be_visible()

    search = page.get_by_role("combobox", name="Bản tin đã duyệt (gõ tên để tìm)")
    found = page.get_by_test_id("combobox-bulletin_id").get_by_role("option")
    search.press_sequentially("tiem chung")  # without diacritics: still found
    expect(found).to_have_text(["Tin tiêm chủng mở rộng"])
    search.press("Enter")  # the first option is active: chosen, and the form is sent
    lines = page.get_by_test_id("running-order").locator("tbody tr")
    expect(lines).to_have_count(1)
    expect(page.get_by_test_id("total")).to_contain_text("4 phút")

    search = page.get_by_role("combobox", name="Bản tin đã duyệt (gõ tên để tìm)")
    found = page.get_by_test_id("combobox-bulletin_id").get_by_role("option")
    search.press_sequentially("dịch vụ")
    expect(found).to_have_text(["Tin dịch vụ công trực tuyến"])
    search.press("ArrowDown")
    search.press("Enter")
    expect(lines).to_have_count(2)
    expect(page.get_by_test_id("total")).to_contain_text("11 phút")
    expect(page.get_by_test_id("overfull")).to_be_visible()  # 11 minutes in a 10-minute slot

    page.get_by_role("button", name="Lên mục 2").click()
    expect(lines.nth(0)).to_contain_text("Tin dịch vụ công trực tuyến")
    order = running_orders.get_programme_order(
        live_session, principal=load_world(live_session).operator, programme_id=pid
    )
    assert [line.title for line in order.lines] == ["Tin dịch vụ công trực tuyến", "Tin tiêm chủng mở rộng"]
    page.get_by_role("button", name="Bỏ mục 1").click()
    expect(lines).to_have_count(1)
    expect(page.get_by_test_id("overfull")).to_have_count(0)


def test_cancel_restore_and_move_a_broadcast(
    page: Page, programme: tuple[int, datetime], live_session: Session
) -> None:
    pid, start = programme
    key = f"{pid}-{start:%Y%m%dT%H%M}"
    _login(page, f"/schedule/programmes/{pid}")
    row = page.locator(f'[data-slot="{key}"]')
    expect(row).to_contain_text("Theo lịch")

    row.get_by_role("button", name="Hủy buổi này").click()
    expect(row).to_contain_text("Đã hủy")
    row.get_by_role("button", name="Khôi phục").click()
    expect(row).to_contain_text("Theo lịch")

    row.get_by_role("link", name="Dời").click()
    expect(page).to_have_url(re.compile(rf"/schedule/slots/{key}#move$"))
    # cancelling from the broadcast's own page asks first; "Hủy" in the question keeps the broadcast
    page.get_by_role("button", name="Hủy buổi phát này").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Hủy buổi phát lúc 07:00 ngày {start:%d/%m/%Y}?")
    dialog.get_by_role("button", name="Hủy").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("slot-cancelled")).to_have_count(0)

    wednesday = start.date() + timedelta(days=2)
    page.get_by_label("Dời sang ngày").fill(wednesday.isoformat())
    page.get_by_label("lúc", exact=True).fill("17:30")
    page.get_by_role("button", name="Dời buổi phát", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Đã dời buổi phát sang 17:30 ngày {wednesday:%d/%m/%Y}"
    )
    expect(page.get_by_test_id("slot-time")).to_contain_text("đã dời từ 07:00")
    row = live_session.query(m.Slot).filter_by(programme_id=pid).one()
    live_session.refresh(row)
    assert row.status is m.SlotStatus.MOVED and row.moved_to_local == datetime.combine(
        wednesday, datetime.min.time()
    ).replace(hour=17, minute=30)

    page.get_by_role("button", name="Hủy buổi phát này").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Đồng ý").click()
    expect(page.get_by_test_id("slot-cancelled")).to_be_visible()


def test_the_place_is_chosen_by_name_with_the_keyboard(page: Page, programme: tuple[int, datetime]) -> None:
    pid, _ = programme
    _login(page, f"/schedule/programmes/{pid}/edit")
    where = page.get_by_role("combobox", name=re.compile("^Nơi phát"))
    chips = page.get_by_test_id("combobox-targets").locator(".chips li")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("Xã Ba Tơ (Quảng Ngãi)")
    where.press_sequentially("teng")
    expect(where).to_have_attribute("aria-expanded", "true")
    option = page.get_by_role("option", name="Thôn Làng Teng (Xã Ba Tơ, Quảng Ngãi)")
    expect(option).to_be_visible()
    expect(page.get_by_role("option", name="Cụm loa làng Teng")).to_be_visible()
    where.press("Enter")  # the first option is active
    expect(chips).to_have_count(2)
    expect(where).to_have_value("")
    where.press_sequentially("Hà Nội")
    expect(page.get_by_role("listbox")).to_contain_text("Không tìm thấy. Hãy gõ tên khác.")
    where.press("Escape")
    expect(where).to_have_attribute("aria-expanded", "false")
    chips.first.get_by_role("button", name="Bỏ Xã Ba Tơ (Quảng Ngãi)").click()
    expect(chips).to_have_count(1)
    where.fill("")
    page.get_by_role("button", name="Lưu chương trình").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu chương trình.")
    expect(page.get_by_test_id("programme-summary")).to_contain_text("Làng Teng")

"""A commune operator drags a slot of the week calendar to another day in Chromium (HTML5 drag and drop
→ the move API with the CSRF header); after a reload the slot is on the new day, at the same time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.schedule import service
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from tests.conftest import Backend
from tests.schedule.world import BA_TO, load_world, seed_world
from tests.support.auth import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def live_engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def monday_slot(live_session: Session) -> tuple[int, datetime, int]:
    """A weekly programme on Mondays at 07:00, starting next week; returns (programme, start, station)."""
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
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO)],
            rrule="FREQ=WEEKLY;BYDAY=MO",
            until_cancelled=True,
        ),
        now=utcnow(),
    )
    live_session.commit()
    assert outcome.programme is not None
    return outcome.programme.id, start, world.station.id


def test_drag_a_slot_to_another_day(page: Page, monday_slot: tuple[int, datetime, int]) -> None:
    programme_id, start, station_id = monday_slot
    thursday = start.date() + timedelta(days=3)
    week = f"/schedule?station={station_id}&view=week&date={start.date().isoformat()}"
    page.goto(f"/login?next={week.replace('&', '%26')}")
    page.get_by_label("Tên đăng nhập").fill("canbo.bato")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/schedule\?station="))

    key = f"{programme_id}-{start:%Y%m%dT%H%M}"
    slot = page.locator(f'[data-slot="{key}"]')
    monday_cell = page.get_by_test_id(f"day-{start.date().isoformat()}")
    thursday_cell = page.get_by_test_id(f"day-{thursday.isoformat()}")
    expect(monday_cell.locator(f'[data-slot="{key}"]')).to_be_visible()
    expect(thursday_cell.locator(".ev")).to_have_count(0)

    with (
        page.expect_navigation(),  # the page reloads itself once the server accepted the move
        page.expect_response(lambda r: r.url.endswith(f"/api/v1/slots/{key}/move")) as moving,
    ):
        slot.drag_to(thursday_cell)
    assert moving.value.status == 200, moving.value.text()
    page.goto(week)
    moved = thursday_cell.locator(f'[data-slot="{key}"]')
    expect(moved).to_be_visible()
    expect(moved).to_contain_text("07:00 Chuyên mục Cải cách hành chính")
    expect(monday_cell.locator(".ev")).to_have_count(0)

"""A commune operator signs in through the real login form in Chromium, sees the dashboard, signs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.units.models import AdminUnit, UnitKind
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def operator(live_session: Session) -> str:
    province = AdminUnit(
        code="51", kind=UnitKind.PROVINCE, name="Tỉnh Quảng Ngãi", name_folded="tinh quang ngai", path="/51/"
    )
    live_session.add(province)
    live_session.flush()
    live_session.add(
        AdminUnit(
            code="21484",
            kind=UnitKind.COMMUNE,
            name="Xã Ba Tơ",
            name_folded="xa ba to",
            parent_id=province.id,
            path="/51/21484/",
        )
    )
    live_session.flush()
    make_user(live_session, "canbo.bato", Role.COMMUNE_OPERATOR, "21484", display_name="Phạm Thị Lan")
    live_session.commit()
    return "canbo.bato"


def _sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_commune_operator_signs_in_sees_dashboard_and_signs_out(page: Page, operator: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    _sign_in(page, operator, DEFAULT_PASSWORD)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_text("Phạm Thị Lan")
    expect(page.locator(".who .role")).to_have_text("Cán bộ vận hành đài xã · Xã Ba Tơ")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_wrong_password_shows_the_vietnamese_error(page: Page, operator: str) -> None:
    page.goto("/login")
    _sign_in(page, operator, "khong-phai-mat-khau")
    expect(page.get_by_test_id("login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value(operator)
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_after_login_the_requested_page_opens(page: Page, operator: str) -> None:
    page.goto("/audit")
    expect(page).to_have_url(re.compile(r"/login\?next=/audit$"))
    _sign_in(page, operator, DEFAULT_PASSWORD)
    # Back on the page asked for; a commune operator may not read the audit log.
    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_test_id("error-message")).to_have_text(
        "Vai trò «Cán bộ vận hành đài xã» không có quyền thực hiện thao tác này."
    )

"""A commune operator browses areas in Chromium: the tree shows only their commune, its page loads,
another commune's page is refused in Vietnamese; an administrator expands the tree lazily and searches
without diacritics."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def live_engine(areas_engine: Engine) -> Engine:
    return areas_engine


@pytest.fixture
def users(live_session: Session) -> None:
    make_user(live_session, "canbo.bato", Role.COMMUNE_OPERATOR, "21484", display_name="Phạm Thị Lan")
    make_user(live_session, "quantri", Role.ADMIN, display_name="Quản trị viên")
    live_session.commit()


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login?next=/areas")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/areas$"))


@pytest.mark.usefixtures("users")
def test_commune_operator_sees_only_their_commune(page: Page) -> None:
    _sign_in(page, "canbo.bato")
    tree = page.get_by_test_id("area-tree")
    expect(tree.locator("li.area-node")).to_have_count(1)
    expect(tree).to_contain_text("Xã Ba Tơ")
    expect(tree).not_to_contain_text("Quảng Ngãi")
    tree.get_by_role("link", name="Xã Ba Tơ").click()
    expect(page.get_by_test_id("unit-name")).to_have_text("Xã Ba Tơ")
    expect(page.get_by_test_id("former-district")).to_contain_text("Huyện Ba Tơ")
    page.goto("/areas/21523")  # xã Ba Tô, the neighbouring commune
    expect(page.get_by_role("heading", name="Lỗi 404")).to_be_visible()
    expect(page.get_by_test_id("error-message")).to_contain_text(
        "Không tìm thấy địa bàn mã “21523” trong phạm vi"
    )


@pytest.mark.usefixtures("users")
def test_admin_expands_the_tree_and_searches_without_diacritics(page: Page) -> None:
    _sign_in(page, "quantri")
    province = page.locator('li.area-node[data-code="51"]')
    province.locator("summary").click(position={"x": 2, "y": 5})
    expect(province.locator('li.area-node[data-code="21484"]')).to_be_visible()
    page.get_by_role("searchbox").fill("ba to")
    results = page.get_by_test_id("area-search-results")
    expect(results.get_by_role("link", name="Xã Ba Tơ")).to_be_visible()

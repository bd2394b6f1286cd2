"""Under the content security policy, in Chromium: Swagger UI renders from Loa's own files, and the
pages that used inline script (fleet, area browser with HTMX) work with no policy violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.support.auth import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


def violations(page: Page) -> list[str]:
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            seen.append(message.text)

    page.on("console", on_console)
    return seen


def test_swagger_ui_renders_under_the_policy(page: Page, live_server: str) -> None:
    seen = violations(page)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live_server, "data:")) else outside.append(r.url))
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Loa API")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert seen == []
    assert outside == []


def test_pages_work_without_violations(page: Page, live_session: Session) -> None:
    make_user(live_session, "quantri", Role.ADMIN)
    live_session.commit()
    seen = violations(page)
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("quantri")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    for path in (
        "/fleet",
        "/areas",
        "/users",
        "/bulletins",
        "/schedule",
        "/reports",
        "/alerts",
        "/activities",
        "/map",
        "/audit",
        "/schedule/programmes/new",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert seen == []

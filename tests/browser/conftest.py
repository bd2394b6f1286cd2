"""Fixtures for browser tests (mark them ``@pytest.mark.browser``).

- ``live_engine``: the database the server uses; defaults to the fresh ``engine`` of the ``backend``
  under test. Override it in a test module to serve another one, e.g.
  ``@pytest.fixture def live_engine(areas_engine): return areas_engine``.
- ``live_session``: a session on that database to seed data (commit before the browser looks).
- ``live_server``: base URL of the app served by uvicorn on a free 127.0.0.1 port.
- ``page``: a fresh browser context and page (one Chromium per test run) with ``base_url`` set, so
  ``page.goto("/login")`` works.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.app import create_app
from loa.db import make_session_factory
from loa.settings import Settings
from tests.support.browser import launch_chromium, serve

PAGE_TIMEOUT_MS = 10_000


@pytest.fixture
def live_engine(engine: Engine) -> Engine:
    return engine


@pytest.fixture
def live_session(live_engine: Engine) -> Iterator[Session]:
    with make_session_factory(live_engine)() as s:
        yield s


@pytest.fixture
def live_server(settings: Settings, live_engine: Engine) -> Iterator[str]:
    with serve(create_app(settings, engine=live_engine)) as base_url:
        yield base_url


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests. Package scope, not session: Playwright's sync API keeps an
    event loop running in the main thread while it is open, which would break every later test that
    calls ``asyncio.run`` (the fleet and simulator tests)."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, locale="vi-VN")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()

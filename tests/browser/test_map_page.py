"""The map in Chromium, with no network beyond Loa itself: Leaflet is served by Loa (no CDN), and with no
tile server — none configured, or one that cannot be reached — the communes, villages and loudspeakers
Loa knows are still drawn, with the coverage circles; with a tile URL set, the tiles are fetched from it
(here the test server itself) and drawn under them."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.responses import Response

from loa.app import create_app
from loa.settings import Settings
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.conftest import Backend
from tests.maps.conftest import place_world
from tests.schedule.world import seed_world
from tests.support.auth import DEFAULT_PASSWORD
from tests.support.browser import serve

pytestmark = pytest.mark.browser

# A 1×1 green PNG: a tile the test server hands out.
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def live_engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def placed(live_session: Session) -> None:
    place_world(live_session)


PageFor = Callable[[str], Page]


@pytest.fixture
def browser_page_for(browser: Browser) -> Iterator[PageFor]:
    """A page on another server than ``live_server`` (an app built with other map settings)."""
    contexts = []

    def page_for(base_url: str) -> Page:
        context = browser.new_context(base_url=base_url, locale="vi-VN")
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield page_for
    for context in contexts:
        context.close()


def _settings(tmp_path: Path, **map_settings: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        demo=True, data_dir=tmp_path / "data", secret_key="test-secret-key-0123456789abcdef", **map_settings
    )


def _only_loa(page: Page, base_url: str) -> list[str]:
    """Refuse every request that leaves the test server (a CDN, an outside tile server); return them."""
    outside: list[str] = []
    home = urlsplit(base_url).netloc

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == home:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return outside


def _open_map(page: Page) -> None:
    page.goto("/login?next=/map")
    page.get_by_label("Tên đăng nhập").fill("quantri")
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/map$"))
    expect(page.get_by_test_id("map")).to_have_attribute("data-ready", "1")


def _expect_points(page: Page) -> None:
    box = page.get_by_test_id("map")
    expect(box.locator("path.loa-loudspeaker")).to_have_count(1)
    expect(box.locator("path.loa-loudspeaker.online")).to_have_count(1)
    expect(box.locator("path.loa-village")).to_have_count(2)
    expect(box.locator("path.loa-commune")).to_have_count(1)  # Xã Ba Vì, from the data set
    expect(box.locator("path.loa-coverage")).to_have_count(1)
    expect(page.get_by_test_id("people-covered")).to_contain_text("850 / 1.270 người")


def test_without_tiles_the_map_still_shows_what_loa_knows(page: Page, live_server: str, placed: None) -> None:
    outside = _only_loa(page, live_server)
    _open_map(page)
    _expect_points(page)
    box = page.get_by_test_id("map")
    expect(box).to_have_class(re.compile("no-tiles"))
    expect(box).to_contain_text("Không có nền bản đồ")
    expect(box.locator("img.leaflet-tile")).to_have_count(0)
    box.locator("path.loa-loudspeaker").click(force=True)
    expect(box.locator(".leaflet-popup-content")).to_contain_text("Cụm loa chợ")
    expect(box.locator(".leaflet-popup-content")).to_contain_text("Trực tuyến")
    box.get_by_role("button", name="Zoom in").click()  # pan and zoom are Leaflet's own
    assert outside == []


@pytest.fixture
def unreachable_tiles(tmp_path: Path, live_engine: Engine) -> Iterator[str]:
    app = create_app(_settings(tmp_path, map_tile_url="http://192.0.2.1/{z}/{x}/{y}.png"), engine=live_engine)
    with serve(app) as base_url:
        yield base_url


def test_an_unreachable_tile_server_leaves_the_points(
    browser_page_for: PageFor, unreachable_tiles: str, placed: None
) -> None:
    page = browser_page_for(unreachable_tiles)
    outside = _only_loa(page, unreachable_tiles)
    _open_map(page)
    _expect_points(page)
    assert outside and all(url.startswith("http://192.0.2.1/") for url in outside)


@pytest.fixture
def tile_server(tmp_path: Path, live_engine: Engine) -> Iterator[tuple[str, list[str]]]:
    app: FastAPI = create_app(
        _settings(
            tmp_path, map_tile_url="/test-tiles/{z}/{x}/{y}.png", map_tile_attribution="© Sở TT&TT Quảng Ngãi"
        ),
        engine=live_engine,
    )
    served: list[str] = []

    @app.get("/test-tiles/{z}/{x}/{y}.png")
    def tile(z: int, x: int, y: int) -> Response:
        served.append(f"{z}/{x}/{y}")
        return Response(TILE, media_type="image/png")

    with serve(app) as base_url:
        yield base_url, served


def test_with_a_tile_url_the_tiles_are_drawn_under_the_points(
    browser_page_for: PageFor, tile_server: tuple[str, list[str]], placed: None
) -> None:
    base_url, served = tile_server
    page = browser_page_for(base_url)
    outside = _only_loa(page, base_url)
    _open_map(page)
    box = page.get_by_test_id("map")
    expect(box.locator("img.leaflet-tile-loaded").first).to_be_visible()
    expect(box).not_to_have_class(re.compile("no-tiles"))
    expect(box.locator(".leaflet-control-attribution")).to_contain_text("© Sở TT&TT Quảng Ngãi")
    _expect_points(page)
    assert served and outside == []

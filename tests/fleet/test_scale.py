"""Pages at scale (issue 17, point 4): the home page, the fleet table and the statistics fetch the same
number of rows from the database with 1,000 devices or 100,000 — a page of devices and the counts and
sums the database computed — never every device or receipt. Rows are counted, not timed (timings:
``benchmarks/pages.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from loa.db import make_session_factory
from loa.fleet.listing import PER_PAGE
from loa.maps.layers import GRID, MAX_POINTS
from loa.sim.crowd import add_crowd
from loa.units.models import AdminUnit, UnitKind
from loa.vocab.numbers import number_text
from tests.fleet.world import COMMUNE_A, COMMUNE_B, PROVINCE
from tests.support.auth import login_web

SMALL, LARGE = 1_000, 100_000
MAP_DEVICES = 3 * MAX_POINTS
WORLD_DEVICES = 3  # tests.fleet.world: never enrolled, so counted as "Chưa đăng ký"
# Besides the page of devices: the person, their session, audio choices, communes, topics, audit events…
# (the statistics page reads 66 rows in all at either size: its figures' lookups, not devices).
OTHER_ROWS = 20


@contextmanager
def counting_rows(engine: Engine) -> Iterator[list[int]]:
    """Rows returned by every SELECT run on ``engine`` meanwhile: the driver's row count where it
    gives one (PostgreSQL), else the statement counted again by the database (SQLite)."""
    counts: list[int] = []

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return
        if cursor.rowcount >= 0:
            counts.append(cursor.rowcount)
            return
        raw = conn.connection.dbapi_connection.cursor()  # below SQLAlchemy: no event, no recursion
        try:
            raw.execute(f"SELECT count(*) FROM ({statement}) AS counted", parameters)
            counts.append(int(raw.fetchone()[0]))
        finally:
            raw.close()

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(engine, "after_cursor_execute", after)


def rows_fetched(web: TestClient, engine: Engine, url: str) -> int:
    with counting_rows(engine) as counts:
        response = web.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    return sum(counts)


PAGES = (
    "/",
    "/fleet",
    f"/fleet?commune={COMMUNE_A}&state=online&q=Th%C3%B4n&page=2",
    "/fleet/live?page=3",
    f"/reports/statistics?area={PROVINCE}&period=year&year={date.today().year}",
)


def _measure(web: TestClient, engine: Engine) -> dict[str, int]:
    return {url: rows_fetched(web, engine, url) for url in PAGES}


def _expected_counts(devices: int) -> dict[str, int]:
    new = sum(1 for n in range(devices) if n % 10 == 9)
    online = sum(1 for n in range(devices) if n % 10 != 9 and n % 3 != 0)
    return {"online": online, "offline": devices - new - online, "new": new + WORLD_DEVICES}


def _communes(engine: Engine) -> list[int]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(AdminUnit.id).where(AdminUnit.code.in_([COMMUNE_A, COMMUNE_B]))))


def test_pages_fetch_the_same_rows_with_1000_or_100000_devices(web: TestClient, world_engine: Engine) -> None:
    communes = _communes(world_engine)
    login_web(web, "quantri")
    add_crowd(world_engine, communes=communes, count=SMALL)
    small = _measure(web, world_engine)
    add_crowd(world_engine, communes=communes, count=LARGE - SMALL, first=SMALL)
    large = _measure(web, world_engine)
    assert large == small  # nothing grows with the fleet
    assert all(n <= PER_PAGE + OTHER_ROWS for n in large.values()), sorted(large.items())[::-1]
    # The figures are the whole fleet's, counted by the database.
    expected = _expected_counts(LARGE)
    home = web.get("/").text
    assert (
        f"<strong>{number_text(expected['online'])}</strong> / {number_text(LARGE + WORLD_DEVICES)}" in home
    )
    assert f"{number_text(expected['offline'])} mất kết nối" in home
    fleet = web.get("/fleet").text
    pages = -(-(LARGE + WORLD_DEVICES) // PER_PAGE)
    assert f"Trang 1/{number_text(pages)}" in fleet  # "Trang 1/2.001"
    assert f"Trực tuyến: {number_text(expected['online'])}" in fleet
    assert f"Chưa đăng ký: {number_text(expected['new'])}" in fleet
    assert fleet.count('<tr data-device="') == PER_PAGE


def test_the_pager_keeps_the_filter_across_pages(web: TestClient, world_engine: Engine) -> None:
    communes = _communes(world_engine)
    add_crowd(world_engine, communes=communes, count=1200)
    login_web(web, "vanhanh.a")  # sees commune A only: the even devices
    first = web.get("/fleet?state=offline&q=Th%C3%B4n+1").text
    # Offline (n % 3 == 0, n % 10 != 9), in commune A (n even), in "Thôn 1", "Thôn 10" … "Thôn 12".
    kept = [n for n in range(1200) if n % 2 == 0 and n % 3 == 0 and n % 10 != 9 and n % 12 in (0, 9, 10, 11)]
    assert len(kept) > PER_PAGE  # two pages at least
    pages = -(-len(kept) // PER_PAGE)
    assert f"Trang 1/{pages}" in first
    assert "Trang trước" not in first
    next_href = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert next_href is not None
    assert "state=offline" in next_href.group(1) and "q=Th%C3%B4n+1" in next_href.group(1)
    second = web.get(next_href.group(1).replace("&amp;", "&")).text
    assert f"Trang 2/{pages}" in second and "Trang trước" in second
    shown = set(re.findall(r'<tr data-device="loa-c(\d+)"', first + second))
    assert shown <= {str(n).zfill(11) for n in kept}
    assert len(shown) == min(len(kept), 2 * PER_PAGE)
    # Another commune's code is refused in words, and shows none of its devices.
    refused = web.get(f"/fleet?commune={COMMUNE_B}")
    assert refused.status_code == 422
    assert "Không tìm thấy xã/phường này trong địa bàn của bạn." in refused.text


def test_the_map_groups_loudspeakers_and_follows_the_view(web: TestClient, world_engine: Engine) -> None:
    communes = _communes(world_engine)
    add_crowd(world_engine, communes=communes, count=MAP_DEVICES, near=(14.5, 108.5))
    with make_session_factory(world_engine)() as s, s.begin():  # one village among them, one far away
        parent = s.get(AdminUnit, communes[0])
        assert parent is not None
        for code, lat in (("9900001", 14.5013), ("9900002", 15.5)):
            s.add(
                AdminUnit(
                    code=code, kind=UnitKind.VILLAGE, name=f"Thôn {code}", name_folded=f"thon {code}",
                    parent_id=parent.id, path=f"{parent.path}{code}/", latitude=lat, longitude=108.5013,
                    population=500,
                )
            )  # fmt: skip
    login_web(web, "quantri")
    whole = web.get("/map/data").json()["features"]
    speakers = [f for f in whole if f["properties"]["kind"].startswith("loudspeaker")]
    # More than the map draws one by one: groups counted by the database, on a grid of GRID × GRID.
    assert {f["properties"]["kind"] for f in speakers} == {"loudspeaker_group"}
    assert len(speakers) <= GRID * GRID
    assert sum(f["properties"]["count"] for f in speakers) == MAP_DEVICES + 2  # and the world's two
    online = sum(f["properties"]["online"] for f in speakers)
    assert online == sum(1 for n in range(MAP_DEVICES) if n % 10 != 9 and n % 3 != 0)
    assert any("cụm loa" in f["properties"]["name"] for f in speakers)
    covered = {
        f["properties"]["name"]: f["properties"]["covered"]
        for f in whole
        if f["properties"]["kind"] == "village"
    }
    assert covered == {"Thôn 9900001": True, "Thôn 9900002": False}
    assert "Ước tính người nghe được: 500 / 1.000 người (50 %)" in web.get("/map").text
    # A view of about 1 km² holds a few: drawn one by one, each inside the view.
    west, south, east, north = 108.5, 14.5, 108.5095, 14.5095
    view = web.get(f"/map/data?bbox={west},{south},{east},{north}").json()["features"]
    points = [f for f in view if f["properties"]["kind"].startswith("loudspeaker")]
    assert len(points) == 11 * 11
    assert [f["properties"]["name"] for f in view if f["properties"]["kind"] == "village"] == ["Thôn 9900001"]
    assert all(f["properties"]["kind"] == "loudspeaker" for f in points)
    assert all(
        west <= f["geometry"]["coordinates"][0] <= east and south <= f["geometry"]["coordinates"][1] <= north
        for f in points
    )
    wrong = web.get("/map/data?bbox=1,2,3")
    assert wrong.status_code == 422
    assert "Khung bản đồ không hợp lệ" in wrong.text

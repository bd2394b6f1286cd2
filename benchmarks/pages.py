"""The pages at 100,000 loudspeaker clusters on PostgreSQL (issue 17, point 4), each a whole request
through the web application (session, queries, template), signed in as an administrator who sees every
device: the home page; the fleet table (first page, a page deep in the list, a filtered page, the live
cells it polls); the map's data (the whole province: loudspeakers grouped on a grid by the database; a
view of about 2 km x 2 km: drawn one by one); the statistics of the province for the year.

Seeding (not measured): a province with 100 communes, ``LOA_BENCH_PAGE_DEVICES`` devices (100,000) on a
grid 100 m apart, one status row each and a play receipt for every second one (``loa.sim.crowd``),
bulk-inserted. Baseline in the same run: the database alone counting the devices
(``SELECT count(*) FROM devices``); each page is also printed as a ratio to it. Medians of 5 requests.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from benchmarks.common import Result, median_seconds, scratch_database
from loa.accounts.principal import Role
from loa.accounts.service import create_user
from loa.app import create_app
from loa.db import make_session_factory
from loa.settings import Settings
from loa.sim.crowd import add_crowd
from loa.units.models import AdminUnit, UnitKind

DEVICES = int(os.environ.get("LOA_BENCH_PAGE_DEVICES", "100000"))
COMMUNES = 100
PROVINCE = "51"
USER, PASSWORD = "quantri.bench", "mat-khau-đủ-dài-123"


def _seed(engine: Engine) -> None:
    with make_session_factory(engine)() as s, s.begin():
        province = AdminUnit(
            code=PROVINCE, kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
        )
        s.add(province)
        s.flush()
        for i in range(COMMUNES):
            code = f"{21000 + i}"
            s.add(
                AdminUnit(
                    code=code,
                    kind=UnitKind.COMMUNE,
                    name=f"Xã số {i}",
                    name_folded=f"xa so {i}",
                    parent_id=province.id,
                    path=f"/51/{code}/",
                )
            )
        s.flush()
        create_user(s, username=USER, password=PASSWORD, role=Role.ADMIN)
        communes = [u.id for u in s.query(AdminUnit).filter(AdminUnit.kind == UnitKind.COMMUNE)]
    add_crowd(engine, communes=communes, count=DEVICES, near=(14.5, 108.5))
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))


def _login(client: TestClient) -> None:
    html = client.get("/login").text
    token = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": USER, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def _timed(client: TestClient, url: str) -> float:
    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    get()  # warm: templates compiled, plans cached
    return median_seconds(get)


def run() -> Iterator[Result]:
    thousands = DEVICES // 1000
    pages = {
        "home": "/",
        "fleet": "/fleet",
        "fleet_page_1000": "/fleet?page=1000",
        "fleet_filtered": "/fleet?commune=21007&state=offline&q=Th%C3%B4n+1",
        "fleet_live": "/fleet/live",
        "map_data": "/map/data",
        "map_data_view": "/map/data?bbox=108.5,14.5,108.52,14.52",
        "statistics": f"/reports/statistics?area={PROVINCE}&period=year&year={date.today().year}",
    }
    with scratch_database("pages") as engine, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        _seed(engine)
        yield Result(f"pages.seed_{thousands}k_s", time.perf_counter() - started, "s")

        def count() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM devices")).scalar_one()

        count()
        baseline = median_seconds(count)
        yield Result(f"pages.baseline_count_{thousands}k_ms", baseline * 1000, "ms")
        settings = Settings(
            demo=True, data_dir=Path(tmp) / "data", secret_key="bench-secret-key-0123456789abcdef"
        )  # type: ignore[arg-type]
        with TestClient(create_app(settings, engine=engine)) as client:
            _login(client)
            for name, url in pages.items():
                seconds = _timed(client, url)
                yield Result(f"pages.{name}_{thousands}k_ms", seconds * 1000, "ms")
                yield Result(f"pages.{name}_{thousands}k_vs_count_ratio", seconds / baseline, "x")

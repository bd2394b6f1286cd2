"""Report generation for a province-year: 100 communes with a year of register activity.

Measured: statistics (all channels, one province), the split by commune, DOCX, XLSX, and one PDF
conversion when LibreOffice is installed. Devices and the 1,000,000 play receipts of the target
(2,000 devices) are not part of it yet: radio figures still come from the manual radio register, so
this measures ~8,100 register records; re-measure once the fleet and play log exist.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from benchmarks.common import Result, median_seconds
from loa.accounts.principal import Principal, Role
from loa.activities.kinds import EventKind, PortalKind, PressKind, RadioKind, VisualKind, fold
from loa.activities.models import (
    ActivityEvent,
    ActivityTopic,
    MobileTrip,
    MobileTripStop,
    PortalPost,
    PressItem,
    RadioItem,
    VisualItem,
)
from loa.activities.service import ensure_default_topics
from loa.areas.models import AdminUnit, UnitKind
from loa.db import make_engine, make_session_factory
from loa.db.migrate import upgrade
from loa.reports.data import Organisation, ReportData
from loa.reports.docx_writer import render_docx
from loa.reports.pdf import docx_to_pdf, pdf_available
from loa.reports.period import Period
from loa.reports.statistics import breakdown, collect_channels
from loa.reports.xlsx_writer import render_xlsx

COMMUNES = 100
ADMIN = Principal(user_id=0, username="bench", display_name="bench", role=Role.ADMIN)


def _seed(session: Session) -> int:
    ensure_default_topics(session)
    topic = session.query(ActivityTopic).filter_by(code="cchc").one()
    province = AdminUnit(
        code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    start = date(2024, 1, 1)
    for c in range(COMMUNES):
        code = str(21000 + c)
        commune = AdminUnit(
            code=code,
            kind=UnitKind.COMMUNE,
            name=f"Xã Số {c}",
            name_folded=fold(f"xa so {c}"),
            parent_id=province.id,
            path=f"/51/{code}/",
        )
        session.add(commune)
        session.flush()
        a, topics = commune.id, [topic]

        def day(i: int, c: int = c) -> date:
            return start + timedelta(days=(i * 7 + c) % 365)

        session.add_all(
            RadioItem(
                kind=list(RadioKind)[i % 3],
                count=1 + i % 4,
                aired_on=day(i),
                title=f"Tin {i}",
                area_id=a,
                topics=topics,
            )
            for i in range(30)
        )
        session.add_all(
            PortalPost(
                kind=list(PortalKind)[i % 3], count=1 + i % 5, posted_on=day(i), area_id=a, topics=topics
            )
            for i in range(10)
        )
        session.add_all(
            PressItem(
                outlet="Báo Quảng Ngãi",
                kind=list(PressKind)[i % 4],
                published_on=day(i),
                title=f"Bài {i}",
                link=f"https://example.vn/{c}/{i}",
                area_id=a,
                topics=topics,
            )
            for i in range(5)
        )
        session.add_all(
            VisualItem(
                kind=list(VisualKind)[i % 4],
                place=f"Điểm {i % 6} xã {c}",
                width_m=1.8,
                height_m=1.2,
                sides=1 + i % 2,
                quantity=1 + i % 3,
                installed_on=day(i),
                area_id=a,
                topics=topics,
            )
            for i in range(20)
        )
        session.add_all(
            MobileTrip(
                trip_on=day(i),
                route="Trung tâm → thôn",
                content=f"Nội dung {i % 4}",
                duration_minutes=90,
                audience_estimate=120,
                area_id=a,
                topics=topics,
                stops=[MobileTripStop(position=s, name=f"Thôn {s + i % 5}") for s in range(3)],
            )
            for i in range(12)
        )
        session.add_all(
            ActivityEvent(
                kind=list(EventKind)[i % 6],
                held_on=day(i),
                title=f"Sự kiện {i}",
                participants=100,
                area_id=a,
                topics=topics,
            )
            for i in range(4)
        )
    session.flush()
    return province.id


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            started = time.perf_counter()
            province_id = _seed(session)
        yield Result("reports.seed_province_year_s", time.perf_counter() - started, "s")
        period = Period.year(2024)
        org = Organisation("UBND TỈNH QUẢNG NGÃI", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Quảng Ngãi", "SVHTTDL")
        with factory() as session:

            def collect() -> ReportData:
                _, channels = collect_channels(
                    session, principal=ADMIN, period=period, area_id=province_id, topic_code="cchc"
                )
                session.expire_all()
                return ReportData(period, org, None, "Tỉnh Quảng Ngãi", channels, date(2025, 1, 10))

            data = collect()
            rows = sum(len(c.rows) for c in data.channels)
            yield Result("reports.province_year.records", rows, "records", better="higher")
            yield Result(
                "reports.province_year.statistics_s", median_seconds(collect, repeat=3), "s", target=5.0
            )
            split = median_seconds(
                lambda: breakdown(
                    session, principal=ADMIN, period=period, area_id=province_id, level="commune"
                ),
                repeat=3,
            )
            yield Result("reports.province_year.breakdown_by_commune_s", split, "s", target=5.0)
            yield Result(
                "reports.province_year.docx_s",
                median_seconds(lambda: render_docx(data), repeat=3),
                "s",
                target=2.0,
            )
            yield Result(
                "reports.province_year.xlsx_s",
                median_seconds(lambda: render_xlsx(data), repeat=3),
                "s",
                target=5.0,
            )
            if pdf_available():
                docx = render_docx(data)
                yield Result(
                    "reports.province_year.pdf_s",
                    median_seconds(lambda: docx_to_pdf(docx), repeat=1),
                    "s",
                    target=30.0,
                )
        engine.dispose()

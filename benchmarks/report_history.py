"""Report generation for a province-year with 10,000,000 play receipts (``LOA_BENCH_HISTORY_RECEIPTS``)
on the monthly partitioned ``play_receipts`` (``loa.db.partitions``), beside the same rows in one plain
table in the same run (the baseline).

The province is ``benchmarks.reports``'s (100 communes, 2,000 clusters, a year of programmes,
announcements and registers); its million receipts are copied into a scratch table once, then the
database multiplies them (``generate_series``: each airing heard again 17, 34 … minutes later) up to
the size wanted, so seeding 10 M rows takes minutes, not the Python side's hour. The plain copy lives
in schema ``flat`` with the indexes the table had before migration 0018; the baseline's connections
put ``flat`` first on their ``search_path``, so the very same report code reads it.

Measured (medians of 3) for each layout: the aggregate SQL alone for the year and for one month (the
month is where partitions pay: one partition read instead of an index range over the whole table), and
the full report (statistics, DOCX, XLSX) against the target of 5 s.

Then the closed months are summarised (``loa.reports.summary``, as ``loa db maintain`` does; the time
it takes is a figure) and the same figures are measured on the partitioned table reading the
summaries (``summarised``), with the ratio to the raw path. The raw layouts are measured with the
summaries switched off (``summary.raw_receipts``). ``LOA_BENCH_HISTORY_FLAT=0`` skips the plain copy
(a quicker run on a loaded machine).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from benchmarks.common import Result, median_seconds, scratch_database
from benchmarks.reports import ADMIN, YEAR, _copy_receipts, _seed, _seed_radio
from loa.db import make_engine, make_session_factory, utcnow
from loa.db.partitions import ensure_partitions
from loa.reports import summary
from loa.reports.data import Organisation, ReportData
from loa.reports.docx_writer import render_docx
from loa.reports.facts import period_bounds
from loa.reports.receipts import receipt_rows
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.xlsx_writer import render_xlsx
from loa.units.models import AdminUnit, UnitKind
from loa.vocab.period import Period

RECEIPTS = int(os.environ.get("LOA_BENCH_HISTORY_RECEIPTS", "10000000"))
FLAT = os.environ.get("LOA_BENCH_HISTORY_FLAT", "1") != "0"
BASE_RECEIPTS = 1_000_000  # what the province's airings give once
COLUMNS = (
    "device_id, receipt_id, seq, item_id, audio_sha256, started_at, ended_at, outcome, "
    "manifest_version, detail, received_at"
)
# The plain table as it was before migration 0018 (its indexes and unique key).
FLAT_INDEXES = (
    "ALTER TABLE flat.play_receipts ADD PRIMARY KEY (id)",
    "ALTER TABLE flat.play_receipts ADD UNIQUE (device_id, receipt_id)",
    "CREATE INDEX ON flat.play_receipts (device_id, started_at)",
    "CREATE INDEX ON flat.play_receipts (item_id)",
    "CREATE INDEX ON flat.play_receipts (started_at)",
)


def _multiply(engine: Engine, wanted: int) -> None:
    """The base receipts (already in ``play_receipts``) heard again until ``wanted`` rows exist."""
    copies = -(-wanted // BASE_RECEIPTS)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE UNLOGGED TABLE bench_base AS SELECT {COLUMNS} FROM play_receipts")
        have = int(conn.exec_driver_sql("SELECT count(*) FROM bench_base").scalar() or 0)
        if copies > 1 and wanted > have:
            conn.exec_driver_sql(
                f"INSERT INTO play_receipts ({COLUMNS}) "
                "SELECT device_id, receipt_id || '-' || g, seq, item_id, audio_sha256, "
                "started_at + g * INTERVAL '17 minutes', ended_at + g * INTERVAL '17 minutes', outcome, "
                "manifest_version, detail, received_at "
                f"FROM bench_base CROSS JOIN generate_series(1, {copies - 1}) AS g "
                f"LIMIT {wanted - have}"
            )
        conn.exec_driver_sql("DROP TABLE bench_base")


def _flat_copy(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA flat")
        conn.exec_driver_sql("CREATE TABLE flat.play_receipts (LIKE public.play_receipts INCLUDING DEFAULTS)")
        conn.exec_driver_sql("INSERT INTO flat.play_receipts SELECT * FROM public.play_receipts")
        for statement in FLAT_INDEXES:
            conn.exec_driver_sql(statement)


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) play_receipts")
        if FLAT:
            conn.exec_driver_sql("VACUUM (ANALYZE) flat.play_receipts")
        conn.exec_driver_sql("ANALYZE")


def _measure(session: Session, name: str, request: ReportRequest) -> Iterator[Result]:
    communes = list(session.scalars(select(AdminUnit.id).where(AdminUnit.kind == UnitKind.COMMUNE)))
    prefix = f"reports.province_year_history.{name}"
    for label, period in (("year", Period.year(YEAR)), ("month", Period.month(YEAR, 6))):
        start_at, end_at = period_bounds(period)

        def database_alone(start_at: Any = start_at, end_at: Any = end_at) -> int:
            return len(receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes))

        database_alone()
        yield Result(f"{prefix}.{label}_database_alone_s", median_seconds(database_alone, repeat=3), "s")

    def statistics() -> ReportData:
        data = build_report_data(session, principal=ADMIN, request=request)
        session.expire_all()
        return data

    def full() -> None:
        made = statistics()
        render_docx(made)
        render_xlsx(made)

    full()
    yield Result(f"{prefix}.full_report_s", median_seconds(full, repeat=3), "s", target=5.0)


def run() -> Iterator[Result]:
    with scratch_database("history") as engine:
        factory = make_session_factory(engine)
        started = time.perf_counter()
        with engine.begin() as conn:  # the months the gateway would have prepared as the year went by
            for month in range(0, 14):
                at = datetime(YEAR - 1, 12, 15, tzinfo=UTC) + timedelta(days=31 * month)
                ensure_partitions(conn, now=at, months_ahead=0)
        with factory() as session, session.begin():
            province_id = _seed(session)
            _, receipts = _seed_radio(session, province_id, min(RECEIPTS, BASE_RECEIPTS))
        _copy_receipts(engine, receipts)
        del receipts
        _multiply(engine, RECEIPTS)
        yield Result("reports.province_year_history.seed_partitioned_s", time.perf_counter() - started, "s")
        started = time.perf_counter()
        if FLAT:
            _flat_copy(engine)
        _vacuum(engine)
        if FLAT:
            yield Result("reports.province_year_history.seed_flat_copy_s", time.perf_counter() - started, "s")
        with engine.connect() as conn:
            count = int(conn.execute(text("SELECT count(*) FROM play_receipts")).scalar() or 0)
            months = int(
                conn.execute(
                    text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'play_receipts'::regclass")
                ).scalar()
                or 0
            )
        yield Result("reports.province_year_history.play_receipts", count, "receipts", better="higher")
        yield Result("reports.province_year_history.partitions", months, "partitions", better="higher")
        request = ReportRequest(
            period=Period.year(YEAR),
            area_id=province_id,
            issued_on=date(YEAR + 1, 1, 10),
            organisation=Organisation(
                "UBND TỈNH QUẢNG NGÃI", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Quảng Ngãi", "SVHTTDL"
            ),
        )
        figures: dict[str, float] = {}
        flat = make_engine(
            engine.url.render_as_string(hide_password=False),
            connect_args={"options": "-c search_path=flat,public"},
        )
        layouts = (("partitioned", engine), ("flat", flat)) if FLAT else (("partitioned", engine),)
        try:
            with summary.raw_receipts():  # none made yet; and the plain copy has none of its own
                for name, layout in layouts:
                    with make_session_factory(layout)() as session:
                        for result in _measure(session, name, request):
                            figures[_key(result)] = result.value
                            yield result
        finally:
            flat.dispose()
        what_of = ("year_database_alone_s", "month_database_alone_s", "full_report_s")
        for what in what_of if FLAT else ():
            yield Result(
                f"reports.province_year_history.{what.removesuffix('_s')}_partitioned_vs_flat",
                figures[f"partitioned.{what}"] / figures[f"flat.{what}"],
                "x",
            )
        # The closed months summarised, as the periodic maintenance does (one transaction a month).
        started = time.perf_counter()
        done = summary.summarise_closed_months(factory, now=utcnow(), actor_name="bench", via="cli")
        yield Result(
            "reports.province_year_history.summarise_closed_months_s", time.perf_counter() - started, "s"
        )
        busy = [s for s in done if s.groups]
        yield Result("reports.province_year_history.summarised_months", len(busy), "months", better="higher")
        yield Result(
            "reports.province_year_history.summary_groups",
            sum(s.groups for s in busy),
            "rows",
            better="lower",
        )
        with factory() as session:
            for result in _measure(session, "summarised", request):
                figures[_key(result)] = result.value
                yield result
        for what in what_of:
            yield Result(
                f"reports.province_year_history.{what.removesuffix('_s')}_summarised_vs_partitioned",
                figures[f"summarised.{what}"] / figures[f"partitioned.{what}"],
                "x",
            )


def _key(result: Result) -> str:
    return result.bench.rsplit(".", 2)[-2] + "." + result.bench.rsplit(".", 1)[-1]

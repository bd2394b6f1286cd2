"""Report generation for a province-year on PostgreSQL: 100 communes with a year of register activity
(~8,100 records), 2,000 loudspeaker clusters, a province CCHC programme (12 episodes × 8 items), a
daily programme per commune with its own running order every day (a new bulletin every second day:
~18,400 bulletins), 38 announcements per commune, and 1,000,000 play receipts
(``LOA_BENCH_RECEIPTS``) loaded with COPY into a scratch database.

Measured (medians of 3): the full report — statistics of every channel with the radio figures from
schedules and receipts, DOCX and XLSX — against the target of 5 s; its parts; and, as the baseline,
the database alone: the aggregate SQL over ``play_receipts`` run as the statistics run it
(``loa.reports.receipts.receipt_rows``: the same statement, JIT off), with the ratio.
Seeding is not part of the figure. Admin connection: ``LOA_BENCH_POSTGRES_URL``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from benchmarks.common import Result, median_seconds, scratch_database
from loa.accounts.principal import Principal, Role
from loa.activities.kinds import EventKind, PortalKind, PressKind, RadioKind, VisualKind
from loa.activities.models import (
    ActivityEvent,
    MobileTrip,
    MobileTripStop,
    PortalPost,
    PressItem,
    RadioItem,
    VisualItem,
)
from loa.content.catalog import BulletinKind, Priority, Status
from loa.content.models import Attachment, Bulletin, bulletin_topics
from loa.db import make_session_factory
from loa.fleet.models import Device
from loa.reports.data import Organisation, ReportData
from loa.reports.docx_writer import render_docx
from loa.reports.facts import period_bounds
from loa.reports.pdf import docx_to_pdf, pdf_available
from loa.reports.receipts import receipt_rows
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.xlsx_writer import render_xlsx
from loa.schedule import models as m
from loa.schedule.recurrence import to_utc
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.topics.models import Topic
from loa.units.models import AdminUnit, UnitKind
from loa.vocab.period import Period
from loa.vocab.text import fold

RECEIPTS = int(os.environ.get("LOA_BENCH_RECEIPTS", "1000000"))
COMMUNES = 100
DEVICES_PER_COMMUNE = 20
ANNOUNCEMENTS = 38  # per commune: with the programmes, 1,000,000 receipts in the year
AUDIO_MS = 120_000
YEAR = 2024
ADMIN = Principal(user_id=0, username="bench", display_name="bench", role=Role.ADMIN)


def _seed(session: Session) -> int:
    topic = session.query(Topic).filter_by(code="cchc").one()
    province = AdminUnit(
        code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    start = date(YEAR, 1, 1)
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


def _insert(session: Session, table: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        session.execute(insert(table), rows[start : start + chunk])


def _new_bulletins(session: Session, rows: list[dict[str, Any]], topic_ids: list[int]) -> list[int]:
    """Insert approved (some published) bulletins; returns their ids in order."""
    first = (session.scalar(select(func.max(Bulletin.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    defaults = {"priority": Priority.NORMAL, "version": 1, "approved_revision_no": 1}
    _insert(session, Bulletin, [{"id": i, **defaults, **r} for i, r in zip(ids, rows, strict=True)])
    links = [{"bulletin_id": i, "topic_id": t} for i, t in zip(ids, topic_ids, strict=True)]
    _insert(session, bulletin_topics, links)
    return ids


def _seed_radio(
    session: Session, province_id: int, receipts_wanted: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """2,000 clusters, a province CCHC programme (12 episodes × 8 items), a daily programme per commune
    with its own running order every day, announcements; returns the receipts to COPY (played 97 %,
    pre-empted 2 %, failed 1 %), in airing order, cut at ``receipts_wanted``."""
    topics = {t.code: t.id for t in session.scalars(select(Topic))}
    topic_cycle = [topics["cchc"], topics["y-te"], topics["nong-nghiep"]]
    communes = session.execute(
        select(AdminUnit.id, AdminUnit.code).where(AdminUnit.kind == UnitKind.COMMUNE).order_by(AdminUnit.id)
    ).all()
    audio = [hashlib.sha256(f"bench-audio-{i}".encode()).hexdigest() for i in range(8)]
    _insert(
        session,
        AudioAsset,
        [
            {
                "sha256": sha,
                "format": "mp3",
                "size_bytes": 960_000,
                "duration_ms": AUDIO_MS,
                "loudness_lufs": -16.0,
                "true_peak_dbtp": -1.5,
                "sample_rate": 22050,
                "source_kind": AudioSourceKind.UPLOAD,
            }
            for sha in audio
        ],
    )
    installed = datetime(YEAR - 1, 12, 1, tzinfo=UTC)
    _insert(
        session,
        Device,
        [
            {
                "uid": f"loa-{c:03d}-{k:02d}",
                "name": f"Cụm loa {c}-{k}",
                "commune_id": cid,
                "created_at": installed,
            }
            for c, (cid, _) in enumerate(communes)
            for k in range(DEVICES_PER_COMMUNE)
        ],
    )
    devices: dict[int, list[int]] = {}
    for device_id, commune_id in session.execute(select(Device.id, Device.commune_id).order_by(Device.id)):
        devices.setdefault(commune_id, []).append(device_id)
    everyone = [d for ds in devices.values() for d in ds]
    airings: list[tuple[datetime, str, list[int], str]] = []  # (at, item id, clusters, audio)

    def programme(name: str, area_id: int, start: datetime, rule: str, topic_id: int | None) -> int:
        p = m.Programme(
            name=name,
            area_id=area_id,
            topic_id=topic_id,
            start_local=start,
            rrule=rule,
            until_cancelled=True,
            slot_duration_ms=30 * 60_000,
            created_at=installed,
        )
        session.add(p)
        session.flush()
        return p.id

    def episodes(pid: int, days: list[datetime], lines: list[list[int]], clusters: list[int]) -> None:
        slot_ids = []
        first = (session.scalar(select(func.max(m.Slot.id))) or 0) + 1
        _insert(
            session,
            m.Slot,
            [
                {"id": first + i, "programme_id": pid, "occurrence_local": d, "own_running_order": True}
                for i, d in enumerate(days)
            ],
        )
        slot_ids = list(range(first, first + len(days)))
        items = []
        for slot_id, local, bids in zip(slot_ids, days, lines, strict=True):
            at = to_utc(local)
            for position, bid in enumerate(bids):
                items.append(
                    {
                        "programme_id": pid,
                        "slot_id": slot_id,
                        "position": position,
                        "kind": m.ItemKind.BULLETIN,
                        "bulletin_id": bid,
                    }
                )
                stamp = at.strftime("%Y%m%dT%H%MZ")
                airings.append(
                    (at + timedelta(minutes=2 * position), f"p.{pid}.{stamp}.{bid}", clusters, audio[bid % 8])
                )
        _insert(session, m.RunningOrderItem, items)

    cchc = programme(
        "Chuyên mục Cải cách hành chính",
        province_id,
        datetime(YEAR, 1, 15, 7),
        "FREQ=MONTHLY;BYDAY=3MO",
        topics["cchc"],
    )
    session.add(m.ProgrammeTarget(programme_id=cchc, kind="province", ref_id=province_id))
    mondays = [datetime(YEAR, 1, 15, 7) + timedelta(weeks=w) for w in range(53)]
    mondays = [d for d in mondays if d.year == YEAR and 15 <= d.day <= 21][:12]
    kinds = [BulletinKind.NEWS] * 4 + [BulletinKind.ARTICLE] * 4
    ids = _new_bulletins(
        session,
        [
            {"kind": k, "title": f"CCHC {d:%m} số {i}", "area_id": province_id, "status": Status.APPROVED}
            for d in mondays
            for i, k in enumerate(kinds)
        ],
        [topics["cchc"]] * (len(mondays) * 8),
    )
    episodes(cchc, mondays, [ids[i * 8 : i * 8 + 8] for i in range(len(mondays))], everyone)
    days = [datetime(YEAR, 1, 1, 6) + timedelta(days=i) for i in range(366 if YEAR % 4 == 0 else 365)]
    for c, (cid, code) in enumerate(communes):
        pid = programme(f"Bản tin xã {code}", cid, days[0], "FREQ=DAILY", None)
        session.add(m.ProgrammeTarget(programme_id=pid, kind="commune", ref_id=cid))
        rows = [
            {
                "kind": BulletinKind.NEWS if i % 2 else BulletinKind.ARTICLE,
                "title": f"Bản tin xã {code} ngày {d:%d/%m}",
                "area_id": cid,
                "status": Status.PUBLISHED if i % 10 == 0 else Status.APPROVED,
                "published_revision_no": 1 if i % 10 == 0 else None,
                "published_at": to_utc(d) if i % 10 == 0 else None,
            }
            for i, d in enumerate(days[::2])
        ]
        ids = _new_bulletins(session, rows, [topic_cycle[(i + c) % 3] for i in range(len(rows))])
        _insert(
            session,
            Attachment,
            [
                {
                    "bulletin_id": b,
                    "sha256": f"{b:064x}",
                    "content_type": "image/jpeg",
                    "size_bytes": 1,
                    "width": 1,
                    "height": 1,
                }
                for i, b in enumerate(ids)
                if i % 30 == 0
            ],
        )
        # A new commune bulletin every second day, each aired on two mornings.
        episodes(pid, days, [[ids[i // 2]] for i in range(len(days))], devices[cid])
        notices = _new_bulletins(
            session,
            [
                {
                    "kind": BulletinKind.ANNOUNCEMENT,
                    "title": f"Thông báo {code}-{i}",
                    "area_id": cid,
                    "status": Status.APPROVED,
                }
                for i in range(ANNOUNCEMENTS)
            ],
            [topics["cchc"]] * ANNOUNCEMENTS,
        )
        for i, bid in enumerate(notices):
            at = datetime(YEAR, 1, 3, 2, tzinfo=UTC) + timedelta(days=9 * i, minutes=c)
            a = m.Announcement(
                title=f"Thông báo {i}", bulletin_id=bid, start_at=at, area_id=cid, created_at=installed
            )
            session.add(a)
            session.flush()
            session.add(m.AnnouncementTarget(announcement_id=a.id, kind="commune", ref_id=cid))
            airings.append((at, f"a.{a.id}", devices[cid], audio[bid % 8]))
    session.flush()
    airings.sort(key=lambda a: a[0])
    receipts: list[tuple[Any, ...]] = []
    received = datetime(YEAR + 1, 1, 1, tzinfo=UTC)
    for at, item_id, clusters, sha in airings:
        for device_id in clusters:
            n = len(receipts)
            if n >= receipts_wanted:
                return len(everyone), receipts
            outcome = "played" if n % 100 >= 3 else ("preempted" if n % 100 else "failed")
            seconds = AUDIO_MS // 1000 + (5 if n % 7 == 0 else 0)  # some run long: capped to the audio
            receipts.append(
                (
                    device_id,
                    f"r{n:09d}",
                    n,
                    item_id,
                    sha,
                    at,
                    at + timedelta(seconds=seconds),
                    outcome,
                    None,
                    None,
                    received,
                )
            )
    return len(everyone), receipts


def _copy_receipts(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    columns = (
        "device_id, receipt_id, seq, item_id, audio_sha256, started_at, ended_at, outcome, "
        "manifest_version, detail, received_at"
    )
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY play_receipts ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        driver.commit()
        # A year of receipts has long been vacuumed in production; without this, autovacuum and the
        # first readers' hint-bit writes on the fresh million rows compete with the measurement.
        driver.autocommit = True
        with driver.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) play_receipts")
            cur.execute("ANALYZE")
        driver.autocommit = False  # the connection goes back to the pool
    finally:
        raw.close()


def run() -> Iterator[Result]:
    with scratch_database("reports") as engine:
        factory = make_session_factory(engine)
        started = time.perf_counter()
        with factory() as session, session.begin():
            province_id = _seed(session)
            devices, receipts = _seed_radio(session, province_id, RECEIPTS)
        _copy_receipts(engine, receipts)
        yield Result("reports.province_year.seed_s", time.perf_counter() - started, "s")
        yield Result("reports.province_year.devices", devices, "devices", better="higher")
        yield Result("reports.province_year.play_receipts", len(receipts), "receipts", better="higher")
        del receipts
        period = Period.year(YEAR)
        request = ReportRequest(
            period=period,
            area_id=province_id,
            issued_on=date(YEAR + 1, 1, 10),
            organisation=Organisation(
                "UBND TỈNH QUẢNG NGÃI", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Quảng Ngãi", "SVHTTDL"
            ),
        )
        with factory() as session:
            start_at, end_at = period_bounds(period)
            communes = list(session.scalars(select(AdminUnit.id).where(AdminUnit.kind == UnitKind.COMMUNE)))

            def database_alone() -> int:
                return len(receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes))

            groups = database_alone()
            baseline = median_seconds(database_alone, repeat=3)
            yield Result("reports.province_year.receipt_groups", groups, "rows", better="higher")
            yield Result("reports.province_year.database_alone_s", baseline, "s")

            def statistics() -> ReportData:
                data = build_report_data(session, principal=ADMIN, request=request)
                session.expire_all()
                return data

            data = statistics()
            yield Result(
                "reports.province_year.detail_rows",
                sum(len(c.rows) for c in data.channels),
                "rows",
                better="higher",
            )
            yield Result("reports.province_year.statistics_s", median_seconds(statistics, repeat=3), "s")
            yield Result(
                "reports.province_year.docx_s", median_seconds(lambda: render_docx(data), repeat=3), "s"
            )
            yield Result(
                "reports.province_year.xlsx_s", median_seconds(lambda: render_xlsx(data), repeat=3), "s"
            )

            def full() -> None:
                made = statistics()
                render_docx(made)
                render_xlsx(made)

            total = median_seconds(full, repeat=3)
            yield Result("reports.province_year.full_report_s", total, "s", target=5.0)
            yield Result("reports.province_year.full_report_vs_database_alone", total / baseline, "x")
            # The reports above draft their assessment against 2023, which has no data here. What
            # drafting costs when the previous year is full: the next year's report (empty) drafted
            # against this one.
            following = replace(request, period=Period.year(YEAR + 1), issued_on=date(YEAR + 2, 1, 10))

            def drafted_against_a_full_year() -> None:
                build_report_data(session, principal=ADMIN, request=following)
                session.expire_all()

            yield Result(
                "reports.province_year.assessment_draft_s",
                median_seconds(drafted_against_a_full_year, repeat=3),
                "s",
            )
            if pdf_available():
                docx = render_docx(data)
                yield Result(
                    "reports.province_year.pdf_s",
                    median_seconds(lambda: docx_to_pdf(docx), repeat=1),
                    "s",
                    target=30.0,
                )

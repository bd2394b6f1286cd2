"""``loa demo`` end to end: the demo's own parts (its data, the real web server, the embedded broker,
the gateway and the six simulated loudspeakers of xã Ba Tơ fetching their signed manifests) play
what is scheduled, and what the database holds is what each loudspeaker played: receipt by receipt,
device by device, each naming the announcement or programme airing it is evidence of; and the
statistics of that window count exactly those receipts.

Short items, so that within about a minute several air: four bulletins read by the real TTS chain;
an announcement; a one-off programme airing of two of them, interrupted by a priority announcement
(the programme resumes); and the announcement the demo makes at every start.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from loa.app import create_app
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.demo import seed_demo
from loa.demo_content import (
    COMMUNE,
    DEMO_BULLETINS,
    START_ANNOUNCEMENT_AFTER,
    announce_bulletin,
    announce_demo_start,
    publish_bulletins,
    schedule_programme,
    seed_demo_content,
)
from loa.fleet.models import PlayReceipt
from loa.protocol import itemids
from loa.reports.receipts import receipt_rows
from loa.schedule import checks
from loa.schedule import models as sm
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from loa.sim.demo import DEMO_DEVICE_NAMES, start_demo_fleet
from loa.speech.models import AudioAsset
from loa.units.models import AdminUnit
from loa.wiring import wire
from tests.fleet.harness import SAFETY_NET_S, ServerThread, free_port, receipts_of, unique_prefix

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

Factory = sessionmaker[Session]
SHORT = (  # title, body, priority
    ("Họp dân thôn 1", "Mời bà con thôn 1 họp lúc 19 giờ.", "normal"),
    ("Lịch thu gom rác", "Xe thu gom rác đến vào sáng thứ bảy.", "normal"),
    ("Nhắc nộp hồ sơ", "Hạn nộp hồ sơ là ngày mười lăm.", "normal"),
    ("Cảnh báo nắng nóng", "Bà con hạn chế ra đồng buổi trưa.", "priority"),
)
Row = tuple[str, str, str, datetime, datetime, str | None]


def test_the_demo_loudspeakers_play_their_schedule_and_the_receipts_say_so(
    tmp_path: Path, engine: Engine
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        demo=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        mqtt_port=free_port(),
        mqtt_topic_prefix=unique_prefix(),
    )
    process = wire(engine, settings)
    factory = process.sessions
    with factory() as session, session.begin():
        seed_demo(session, settings)
    seed_demo_content(factory, settings)
    drafts = [DraftInput(title=t, body=b, priority=p, area_code=COMMUNE) for t, b, p in SHORT]
    b1, b2, b3, b4 = publish_bulletins(factory, settings, drafts)
    length = audio_lengths(factory, [b1, b2, b3, b4])
    with factory() as session:
        notice = session.scalars(select(Bulletin.id).where(Bulletin.title == DEMO_BULLETINS[1][3])).one()
    notice_ms = audio_lengths(factory, [notice])[notice]
    window_start = datetime.now(UTC)

    with ServerThread(create_app(settings, engine=engine, process=process)) as server:
        demo = start_demo_fleet(settings, engine, process, server_url=server.url)
        try:
            assert demo.started.wait(SAFETY_NET_S), "the demo's loudspeakers did not start"
            fleet = demo.fleet
            assert fleet is not None and len(fleet.devices) == len(DEMO_DEVICE_NAMES)
            wait_for(lambda: fleet.stats.manifests >= len(fleet.devices), 30, "every loudspeaker's manifest")

            now = datetime.now(UTC)
            a1 = announce(factory, settings, b1, now + timedelta(seconds=8))
            airing = (now + timedelta(seconds=15)).replace(second=0, microsecond=0) + timedelta(minutes=1)
            programme = one_off_programme(factory, settings, airing, [b2, b3])
            a2 = announce(factory, settings, b4, airing + timedelta(seconds=1))  # interrupts b2
            # The demo's own start announcement, where it overlaps nothing: before the airing if it
            # fits there, else after the programme.
            demo_at = now + timedelta(seconds=16)
            if demo_at + timedelta(milliseconds=notice_ms + 2000) > airing:
                demo_at = airing + timedelta(seconds=12)
            announce_demo_start(factory, settings, now=demo_at - START_ANNOUNCEMENT_AFTER)
            starts = announcement_starts(factory)
            assert set(starts) > {a1, a2} and len(starts) == 3

            expected = len(fleet.devices) * 5  # three announcements and the programme's two lines
            wait_for(lambda: receipt_total(factory) >= expected, 150, "the receipts of what aired")
            wait_for(lambda: fleet.stats.receipts_acked >= expected, 20, "the receipts acknowledged")
            time.sleep(1.0)  # a resend or a stray receipt would show now
            played = {d.identity.uid: [row_of(r) for r in d.receipts] for d in fleet.devices}
        finally:
            demo.stop()
    window_end = datetime.now(UTC)

    # Device by device, the database holds exactly what the loudspeaker says it played.
    for uid, rows in played.items():
        assert sorted(row_of(r) for r in receipts_of(factory, uid)) == sorted(rows), uid

    # Each receipt names what was scheduled; everything scheduled played whole, on time.
    stamp = itemids.airing_stamp(airing)
    (demo_a,) = set(starts) - {a1, a2}
    for uid, rows in played.items():
        named: dict[str, Row] = {}
        for row in rows:
            ref = itemids.parse(row[1])
            if ref.announcement_id is not None:
                assert ref.announcement_id in starts, row
                assert abs((row[3] - starts[ref.announcement_id]).total_seconds()) < 1.0, row
                named[f"a{ref.announcement_id}"] = row
            else:
                assert (ref.programme_id, ref.airing) == (programme, stamp), row
                named[f"b{ref.bulletin_id}"] = row
            assert row[2] == "played", (uid, row)
        assert set(named) == {f"a{a1}", f"a{a2}", f"a{demo_a}", f"b{b2}", f"b{b3}"}, uid
        first, second = named[f"b{b2}"], named[f"b{b3}"]
        assert abs((first[3] - airing).total_seconds()) < 1.0, first
        # b2 was interrupted by the priority announcement and resumed after it: it spans both.
        assert abs(span_ms(first) - length[b2] - length[b4]) < 1000, (first, length)
        assert second[3] >= first[4]
        assert abs(span_ms(named[f"a{a1}"]) - length[b1]) < 1000

    # The statistics of that window count exactly these receipts (commune, item, outcome).
    with factory() as session:
        ba_to = session.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE)).one()
        stats = receipt_rows(session, start_at=window_start, end_at=window_end, commune_ids=[ba_to.id])
    counted = {row[2]: (row[3], row[4], row[5]) for row in stats}
    heard = Counter(row[1] for rows in played.values() for row in rows)
    assert counted == {item: (n, 0, 0) for item, n in heard.items()}


def wait_for(predicate: Callable[[], bool], limit_s: float, what: str) -> None:
    """Until ``predicate()`` holds; ``limit_s`` is what it takes on a quiet machine, the safety net
    the longer of it and ``SAFETY_NET_S`` (``tests.fleet.harness``)."""
    deadline = time.monotonic() + max(limit_s, SAFETY_NET_S)
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def row_of(r: Any) -> Row:
    """A receipt as sent (``messages.Receipt``) or as recorded (``PlayReceipt``), comparably."""
    return (r.receipt_id, r.item_id, r.outcome.value, r.started_at, r.ended_at, r.detail)


def span_ms(row: Row) -> float:
    return (row[4] - row[3]).total_seconds() * 1000


def audio_lengths(factory: Factory, bulletin_ids: list[int]) -> dict[int, int]:
    """The length the server measured of each bulletin's audio (what a loudspeaker plays)."""
    out = {}
    with factory() as session:
        for bulletin_id in bulletin_ids:
            bulletin = session.get(Bulletin, bulletin_id)
            assert bulletin is not None
            (sha,) = [r.audio_sha256 for r in bulletin.renditions if r.audio_sha256]
            asset = session.scalars(select(AudioAsset).where(AudioAsset.sha256 == sha)).one()
            assert asset.duration_ms
            out[bulletin_id] = asset.duration_ms
    return out


def announce(factory: Factory, settings: Settings, bulletin_id: int, start_at: datetime) -> int:
    with factory() as session, session.begin():  # the demo's hourly and morning slots may be near
        return announce_bulletin(session, settings, bulletin_id, start_at, accept=checks.Accept.KEEP)


def one_off_programme(factory: Factory, settings: Settings, airing: datetime, bulletin_ids: list[int]) -> int:
    data = ProgrammeInput(
        name="Chuyên mục thử",
        start_local=to_local(airing),
        slot_minutes=2,
        targets=(TargetInput("commune", COMMUNE),),
    )
    with factory() as session, session.begin():
        return schedule_programme(session, settings, data, bulletin_ids, accept=checks.Accept.KEEP)


def announcement_starts(factory: Factory) -> dict[int, datetime]:
    with factory() as session:
        return {
            row[0]: row[1] for row in session.execute(select(sm.Announcement.id, sm.Announcement.start_at))
        }


def receipt_total(factory: Factory) -> int:
    with factory() as session:
        return len(session.scalars(select(PlayReceipt.id)).all())

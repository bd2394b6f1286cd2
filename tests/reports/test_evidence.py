"""Every aired figure is evidence, never a plan, on SQLite and PostgreSQL: receipts sent through the
fleet's ingest, "play now" and emergency messages sent through the fleet's and the alerts' own
services.

Xã Ba Tơ (``tests.activities.areas``) has eight loudspeakers installed in December 2023, a daily
programme at 06:00 from 1 January 2024 (one news line, "Bản tin sáng"), and the monthly CCHC programme
(third Monday, 07:00, a news item and an article) from 15 January 2024.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.accounts.service import principal_for
from loa.activities import service as activities
from loa.activities.registers import RADIO
from loa.alerts.service import AiredAudio, start_alert
from loa.content.catalog import BulletinKind
from loa.content.models import Bulletin, Rendition
from loa.fleet import commands
from loa.fleet.models import Device
from loa.protocol import messages as msg
from loa.protocol.itemids import announcement_item, command_item, fallback_item, programme_item, round_item
from loa.reports.data import ChannelSection, ReportData
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.statistics import Gathered, former_areas, gather, sections_of
from loa.reports.wording import broadcast_sentence, media_paragraph
from loa.reports.xlsx_writer import render_xlsx
from loa.schedule import models as m
from loa.speech.store import LocalAudioStore
from loa.units.models import AreaLineage, LineageChange
from loa.vocab.period import Period
from tests.activities.areas import REFORM, Tree, build_tree
from tests.reports.world import asset, bulletin, device, send, topic
from tests.support.auth import make_user

LOUDSPEAKERS = 8
YEAR = Period.year(2024)


@dataclass
class Town:
    tree: Tree
    admin: Principal
    devices: list[Device]
    daily: m.Programme
    cchc: m.Programme
    bulletins: dict[str, Bulletin]
    audio: dict[str, str]
    item_audio: dict[str, str] = field(default_factory=dict)  # items that do not read the news
    sent: int = 0

    def send(self, receipts: list[tuple[Device, str, datetime, msg.Outcome]], session: Session) -> None:
        """One batch per loudspeaker through the fleet's ingest."""
        by_device: dict[str, list[msg.Receipt]] = {}
        for d, item_id, at, outcome in receipts:
            self.sent += 1
            audio = self.audio_of(item_id)
            by_device.setdefault(d.uid, []).append(
                msg.Receipt(
                    receipt_id=f"e{self.sent:06d}",
                    seq=self.sent,
                    item_id=item_id,
                    audio_sha256=audio,
                    started_at=at,
                    ended_at=at + timedelta(seconds=60),
                    outcome=outcome,
                )
            )
        for uid, batch in by_device.items():
            send(session, uid, batch)

    def audio_of(self, item_id: str) -> str:
        return self.item_audio.get(item_id) or self.audio["news"]


def _read_by_audio(session: Session, b: Bulletin, sha: str) -> None:
    session.add(Rendition(bulletin_id=b.id, language="vi", text=b.title, audio_sha256=sha))


def _programme(
    session: Session, town_tree: Tree, name: str, start: datetime, rule: str, lines: list[Bulletin]
) -> m.Programme:
    cchc = topic(session, "cchc")
    p = m.Programme(
        name=name,
        topic_id=cchc.id,
        area_id=town_tree.new_x.id,
        start_local=start,
        rrule=rule,
        until_cancelled=True,
        slot_duration_ms=30 * 60_000,
    )
    session.add(p)
    session.flush()
    session.add(m.ProgrammeTarget(programme_id=p.id, kind="commune", ref_id=town_tree.new_x.id))
    session.add_all(
        m.RunningOrderItem(programme_id=p.id, position=i, kind=m.ItemKind.BULLETIN, bulletin_id=b.id)
        for i, b in enumerate(lines)
    )
    session.flush()
    return p


@pytest.fixture
def town(session: Session) -> Town:
    return build_town(session)


def build_town(session: Session) -> Town:
    tree = build_tree(session)
    cchc = topic(session, "cchc")
    audio = {k: asset(session, k, 60) for k in ("news", "article", "daily", "play-now", "alert")}
    kinds = {
        "news": BulletinKind.NEWS,
        "article": BulletinKind.ARTICLE,
        "daily": BulletinKind.NEWS,
        "play-now": BulletinKind.NEWS,
        "alert": BulletinKind.ANNOUNCEMENT,
    }
    bulletins = {k: bulletin(session, kind, f"Bản tin {k}", tree.new_x, [cchc]) for k, kind in kinds.items()}
    for k, b in bulletins.items():
        _read_by_audio(session, b, audio[k])
    devices = []
    for i in range(LOUDSPEAKERS):
        d = device(session, f"loa-bt-{i:02d}", tree.new_x)
        d.created_at = datetime(2023, 12, 1, tzinfo=UTC)
        devices.append(d)
    daily = _programme(
        session, tree, "Bản tin sáng", datetime(2024, 1, 1, 6), "FREQ=DAILY", [bulletins["daily"]]
    )
    monthly = _programme(
        session,
        tree,
        "Chuyên mục Cải cách hành chính",
        datetime(2024, 1, 15, 7),
        "FREQ=MONTHLY;BYDAY=3MO",
        [bulletins["news"], bulletins["article"]],
    )
    admin = principal_for(session, make_user(session, "quantri", "admin"))
    session.commit()
    return Town(tree, admin, devices, daily, monthly, bulletins, audio)


def _airing(p: m.Programme, local: datetime, line: Bulletin) -> tuple[str, datetime]:
    at = (local - timedelta(hours=7)).replace(tzinfo=UTC)
    return programme_item(str(p.id), at, str(line.id)), at


def _section(g: Gathered, key: str = "radio") -> ChannelSection:
    return next(s for s in sections_of(g) if s.key == key)


def _value(g: Gathered, figure: str) -> int:
    return _section(g).value(figure)


def test_a_programme_from_1_january_without_receipts_aired_nothing(session: Session, town: Town) -> None:
    now = datetime(2025, 1, 5, tzinfo=UTC)
    g = gather(session, principal=town.admin, period=YEAR, area_id=town.tree.new_x.id, now=now)
    assert _value(g, "radio.programme") == 0 and _value(g, "radio.news") == 0
    rows = {r.id: r for r in _section(g).rows}
    cchc = rows[f"CT{town.cchc.id}"]
    assert (cchc.get("counted"), cchc.get("quantity"), cchc.get("scheduled_airings")) == (0, 0, 12)
    assert cchc.get("basis") == "Không tính: chỉ có kế hoạch, chưa có biên nhận đã phát"
    assert rows[f"CT{town.daily.id}"].get("scheduled_airings") == 366
    total = g.system.airtime.total
    # The plan of the year is there, beside a zero: 366 × 8 + 12 × 2 × 8 broadcasts, all due.
    assert (total.scheduled, total.due, total.played, total.played_percent) == (3120, 3120, 0, 0.0)
    data = build_report_data(
        session,
        principal=town.admin,
        request=ReportRequest(period=YEAR, area_id=town.tree.new_x.id, issued_on=date(2025, 1, 5)),
        now=now,
    )
    assert "chưa ghi nhận tin, bài, chuyên mục" in media_paragraph(data)
    assert "phát sóng" not in media_paragraph(data) and broadcast_sentence(data) == ""


def test_a_month_with_days_to_come(session: Session, town: Town) -> None:
    # 10/03/2024, 12:00 in Vietnam: the daily programme has aired ten mornings, the rest is to come.
    now = datetime(2024, 3, 10, 5, tzinfo=UTC)
    played = []
    for day in range(1, 11):
        item, at = _airing(town.daily, datetime(2024, 3, day, 6), town.bulletins["daily"])
        played += [(d, item, at, msg.Outcome.PLAYED) for d in town.devices]
    # A loudspeaker whose clock runs ten days ahead reports 20/03 already: not evidence.
    ahead, at = _airing(town.daily, datetime(2024, 3, 20, 6), town.bulletins["daily"])
    played.append((town.devices[0], ahead, at, msg.Outcome.PLAYED))
    town.send(played, session)
    session.commit()
    g = gather(
        session, principal=town.admin, period=Period.month(2024, 3), area_id=town.tree.new_x.id, now=now
    )
    airtime = g.system.airtime
    total = airtime.total
    # Plan: 31 mornings × 8 + the CCHC airing of 18/03 (2 lines × 8) = 264; due: ten mornings = 80.
    assert (total.scheduled, total.due, total.played, total.extra) == (264, 80, 80, 0)
    assert total.played_percent == 100.0
    assert airtime.future_receipts == 1 and airtime.as_of == now
    later = [d for d in airtime.days if d.day is not None and d.day > date(2024, 3, 10)]
    assert later and all(d.played == 0 and d.due == 0 and d.played_percent is None for d in later)
    assert {d.day for d in airtime.days if d.played} == {date(2024, 3, day) for day in range(1, 11)}
    rows = {r.id: r for r in _section(g).rows}
    cchc = rows[f"CT{town.cchc.id}"]  # its March airing is still to come
    assert cchc.get("counted") == 0 and "1 buổi chưa đến giờ phát" in str(cchc.get("notes"))
    daily = rows[f"CT{town.daily.id}"]
    assert (daily.get("quantity"), daily.get("coverage")) == (10, "80/80")
    news = rows[f"TB{town.bulletins['daily'].id}"]
    assert (news.get("played"), news.get("scheduled")) == (80, 248)
    assert "168 lượt chưa đến giờ phát" in str(news.get("notes"))
    book = load_workbook(io.BytesIO(render_xlsx(_report(session, town, Period.month(2024, 3), now))))
    notes = [str(c.value) for c in book["Truyền thanh"]["A"] if c.value]
    assert any("01 biên nhận ghi giờ phát sau thời điểm lập báo cáo" in n for n in notes)
    assert any(n.startswith("Số liệu tính đến 12:00 ngày 10/03/2024") for n in notes)


def _report(session: Session, town: Town, period: Period, now: datetime) -> ReportData:
    return build_report_data(
        session,
        principal=town.admin,
        request=ReportRequest(period=period, area_id=town.tree.new_x.id, issued_on=period.end),
        now=now,
    )


def test_play_now_and_alerts_are_credited_to_their_bulletin(
    session: Session, town: Town, tmp_path: Path
) -> None:
    day = datetime(2024, 3, 5, tzinfo=UTC)
    uids = [d.uid for d in town.devices]
    issued = commands.send_commands(
        session,
        principal=town.admin,
        device_uids=uids,
        kind="play_now",
        args={"audio_sha256": town.audio["play-now"], "title": "Bản tin play-now"},
    )
    play_now = command_item(issued[0].batch_id or issued[0].id)
    alert = start_alert(
        session,
        principal=town.admin,
        commune_codes=["21484"],
        audio_sha256=town.audio["alert"],
        aired=AiredAudio(LocalAudioStore(tmp_path)),  # no file there: the lead-in is set below
    )
    alert_item = command_item(json.loads(alert.batch_ids)[0])
    # Its second round as the manifest carries it: the one file "lead-in signal + message".
    alert.aired_sha256 = hashlib.sha256(b"lead-in + message").hexdigest()
    town.item_audio.update(
        {
            play_now: town.audio["play-now"],
            alert_item: town.audio["alert"],
            round_item(alert_item, 2): alert.aired_sha256,
        }
    )
    morning, at = _airing(town.daily, datetime(2024, 3, 5, 6), town.bulletins["daily"])
    played = msg.Outcome.PLAYED
    town.send(
        [(d, morning, at, played) for d in town.devices]
        + [(d, play_now, day + timedelta(hours=3), played) for d in town.devices]
        + [(d, alert_item, day + timedelta(hours=4), played) for d in town.devices]
        + [(d, round_item(alert_item, 2), day + timedelta(hours=4, minutes=2), played) for d in town.devices],
        session,
    )
    session.commit()
    period = Period.custom(date(2024, 3, 5), date(2024, 3, 5))
    now = datetime(2024, 3, 6, tzinfo=UTC)
    g = gather(session, principal=town.admin, period=period, area_id=town.tree.new_x.id, now=now)
    rows = {r.id: r for r in _section(g).rows}
    extra = rows[f"TB{town.bulletins['play-now'].id}"]
    assert (extra.get("played"), extra.get("extra"), extra.get("scheduled"), extra.get("counted")) == (
        8,
        8,
        0,
        1,
    )
    assert rows[f"TB{town.bulletins['alert'].id}"].get("played") == 16  # two rounds on eight loudspeakers
    assert _value(g, "radio.news") == 2 and _value(g, "radio.announcement") == 1
    total = g.system.airtime.total
    # The plan (8) was played in full; 24 plays outside it are counted apart, not in its share.
    assert (total.due, total.in_plan, total.extra, total.played) == (8, 8, 24, 32)
    assert total.played_percent == 100.0
    [x_day] = [d for d in g.system.airtime.days if d.day == date(2024, 3, 5)]
    assert (x_day.played_percent, x_day.extra) == (100.0, 24)
    sentence = broadcast_sentence(_report(session, town, period, now))
    assert "các cụm loa đã phát 32 lượt tin, bài" in sentence
    assert "đạt 100 % kế hoạch (08 lượt); 24 lượt phát ngoài kế hoạch (phát ngay, phát khẩn cấp)" in sentence


def test_a_notebook_never_doubles_what_the_system_recorded(session: Session, town: Town) -> None:
    """The district's notebook kept the CCHC programme month by month (as the reference report's
    centre did); the system recorded the same programme on Xã Ba Tơ's loudspeakers. Each month the
    larger count is the one that counts: 12, at every level."""
    session.add(
        AreaLineage(
            predecessor_id=town.tree.district.id,
            successor_id=town.tree.new_x.id,
            change=LineageChange.REGROUP,
            effective_on=REFORM,
        )
    )
    receipts = []
    for month in range(1, 13):
        first = date(2024, month, 1)
        monday = first + timedelta(days=(7 - first.weekday()) % 7 + 14)
        item, at = _airing(town.cchc, datetime(2024, month, monday.day, 7), town.bulletins["news"])
        receipts.append((town.devices[month % LOUDSPEAKERS], item, at, msg.Outcome.PLAYED))
        entry = {
            "kind": "programme",
            "count": 1,
            "aired_on": monday.isoformat(),
            "area": "D1",
            "topics": ["cchc"],
        }
        activities.create_record(
            session, spec=RADIO, principal=town.admin, data=entry, today=date(2025, 1, 5)
        )
    # The commune's own notebook says two programmes in March, where the system has one: it adds one.
    activities.create_record(
        session,
        spec=RADIO,
        principal=town.admin,
        data={"kind": "programme", "count": 2, "aired_on": "2024-03-30", "area": "21484", "topics": ["cchc"]},
        today=date(2025, 1, 5),
    )
    town.send(receipts, session)
    session.commit()
    now = datetime(2025, 1, 5, tzinfo=UTC)

    def programmes(area_id: int) -> int:
        return _value(
            gather(session, principal=town.admin, period=YEAR, area_id=area_id, now=now), "radio.programme"
        )

    assert programmes(town.tree.new_x.id) == 12 + 1
    assert programmes(town.tree.district.id) == 12 + 1
    assert programmes(town.tree.province.id) == 12 + 1
    x = gather(session, principal=town.admin, period=YEAR, area_id=town.tree.new_x.id, now=now)
    [district] = former_areas(x)
    notebook = next(c for c in district.channels if c.key == "radio")
    assert notebook.value("radio.programme") == 0
    assert all(
        str(r.get("basis")).startswith("Không tính: hệ thống đã ghi nhận 1 chuyên mục") for r in notebook.rows
    )
    own = {r.get("record"): r for r in _section(x).rows if r.get("kind_code") == "programme"}
    assert own["Nhập tay"].get("counted_quantity") == 1
    assert "sổ ghi 2, hệ thống đã ghi nhận 1 chuyên mục" in str(own["Nhập tay"].get("basis"))


def test_announcements_are_planned_plays(session: Session, town: Town) -> None:
    """A one-off announcement is part of the plan: its plays count towards the plan's share."""
    a = m.Announcement(
        title="Thông báo lịch tiêm",
        bulletin_id=town.bulletins["alert"].id,
        start_at=datetime(2024, 3, 5, 2, tzinfo=UTC),
        area_id=town.tree.new_x.id,
    )
    session.add(a)
    session.flush()
    session.add(m.AnnouncementTarget(announcement_id=a.id, kind="commune", ref_id=town.tree.new_x.id))
    item = announcement_item(str(a.id))
    town.send([(d, item, a.start_at, msg.Outcome.PLAYED) for d in town.devices[:6]], session)
    session.commit()
    period = Period.custom(date(2024, 3, 5), date(2024, 3, 5))
    g = gather(
        session,
        principal=town.admin,
        period=period,
        area_id=town.tree.new_x.id,
        now=datetime(2024, 3, 6, tzinfo=UTC),
    )
    total = g.system.airtime.total
    # The plan: the morning (8) and the announcement (8); six loudspeakers played the announcement.
    assert (total.scheduled, total.played, total.extra) == (16, 6, 0)
    row = next(r for r in _section(g).rows if r.id == f"TB{town.bulletins['alert'].id}")
    assert (row.get("played"), row.get("coverage")) == (6, "6/8")


def test_a_count_entry_for_the_year_beside_the_system(session: Session, town: Town) -> None:
    """A notebook's total for the whole year ("12 chuyên mục, cả năm 2024") beside the programme the
    system recorded in eight of those months: 12, not 20; and 12 more in a notebook kept for 2023,
    before Loa, count in full in 2023."""
    receipts = []
    for month in range(1, 9):
        first = date(2024, month, 1)
        monday = first + timedelta(days=(7 - first.weekday()) % 7 + 14)
        item, at = _airing(town.cchc, datetime(2024, month, monday.day, 7), town.bulletins["news"])
        receipts.append((town.devices[0], item, at, msg.Outcome.PLAYED))
    town.send(receipts, session)
    for year in (2023, 2024):
        activities.create_record(
            session,
            spec=RADIO,
            principal=town.admin,
            data={
                "kind": "programme",
                "count": 12,
                "aired_on": f"{year}-01-01",
                "ends_on": f"{year}-12-31",
                "area": "21484",
                "topics": ["cchc"],
            },
            today=date(2025, 1, 5),
        )
    session.commit()
    now = datetime(2025, 1, 5, tzinfo=UTC)
    g = gather(session, principal=town.admin, period=YEAR, area_id=town.tree.new_x.id, now=now)
    assert _value(g, "radio.programme") == 12
    entry = next(r for r in _section(g).rows if r.get("record") == "Nhập tay")
    assert entry.get("counted_quantity") == 4
    assert entry.get("basis") == (
        "Tính 4 (phần sổ nhập tay nhiều hơn hệ thống): sổ ghi 12, hệ thống đã ghi nhận 8 chuyên mục "
        "cùng loại ở địa bàn từ ngày 01/01/2024 đến ngày 31/12/2024"
    )
    before = gather(
        session, principal=town.admin, period=Period.year(2023), area_id=town.tree.new_x.id, now=now
    )
    assert _value(before, "radio.programme") == 12


def test_a_fallback_playlist_is_no_airing_of_the_programme(session: Session, town: Town) -> None:
    """An airing with nothing of its own plays the programme's fallback playlist: the bulletin played
    (outside the plan); the programme did not air."""
    empty = m.Slot(
        programme_id=town.daily.id, occurrence_local=datetime(2024, 3, 5, 6), own_running_order=True
    )
    session.add(empty)
    session.flush()
    at = datetime(2024, 3, 4, 23, tzinfo=UTC)  # 06:00 on 05/03 in Vietnam
    filler = fallback_item(str(town.daily.id), at, str(town.bulletins["news"].id))
    town.send([(d, filler, at, msg.Outcome.PLAYED) for d in town.devices[:3]], session)
    session.commit()
    period = Period.custom(date(2024, 3, 5), date(2024, 3, 5))
    g = gather(
        session,
        principal=town.admin,
        period=period,
        area_id=town.tree.new_x.id,
        now=datetime(2024, 3, 6, tzinfo=UTC),
    )
    rows = {r.id: r for r in _section(g).rows}
    assert rows[f"CT{town.daily.id}"].get("counted") == 0  # its only airing had nothing of its own
    news = rows[f"TB{town.bulletins['news'].id}"]
    assert (news.get("played"), news.get("extra"), news.get("counted")) == (3, 3, 1)
    total = g.system.airtime.total
    assert (total.due, total.played, total.extra, total.played_percent) == (0, 3, 3, None)

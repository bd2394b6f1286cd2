"""The reference report's radio figures made by the system instead of the manual register: a monthly
CCHC programme (third Monday, 07:00) with 3–5 news items and 6–7 articles per episode, the other
news items and articles aired as one-off announcements, every broadcast proved by a play receipt
through the fleet's ingest. The document reads as the reference does, plus the proof of play."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.content.catalog import BulletinKind
from loa.content.models import Bulletin
from loa.protocol import messages as msg
from loa.protocol.messages import MAX_RECEIPTS_PER_BATCH
from loa.schedule import models as m
from loa.schedule.recurrence import to_utc
from tests.activities.areas import Tree, build_tree
from tests.reports.test_reference_report import _section_one, _third_week_monday, enter_reference_year
from tests.reports.world import asset, bulletin, device, send, topic
from tests.support.auth import bearer, make_user

NEWS_PER_EPISODE = (3, 4, 5)
ARTICLES_PER_EPISODE = (6, 7)


def seed_radio_year(session: Session, tree: Tree) -> int:
    """12 episodes + announcements = 130 news items and 190 articles aired in 2023 on one cluster of
    Xã Ba Tơ (former district Ba Tơ); 5 more news items failed to play. Returns the receipts sent."""
    cchc = topic(session, "cchc")
    audio = asset(session, "reference-item", 60)
    cluster = device(session, "loa-bato-01", tree.new_x)
    cluster.created_at = datetime(2022, 12, 1, tzinfo=UTC)
    p = m.Programme(
        name="Chuyên mục Cải cách hành chính",
        topic_id=cchc.id,
        area_id=tree.district.id,
        start_local=datetime(2023, 1, 16, 7),
        rrule="FREQ=MONTHLY;BYDAY=3MO",
        until_cancelled=True,
        slot_duration_ms=30 * 60_000,
    )
    session.add(p)
    session.flush()
    session.add(m.ProgrammeTarget(programme_id=p.id, kind="commune", ref_id=tree.new_x.id))
    receipts: list[msg.Receipt] = []
    news = articles = 0

    def played(item_id: str, at: datetime, outcome: msg.Outcome = msg.Outcome.PLAYED) -> None:
        n = len(receipts)
        receipts.append(
            msg.Receipt(
                receipt_id=f"ref{n:05d}",
                seq=n,
                item_id=item_id,
                audio_sha256=audio,
                started_at=at,
                ended_at=at + timedelta(seconds=60),
                outcome=outcome,
            )
        )

    for month in range(1, 13):
        local = datetime.combine(_third_week_monday(month), datetime.min.time()).replace(hour=7)
        slot = m.Slot(programme_id=p.id, occurrence_local=local, own_running_order=True)
        session.add(slot)
        session.flush()
        kinds = [BulletinKind.NEWS] * NEWS_PER_EPISODE[month % 3] + [
            BulletinKind.ARTICLE
        ] * ARTICLES_PER_EPISODE[month % 2]
        airing = to_utc(local)
        for position, kind in enumerate(kinds):
            b = bulletin(session, kind, f"CCHC tháng {month} số {position}", tree.district, [cchc])
            session.add(
                m.RunningOrderItem(
                    programme_id=p.id,
                    slot_id=slot.id,
                    position=position,
                    kind=m.ItemKind.BULLETIN,
                    bulletin_id=b.id,
                )
            )
            played(f"p.{p.id}.{airing:%Y%m%dT%H%MZ}.{b.id}", airing + timedelta(minutes=position))
            news += kind is BulletinKind.NEWS
            articles += kind is BulletinKind.ARTICLE
    rest = [BulletinKind.NEWS] * (130 - news) + [BulletinKind.ARTICLE] * (190 - articles)
    failing = [BulletinKind.NEWS] * 5
    for i, kind in enumerate(rest + failing):
        b = bulletin(session, kind, f"Thông tin CCHC số {i}", tree.district, [cchc])
        start_at = datetime(2023, 1, 2, 1, tzinfo=UTC) + timedelta(days=i % 360, minutes=i)
        a = m.Announcement(title=b.title, bulletin_id=b.id, start_at=start_at, area_id=tree.new_x.id)
        session.add(a)
        session.flush()
        session.add(m.AnnouncementTarget(announcement_id=a.id, kind="commune", ref_id=tree.new_x.id))
        played(f"a.{a.id}", start_at, msg.Outcome.FAILED if i >= len(rest) else msg.Outcome.PLAYED)
    session.flush()
    for start in range(0, len(receipts), MAX_RECEIPTS_PER_BATCH):
        send(session, cluster.uid, receipts[start : start + MAX_RECEIPTS_PER_BATCH])
    assert session.query(Bulletin).count() == 130 + 190 + 5
    return len(receipts)


@pytest.fixture
def system_reference(session: Session, client: TestClient) -> tuple[dict[str, str], dict[str, Any]]:
    tree = build_tree(session)
    make_user(session, "bientap", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    headers = bearer(client, "bientap")
    enter_reference_year(client, headers, tree, radio=False)
    assert seed_radio_year(session, tree) == 325
    session.commit()
    response = client.post(
        "/api/v1/reports",
        headers=headers,
        json={
            "period": {"kind": "year", "year": 2023},
            "area_id": tree.district.id,
            "topic_code": "cchc",
            "issued_on": "2024-01-15",
            "organisation": {
                "parent_name": "UBND huyện Ba Tơ",
                "name": "Trung tâm Truyền thông - Văn hóa - Thể thao",
                "place": "Ba Tơ",
                "prose_name": "Trung tâm",
            },
        },
    )
    assert response.status_code == 201, response.text
    return headers, response.json()


def test_reference_radio_figures_from_bulletins_and_receipts(
    client: TestClient, system_reference: tuple[dict[str, str], dict[str, Any]]
) -> None:
    headers, report = system_reference
    figures = {f["key"]: f for f in report["figures"]}
    assert {k: figures[k]["value"] for k in ("radio.programme", "radio.news", "radio.article")} == {
        "radio.programme": 12,
        "radio.news": 130,
        "radio.article": 190,
    }
    assert {figures[k]["source"] for k in ("radio.programme", "radio.news", "radio.article")} == {"Hệ thống"}
    assert figures["portal.article"]["value"] == 32 and figures["portal.article"]["source"] == "Nhập tay"
    assert all(str(i).startswith("TB") for i in figures["radio.news"]["row_ids"])
    # Every news item counted is a bulletin that can be opened.
    first = figures["radio.news"]["row_ids"][0]
    assert client.get(f"/api/v1/bulletins/{first[2:]}", headers=headers).status_code == 200
    docx = client.get(f"/api/v1/reports/{report['id']}/report.docx", headers=headers)
    section = _section_one(docx.content)
    assert "Trong năm 2023, Trung tâm đã xây dựng và phát sóng 12 chuyên mục về CCHC" in section
    assert "phát vào thứ Hai thứ ba trong tháng lúc 07:00 (mỗi chuyên mục 3-5 tin, 6-7 bài viết)" in section
    assert "130 tin và 190 bài viết" in section
    assert "32 bài viết, 25 tin, 60 ảnh trên cổng thông tin điện tử" in section
    assert "các cụm loa đã phát 320 lượt tin, bài về CCHC, tổng 5,33 giờ phát sóng" in section
    assert "trong đó 320 lượt theo kế hoạch, đạt 98,5 % kế hoạch (325 lượt)" in section
    xlsx = client.get(f"/api/v1/reports/{report['id']}/report.xlsx", headers=headers)
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["Truyền thanh"]
    rows = {
        sheet.cell(r, 1).value: [sheet.cell(r, c).value for c in range(1, 10)]
        for r in range(1, sheet.max_row + 1)
    }
    assert rows["Xã Ba Tơ"][1:6] == ["Huyện Ba Tơ", 325, 325, 320, 98.5]
    assert rows["Tổng cộng"][2:5] == [325, 325, 320]
    programme = next(v for v in rows.values() if v[1] == "Chuyên mục Cải cách hành chính")
    assert programme[3:9] == ["Huyện Ba Tơ", 12, 12, "12/12", 126, 126]
    bulletins = book["Tin bài truyền thanh"]
    assert bulletins.max_row == 1 + 1 + 325  # header, the programme, every bulletin (5 not counted)
    assert date(2023, 1, 16) == _third_week_monday(1)
    assert Document(io.BytesIO(docx.content)).core_properties.language == "vi-VN"

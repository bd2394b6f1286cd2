"""Radio and portal figures from play receipts (the evidence) beside the plan (the world of
``tests.reports.world``), merged with the manual registers, on SQLite and PostgreSQL.

Worked figures for the province, 04–06/03/2024, all topics, as of 08/03/2024 (all due):
- plan: P on 04/03 2 lines × 3 clusters + on 05/03 3 lines × 3 clusters = 15 (X 10, Y 5), 06/03
  cancelled; Q 3 airings × 1 line × Z1 = 3; the announcement reaches no cluster. Total 18.
- played receipts: X 5 (X1 2+2, X2 1), Y 3, Z 2 = 10; pre-empted X 1, Y 1; failed X 1, Y 1.
- seconds on air: X 60 (75 s run capped) + 120 + 60 + 60 + 120 = 420, Y 60 + 60 + 120 = 240, Z 180.
- bulletins aired (a played receipt): B1 news, B3 news, B2 article. B4 article only planned (no
  receipt): not aired. B5 not aired (only a failed and a pre-empted receipt). Programmes: P 2 airings,
  Q 2 (of 3) played.
- manual: M1 (10 news, X, March) beside B1 (1 news aired in X in March): the larger counts, so M1
  adds 9; M2 (3 articles, X) counts (the system has none there); M3 (1 programme, Z, March) beside Q's
  2 aired airings: adds nothing. Radio: programme 4, news 2 + 9 = 11, article 1 + 3 = 4.
- portal: B1 (news, 2 photos), B2 (article) published; P1 references B2 → not counted again; P2 5 photos;
  P3 references B3, which is not published → counts. Portal: article 1, news 2, photo 7.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.reports.data import ReportData
from loa.reports.rollup import rollup_rows, totals_row
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.statistics import Gathered, broadcast_groups, gather, groups_of, sections_of
from loa.reports.wording import broadcast_sentence, media_paragraph
from loa.reports.xlsx_writer import render_xlsx
from loa.vocab.period import Period
from tests.reports.world import NOW, PERIOD, World, build_world
from tests.support.auth import login_web, make_user

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
HOUR_MS = 3_600_000


@pytest.fixture
def world(session: Session) -> World:
    w = build_world(session)
    session.commit()
    return w


def _gather(session: Session, w: World, *, area_id: int | None = None, topic: str | None = None) -> Gathered:
    area = w.tree.province.id if area_id is None else area_id
    return gather(session, principal=ADMIN, period=PERIOD, area_id=area, topic_code=topic, now=NOW)


def _values(g: Gathered, channel: str) -> dict[str, int]:
    section = next(s for s in sections_of(g) if s.key == channel)
    return {f.key.split(".", 1)[1]: f.value for f in section.figures if f.value}


def test_broadcasts_scheduled_played_and_hours_per_commune(session: Session, world: World) -> None:
    assert world.duplicates == 2  # the repeated batch was recorded once
    airtime = _gather(session, world).system.airtime
    by_name = {r.commune: r for r in airtime.communes}
    x, y, z = by_name["Xã Ba Tơ"], by_name["Xã Ba Vì"], by_name["Xã Sơn Kỳ"]
    assert (x.scheduled, x.played, x.preempted, x.failed, x.played_ms) == (10, 5, 1, 1, 420_000)
    assert (x.due, x.extra) == (10, 0)  # all due by 08/03; every play was planned
    assert (y.scheduled, y.played, y.preempted, y.failed, y.played_ms) == (5, 3, 1, 1, 240_000)
    assert (z.scheduled, z.played, z.played_ms) == (3, 2, 180_000)
    assert (x.former_district, z.former_district) == ("Huyện Ba Tơ", "Huyện Sơn Hà")
    total = airtime.total
    assert (total.scheduled, total.played, total.played_ms) == (18, 10, 840_000)
    assert airtime.receipts
    # The per-day detail adds up to the per-commune figures.
    days = [d for d in airtime.days if d.commune == "Xã Ba Tơ"]
    assert [(d.day.isoformat() if d.day else "", d.scheduled, d.played) for d in days] == [
        ("2024-03-04", 4, 3),
        ("2024-03-05", 6, 2),
    ]
    assert sum(d.played_ms for d in airtime.days) == total.played_ms
    programmes = {p.name: p for p in airtime.programmes}
    assert (
        programmes["Chuyên mục CCHC"].scheduled_airings,
        programmes["Chuyên mục CCHC"].played_airings,
    ) == (2, 2)
    assert (programmes["Bản tin y tế"].scheduled_airings, programmes["Bản tin y tế"].played_airings) == (3, 2)
    # Composition: the plan had 1-2 news items an airing (B5 was added on 05/03), but B5 failed or was
    # cut everywhere: as aired, each airing was one news item and one article.
    assert programmes["Chuyên mục CCHC"].planned_mix == (("news", 1, 2), ("article", 1, 1))
    assert programmes["Chuyên mục CCHC"].aired_mix == (("news", 1, 1), ("article", 1, 1))
    assert programmes["Bản tin y tế"].aired_mix == (("news", 1, 1),)
    # Coverage: on 04/03 X1, X2 and Y1 played B1 (3 of 3 clusters), on 05/03 X1 and Y1 (2 of 3).
    cchc = programmes["Chuyên mục CCHC"]
    assert (cchc.clusters_played, cchc.clusters_aimed) == (5, 6)


def test_bulletins_by_kind_and_topic_with_the_manual_register(session: Session, world: World) -> None:
    g = _gather(session, world)
    assert _values(g, "radio") == {"programme": 4, "news": 11, "article": 4}
    radio = next(s for s in sections_of(g) if s.key == "radio")
    rows = {r.id: r for r in radio.rows}
    b = world.bulletins
    b4 = rows[f"TB{b['B4'].id}"]  # planned, never played: the plan does not stand in
    assert b4.get("counted") == 0
    assert b4.get("basis") == "Không tính: chỉ có kế hoạch, chưa có biên nhận đã phát"
    assert b4.get("date") is None
    assert rows[f"TB{b['B5'].id}"].get("counted") == 0
    assert "phát dở hoặc lỗi" in str(rows[f"TB{b['B5'].id}"].get("basis"))
    assert rows[f"TB{b['B2'].id}"].get("played") == 3 and rows[f"TB{b['B2'].id}"].get("not_played") == 2
    m1 = rows[world.manual_radio["M1"].id]
    assert (m1.get("counted"), m1.get("quantity"), m1.get("counted_quantity")) == (1, 10, 9)
    assert m1.get("basis") == (
        "Tính 9 (phần sổ nhập tay nhiều hơn hệ thống): sổ ghi 10, hệ thống đã ghi nhận 1 tin cùng loại "
        "ở địa bàn trong tháng 03/2024"
    )
    m3 = rows[world.manual_radio["M3"].id]
    assert (m3.get("counted"), m3.get("counted_quantity")) == (0, 0)
    assert str(m3.get("basis")).startswith("Không tính: hệ thống đã ghi nhận 2 chuyên mục")
    article = radio.figure("radio.article")
    assert article is not None
    assert set(article.row_ids) == {f"TB{b['B2'].id}", world.manual_radio["M2"].id}
    assert article.source == "Hệ thống 1 + nhập tay 3"
    news = radio.figure("radio.news")
    assert news is not None and news.source == "Hệ thống 2 + nhập tay 9"
    # One topic: only CCHC bulletins, programmes and broadcasts.
    cchc = _gather(session, world, topic="cchc")
    assert _values(cchc, "radio") == {"programme": 2, "news": 10, "article": 4}
    total = cchc.system.airtime.total
    assert (total.scheduled, total.played) == (15, 8)
    health = _gather(session, world, topic="y-te")
    assert _values(health, "radio") == {"programme": 2, "news": 1}
    assert health.system.airtime.total.played == 2


def test_portal_counts_published_bulletins_once(session: Session, world: World) -> None:
    g = _gather(session, world)
    assert _values(g, "portal") == {"article": 1, "news": 2, "photo": 7}
    portal = next(s for s in sections_of(g) if s.key == "portal")
    rows = {r.id: r for r in portal.rows}
    p1 = rows[world.manual_portal["P1"].id]
    assert p1.get("counted") == 0 and f"TB{world.bulletins['B2'].id}" in str(p1.get("basis"))
    assert rows[world.manual_portal["P3"].id].get("counted") == 1
    photo = portal.figure("portal.photo")
    assert photo is not None and photo.source == "Hệ thống 2 + nhập tay 5"


def test_rollups_by_commune_and_former_district_agree_with_totals(session: Session, world: World) -> None:
    g = _gather(session, world)
    channels = {s.key: s for s in sections_of(g)}
    by_commune = rollup_rows(groups_of(session, g, "commune"))
    radio = {r.label: r.value("radio") for r in by_commune}
    assert radio == {
        "Xã Ba Tơ": 13,  # B1 + M1's 9 + M2's 3
        "Xã Ba Vì": 1,  # B3 (B4 was only planned)
        "Xã Sơn Kỳ": 2,
        "Huyện Ba Tơ (cấp trên xã)": 1,
        "Quảng Ngãi (cấp trên xã)": 2,
    }
    by_district = rollup_rows(groups_of(session, g, "former_district"))
    assert {r.label: r.value("radio") for r in by_district} == {
        "Huyện Ba Tơ": 15,
        "Huyện Sơn Hà": 2,
        "Không thuộc huyện cũ nào": 2,
    }
    expected = sum(f.value for f in channels["radio"].figures)
    assert totals_row(by_commune)["radio"] == totals_row(by_district)["radio"] == expected == 19
    assert totals_row(by_commune)["portal"] == sum(f.value for f in channels["portal"].figures) == 10
    airtime = g.system.airtime
    districts = {b.label: b.total for b in broadcast_groups(session, airtime, "former_district")}
    assert (districts["Huyện Ba Tơ"].scheduled, districts["Huyện Ba Tơ"].played) == (15, 8)
    assert districts["Huyện Ba Tơ"].played_ms == 660_000
    assert (districts["Huyện Sơn Hà"].scheduled, districts["Huyện Sơn Hà"].played) == (3, 2)
    communes = broadcast_groups(session, airtime, "commune")
    assert sum(b.total.played_ms for b in communes) == airtime.total.played_ms


def test_a_former_district_report_keeps_its_clusters_and_bulletins(session: Session, world: World) -> None:
    g = _gather(session, world, area_id=world.tree.district.id)
    total = g.system.airtime.total
    assert (total.scheduled, total.played, total.played_ms) == (15, 8, 660_000)
    # P is filed under the province, so only bulletins count here, aired on the district's clusters:
    # B1 news (+ M1's 9), B2 article + M2. B3 was played only in Sơn Kỳ, outside the district.
    assert _values(g, "radio") == {"news": 10, "article": 4}


def test_report_documents_show_the_radio_figures_and_proof_of_play(session: Session, world: World) -> None:
    data = build_report_data(
        session,
        principal=ADMIN,
        request=ReportRequest(period=PERIOD, area_id=world.tree.province.id, issued_on=PERIOD.end),
        now=NOW,
    )
    assert ReportData.from_json(data.to_json()) == data
    text = media_paragraph(data)
    assert "đã xây dựng và phát sóng 04 chuyên mục trên hệ thống truyền thanh" in text
    assert "11 tin, 04 bài viết" in text or "11 tin và 04 bài viết" in text
    sentence = broadcast_sentence(data)
    assert "các cụm loa đã phát 10 lượt tin, bài, tổng 0,23 giờ phát sóng" in sentence
    assert "trong đó 10 lượt theo kế hoạch, đạt 55,6 % kế hoạch (18 lượt)" in sentence
    assert "đã được phát thực tế" not in sentence and "ngoài kế hoạch" not in sentence
    book = load_workbook(io.BytesIO(render_xlsx(data)))
    assert {"Truyền thanh", "Truyền thanh theo ngày", "Tin bài truyền thanh"} <= set(book.sheetnames)
    sheet = book["Truyền thanh"]
    header = next(r for r in range(1, 20) if sheet.cell(r, 1).value == "Xã, phường, đặc khu")
    assert [sheet.cell(header, c).value for c in range(3, 8)] == [
        "Kế hoạch (lượt)",
        "Kế hoạch đã đến giờ (lượt)",
        "Đã phát theo kế hoạch (lượt)",
        "Tỷ lệ thực hiện (%)",
        "Đã phát ngoài kế hoạch (lượt)",
    ]
    rows = {
        sheet.cell(r, 1).value: [sheet.cell(r, c).value for c in range(2, 11)]
        for r in range(header + 1, header + 5)
    }
    assert rows["Xã Ba Tơ"] == ["Huyện Ba Tơ", 10, 10, 5, 50.0, 0, 1, 1, 0.12]
    assert rows["Tổng cộng"][1:4] == [18, 18, 10]
    days = book["Truyền thanh theo ngày"]
    assert "không được liệt kê từng dòng" in str(days.cell(1, 1).value)
    summary = book["Tổng hợp"]
    sources = {
        (summary.cell(r, 2).value, summary.cell(r, 3).value): summary.cell(r, 8).value
        for r in range(1, summary.max_row + 1)
    }
    assert sources[("Truyền thanh", "Bài viết")] == "Hệ thống 1 + nhập tay 3"
    assert sources[("Truyền thanh", "Lượt đã phát (có biên nhận)")] == "Biên nhận phát"
    assert sources[("Truyền thanh", "Kế hoạch (không phải số đã phát)")] == "Lịch phát"
    bulletins = book["Tin bài truyền thanh"]
    ids = [c.value for c in bulletins["A"][1:]]
    assert f"TB{world.bulletins['B1'].id}" in ids and world.manual_radio["M2"].id in ids


def test_a_period_without_system_data_uses_the_manual_register(session: Session, world: World) -> None:
    g = gather(
        session, principal=ADMIN, period=Period.month(2024, 2), area_id=world.tree.province.id, now=NOW
    )
    assert g.system.airtime.is_empty
    assert _values(g, "radio") == {}


def test_statistics_page_shows_broadcasts_with_both_rollups_and_their_rows(
    client: TestClient, session: Session, world: World
) -> None:
    make_user(session, "tinh", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    login_web(client, "tinh")
    base = "/reports/statistics?area=51&period=custom&start=2024-03-04&end=2024-03-06"
    by_commune = client.get(f"{base}&level=commune")
    assert by_commune.status_code == 200
    html = by_commune.text
    assert 'data-testid="broadcast-totals"' in html and "Kế hoạch: <strong>18</strong> lượt" in html
    assert "Đã phát (có biên nhận «đã phát» từ cụm loa): <strong>10</strong> lượt" in html
    assert "<strong>55,6 %</strong>" in html
    assert re.search(r'data-testid="hours-total">0,23<', html)
    x_key = f"unit:{world.tree.new_x.id}"
    row = re.search(rf'data-group="{x_key}">(.*?)</tr>', html, re.S)
    assert row is not None  # aired 5, outside the plan 0, plan 10, 50 % of it
    assert re.findall(r'class="num"[^>]*>([^<]*)<', row.group(1))[:4] == ["05", "0", "10", "50 %"]
    by_district = client.get(f"{base}&level=former_district").text
    assert re.search(
        rf'data-group="unit:{world.tree.district.id}"><td><a [^>]*>Huyện Ba Tơ</a>.*?>15<', by_district, re.S
    )
    link = re.search(rf'href="(/reports/statistics/broadcasts\?[^"]*group={re.escape(quote(x_key))})"', html)
    assert link, "a commune row links to its days"
    days = client.get(link.group(1).replace("&amp;", "&"))
    assert days.status_code == 200
    assert days.text.count("<td>Xã Ba Tơ</td>") == 2 and 'data-testid="days-hours-total">0,12<' in days.text
    # The rows behind the radio figures open bulletins and register entries alike.
    rows = client.get(
        f"{base}&figure=radio.article".replace("/reports/statistics?", "/reports/statistics/rows?")
    )
    assert rows.status_code == 200
    assert f'href="/bulletins/{world.bulletins["B2"].id}"' in rows.text
    assert f'href="/activities/radio-items/{world.manual_radio["M2"].id}"' in rows.text

"""The document a leader signs (issue 19, point 7), on SQLite and PostgreSQL: section I names what
each programme held as it aired — counted from the lines loudspeakers played to their end in the
airings that aired, the plan beside it as the plan — the content bullets a person writes, and an
assessment drafted from the figures against the previous period of the same length, which the person
reads and edits (form and API) before the report is made. Receipts go through the fleet's ingest.

The town is ``tests.reports.test_evidence``'s: Xã Ba Tơ with eight loudspeakers, a daily programme at
06:00 (one news item) and the monthly CCHC programme (third Monday, 07:00: a news item, an article).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.errors import InvalidInput
from loa.protocol import messages as msg
from loa.reports.data import ReportData
from loa.reports.docx_writer import render_docx
from loa.reports.models import Report
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.wording import document_blocks
from loa.reports.xlsx_writer import render_xlsx
from loa.vocab.period import Period
from tests.reports.test_evidence import Town, _airing, build_town
from tests.support.auth import bearer, login_web, make_user


@pytest.fixture
def town(session: Session) -> Town:
    return build_town(session)


MARCH, FEBRUARY, JANUARY = Period.month(2024, 3), Period.month(2024, 2), Period.month(2024, 1)
PLAYED, FAILED = msg.Outcome.PLAYED, msg.Outcome.FAILED


def _mornings(town: Town, month: int, days: range) -> list[tuple[object, str, datetime, msg.Outcome]]:
    out = []
    for day in days:
        item, at = _airing(town.daily, datetime(2024, month, day, 6), town.bulletins["daily"])
        out += [(d, item, at, PLAYED) for d in town.devices]
    return out


def _cchc(
    town: Town, local: datetime, article: msg.Outcome
) -> list[tuple[object, str, datetime, msg.Outcome]]:
    news, at = _airing(town.cchc, local, town.bulletins["news"])
    text, at2 = _airing(town.cchc, local, town.bulletins["article"])
    return [(d, news, at, PLAYED) for d in town.devices[:3]] + [
        (d, text, at2, article) for d in town.devices[:3]
    ]


def _data(session: Session, town: Town, period: Period, now: datetime, **extra: object) -> ReportData:
    request = ReportRequest(period=period, area_id=town.tree.new_x.id, issued_on=period.end, **extra)  # type: ignore[arg-type]
    return build_report_data(session, principal=town.admin, request=request, now=now)


def _texts(data: ReportData) -> list[str]:
    return [b.text for b in document_blocks(data)]


def test_composition_counts_only_what_aired_with_the_plan_beside_it(session: Session, town: Town) -> None:
    # 15/01/2024, the January CCHC airing: three loudspeakers played the news item; the article failed
    # on all of them. As aired the programme held one news item; the plan, a news item and an article.
    town.send(_cchc(town, datetime(2024, 1, 15, 7), FAILED), session)
    session.commit()
    data = _data(session, town, JANUARY, datetime(2024, 2, 5, tzinfo=UTC))
    assert data.airtime is not None
    cchc = next(p for p in data.airtime.programmes if p.programme_id == town.cchc.id)
    assert (cchc.played_airings, cchc.aired_mix, cchc.planned_mix) == (
        1,
        (("news", 1, 1),),
        (("news", 1, 1), ("article", 1, 1)),
    )
    daily = next(p for p in data.airtime.programmes if p.programme_id == town.daily.id)
    assert daily.played_airings == 0 and daily.aired_mix == ()  # 31 mornings planned, none played
    texts = _texts(data)
    media = next(t for t in texts if "đã xây dựng và phát sóng" in t)
    assert "phát sóng 01 chuyên mục trên hệ thống truyền thanh, phát vào" in media
    assert "phát vào thứ Hai thứ ba trong tháng lúc 07:00 (mỗi chuyên mục 01 tin)." in media
    assert (
        "Theo kế hoạch trong kỳ, «Chuyên mục Cải cách hành chính» có 01 buổi, mỗi buổi 01 tin, "
        "01 bài viết; số chuyên mục nêu trên chỉ tính các buổi có biên nhận đã phát của cụm loa." in texts
    )
    assert not any("Bản tin sáng" in t for t in texts)  # it aired nothing: not in the prose


def test_several_programmes_each_have_their_line(session: Session, town: Town) -> None:
    # February: five mornings of the daily programme, and the CCHC airing of 19/02 played in full.
    town.send(_mornings(town, 2, range(1, 6)) + _cchc(town, datetime(2024, 2, 19, 7), PLAYED), session)
    session.commit()
    data = _data(session, town, FEBRUARY, datetime(2024, 3, 5, tzinfo=UTC))
    texts = _texts(data)
    media = next(t for t in texts if "đã xây dựng và phát sóng" in t)
    assert "phát sóng 06 chuyên mục trên hệ thống truyền thanh." in media  # no single schedule to name
    lines = [t for t in texts if t.startswith("+ «")]
    assert len(lines) == 2
    daily, cchc = (next(t for t in lines if name in t) for name in ("Bản tin sáng", "Cải cách hành chính"))
    assert (
        daily == "+ «Bản tin sáng» (hằng ngày lúc 06:00): đã phát 05 buổi, mỗi buổi 01 tin; kế hoạch 29 buổi."
    )
    assert cchc.endswith(": đã phát 01 buổi, mỗi buổi 01 tin, 01 bài viết.")  # as planned: no plan words


def test_the_assessment_is_drafted_against_the_previous_period(session: Session, town: Town) -> None:
    # February: five mornings. March, as of 10/03 at noon: ten mornings; the CCHC airing of 18/03 to come.
    town.send(_mornings(town, 2, range(1, 6)) + _mornings(town, 3, range(1, 11)), session)
    session.commit()
    now = datetime(2024, 3, 10, 5, tzinfo=UTC)
    data = _data(
        session, town, MARCH, now, contents="Cải cách thủ tục hành chính\n- Dịch vụ công trực tuyến;"
    )
    assert data.comparison is not None and data.assessment_drafted
    current, previous = data.comparison.current, data.comparison.previous
    assert previous.period == FEBRUARY
    assert (current.programmes, current.items, current.in_plan, current.due) == (10, 1, 80, 80)
    # February's plan: 29 mornings × 8 + the CCHC airing of 19/02 (2 lines × 8), all due.
    assert (previous.programmes, previous.items, previous.in_plan, previous.due) == (5, 1, 40, 248)
    assert data.assessment == (
        "So với tháng 2 năm 2024, số chuyên mục đã phát sóng tăng 05 chuyên mục (từ 05 lên 10); số tin, "
        "bài đã phát bằng kỳ trước (01 tin, bài); tỷ lệ thực hiện kế hoạch phát sóng trên cụm loa (theo "
        "biên nhận phát) đạt 100 %, cao hơn kỳ trước 83,9 điểm phần trăm (16,1 %). Nhìn chung, số chuyên "
        "mục, tin, bài phát trên hệ thống truyền thanh tăng so với kỳ trước. Số liệu kỳ này tính đến ngày "
        "10/03/2024 (kỳ báo cáo chưa kết thúc)."
    )
    texts = _texts(data)
    lead = texts.index("Đồng thời, đã tuyên truyền một số nội dung cụ thể như sau:")
    assert texts[lead + 1 : lead + 3] == ["- Cải cách thủ tục hành chính", "- Dịch vụ công trực tuyến;"]
    heading = next(i for i, t in enumerate(texts) if t.endswith(". Đánh giá chung"))
    assert texts[heading + 1] == data.assessment and texts[heading + 2] == "II. THUẬN LỢI"
    # Edited: the person's text is signed as written, and nothing is drafted.
    edited = _data(session, town, MARCH, now, assessment="Kết quả đạt kế hoạch đề ra.")
    assert (edited.assessment, edited.assessment_drafted, edited.comparison) == (
        "Kết quả đạt kế hoạch đề ra.",
        False,
        None,
    )
    assert ReportData.from_json(data.to_json()) == data
    with pytest.raises(InvalidInput, match=r"^Mục «Đánh giá chung» quá dài \(tối đa 20\.000 ký tự\)\.$"):
        _data(session, town, MARCH, now, assessment="x" * 20_001)


def test_the_signed_document_keeps_headings_with_their_text(session: Session, town: Town) -> None:
    town.send(_mornings(town, 2, range(1, 6)) + _mornings(town, 3, range(1, 11)), session)
    session.commit()
    data = _data(session, town, MARCH, datetime(2024, 4, 2, tzinfo=UTC), contents="Chuyển đổi số\nChữ ký số")
    doc = Document(io.BytesIO(render_docx(data)))
    body = [p for p in doc.paragraphs if p.text]
    texts = [p.text for p in body]
    for heading in (
        "I. KẾT QUẢ CÔNG TÁC TUYÊN TRUYỀN",
        "II. THUẬN LỢI",
        "1. Lĩnh vực thông tin truyền thông",
    ):
        assert body[texts.index(heading)].paragraph_format.keep_with_next, heading
    assessment = next(i for i, t in enumerate(texts) if t.endswith(". Đánh giá chung"))
    assert body[assessment].paragraph_format.keep_with_next and body[assessment].runs[0].bold
    assert texts[assessment + 1].startswith("So với tháng 2 năm 2024")
    lead = texts.index("Đồng thời, đã tuyên truyền một số nội dung cụ thể như sau:")
    assert body[lead].paragraph_format.keep_with_next  # the lead-in stays with its first bullet
    assert texts[lead + 1 : lead + 3] == ["- Chuyển đổi số", "- Chữ ký số"]
    # The workbook prints readably: every sheet fits the page's width, its column labels repeated on
    # each page; the programmes' composition, aired and planned, side by side.
    book = load_workbook(io.BytesIO(render_xlsx(data)))
    for sheet in book.worksheets:
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.print_title_rows, sheet.title
    radio = book["Truyền thanh"]
    rows = [[c.value for c in r] for r in radio.iter_rows()]
    header = next(r for r in rows if r[0] == "Mã")
    daily = next(r for r in rows if r[1] == "Bản tin sáng")
    aired = header.index("Mỗi buổi đã phát gồm (tin, bài có biên nhận đã phát)")
    assert (daily[aired], daily[aired + 1]) == ("01 tin", "01 tin")
    assert (
        daily[header.index("Số buổi kế hoạch")],
        daily[header.index("Số buổi đã phát (có biên nhận)")],
    ) == (
        31,
        10,
    )


def _reports(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def test_a_leader_reads_edits_and_signs_the_assessment_through_the_api(
    client: TestClient, session: Session, town: Town
) -> None:
    make_user(session, "lanhdao", Role.APPROVER, area_code=town.tree.new_x.code)
    town.send(_mornings(town, 2, range(1, 6)) + _mornings(town, 3, range(1, 11)), session)
    session.commit()
    headers = bearer(client, "lanhdao")
    query = {"area": town.tree.new_x.code, "kind": "month", "year": 2024, "index": 3}
    draft = client.get("/api/v1/reports/assessment", headers=headers, params=query)
    assert draft.status_code == 200, draft.text
    text = draft.json()["text"]
    assert text.startswith("So với tháng 2 năm 2024, số chuyên mục đã phát sóng tăng 05 chuyên mục")
    assert draft.json()["comparison"]["previous"]["programmes"] == 5 and _reports(session) == 0
    body = {"period": {"kind": "month", "year": 2024, "index": 3}, "area": town.tree.new_x.code}
    made = client.post("/api/v1/reports", headers=headers, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["assessment"]["text"] == text and made.json()["assessment"]["drafted"]
    edited = f"{text} Đơn vị tiếp tục duy trì lịch phát hằng ngày."
    made = client.post(
        "/api/v1/reports",
        headers=headers,
        json={**body, "assessment": edited, "contents": "Tuyên truyền dịch vụ công trực tuyến"},
    )
    assert made.status_code == 201, made.text
    report = made.json()
    assert report["assessment"] == {"text": edited, "drafted": False, "comparison": None}
    docx = client.get(f"/api/v1/reports/{report['id']}/report.docx", headers=headers)
    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert edited in paragraphs and "- Tuyên truyền dịch vụ công trực tuyến" in paragraphs
    # Outside the leader's area: no draft either.
    other = client.get("/api/v1/reports/assessment", headers=headers, params={**query, "area": "21490"})
    assert other.status_code == 404


def test_a_leader_sees_the_draft_in_the_form_and_edits_it(
    client: TestClient, session: Session, town: Town
) -> None:
    make_user(session, "lanhdao", Role.APPROVER, area_code=town.tree.new_x.code)
    town.send(_mornings(town, 2, range(1, 6)) + _mornings(town, 3, range(1, 11)), session)
    session.commit()
    csrf = login_web(client, "lanhdao")
    form = {
        "csrf_token": csrf,
        "period": "m3",
        "year": "2024",
        "area": town.tree.new_x.code,
        "contents": "Tuyên truyền chữ ký số",
    }
    page = client.get("/reports/new").text
    assert 'name="assessment"' in page and 'data-testid="draft-assessment"' in page
    drafted = client.post("/reports", data={**form, "action": "draft"})
    assert drafted.status_code == 200 and 'data-testid="assessment-drafted"' in drafted.text
    assert "So với tháng 2 năm 2024, số chuyên mục đã phát sóng tăng 05 chuyên mục" in drafted.text
    assert "Tuyên truyền chữ ký số" in drafted.text and _reports(session) == 0  # kept, nothing saved
    draft = drafted.text.split('name="assessment" rows="5">', 1)[1].split("</textarea>", 1)[0]
    assert draft.startswith("So với tháng 2 năm 2024")
    # Sent back unchanged it stays the system's draft; edited, it is the leader's text.
    unchanged = client.post(
        "/reports", data={**form, "assessment": draft, "assessment_draft": draft}, follow_redirects=False
    )
    assert unchanged.status_code == 303, unchanged.text
    shown = client.get(unchanged.headers["location"]).text
    assert "do hệ thống soạn từ số liệu" in shown and 'data-testid="report-assessment"' in shown
    edited = client.post(
        "/reports",
        data={**form, "assessment": "Đạt kế hoạch phát sóng.", "assessment_draft": draft},
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text
    shown = client.get(edited.headers["location"]).text
    assert "Đạt kế hoạch phát sóng." in shown and "do người lập báo cáo viết" in shown
    assert "Tuyên truyền chữ ký số" in shown
    # The next report starts from this one: its contents again, but not its assessment (of its period).
    again = client.get("/reports/new").text
    assert '<textarea id="r-contents" name="contents" rows="4">Tuyên truyền chữ ký số</textarea>' in again
    assert '<textarea id="r-assessment" name="assessment" rows="5"></textarea>' in again

"""The pure core: wording, periods, the DOCX layout of Decree 30/2020/NĐ-CP, the XLSX, the snapshot."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from openpyxl import load_workbook

from loa.reports.airdata import ProgrammeRow
from loa.reports.assessment import Comparison, PeriodFigures, draft_text, previous_period
from loa.reports.composition import inline_details, mix_text
from loa.reports.data import ChannelSection, DetailRow, Figure, Organisation, ReportData, Topic
from loa.reports.docx_writer import date_line, number_line, render_docx
from loa.reports.wording import document_blocks, join_vn
from loa.reports.xlsx_writer import render_xlsx, sheet_title
from loa.vocab.cells import Column
from loa.vocab.period import Period

ORG = Organisation(
    parent_name="UBND xã Ba Tơ",
    name="Văn phòng HĐND và UBND",
    place="Ba Tơ",
    short_code="VP",
    signer_title="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
    signer_name="Phạm Văn B",
    recipients=("UBND tỉnh Quảng Ngãi", "Lưu: VT"),
)


def _data(**overrides: object) -> ReportData:
    visual = ChannelSection(
        "visual",
        "Tuyên truyền trực quan",
        (Figure("visual.board", "Bảng tin", 2, "bảng tin", (7,)),),
        (
            Column("kind", "Loại"),
            Column("place", "Địa điểm", width=40),
            Column("width_m", "Rộng (m)", "decimal"),
        ),
        (
            DetailRow(
                7,
                {
                    "kind": "bảng tin",
                    "place": "nhà văn hóa thôn",
                    "width_m": 1.2,
                    "height_m": 0.8,
                    "sides": 1,
                    "quantity": 2,
                },
            ),
        ),
    )
    events = ChannelSection(
        "events",
        "Hội nghị, sự kiện",
        (
            Figure("events.conference", "Hội nghị", 3, "hội nghị", (1, 2, 3)),
            Figure("events.participants", "Người tham dự", 1250, "lượt người", (1, 2)),
        ),
        (),
        (),
    )
    values: dict[str, object] = {
        "period": Period.quarter(2024, 1),
        "organisation": ORG,
        "topic": Topic("chuyen-doi-so", "Chuyển đổi số", "CĐS"),
        "area_name": "Xã Ba Tơ",
        "channels": (visual, events),
        "issued_on": date(2024, 3, 5),
        "number": "12",
        "prose": {"limitations": "- Kinh phí còn hạn chế."},
    }
    values.update(overrides)
    return ReportData(**values)  # type: ignore[arg-type]


def test_lists() -> None:
    assert join_vn(["a", "b", "c"]) == "a, b và c" and join_vn(["a"]) == "a"


def test_decree_30_date_and_number_lines() -> None:
    assert date_line("Ba Tơ", date(2024, 1, 15)) == "Ba Tơ, ngày 15 tháng 01 năm 2024"
    assert date_line("Ba Tơ", date(2024, 3, 5)) == "Ba Tơ, ngày 05 tháng 3 năm 2024"
    assert number_line("", "VP") == "Số:       /BC-VP"
    assert number_line("12", "") == "Số: 12/BC"


def test_section_one_wording_for_empty_and_present_channels() -> None:
    texts = [b.text for b in document_blocks(_data())]
    assert (
        "Trong quý I năm 2024, chưa ghi nhận tin, bài, chuyên mục về CĐS trên hệ thống truyền thanh, "
        "cổng thông tin điện tử và báo chí." in texts
    )
    assert (
        "Trong quý I năm 2024, đơn vị đã thực hiện lắp đặt, làm mới 02 bảng tin tuyên truyền về CĐS. "
        "Cụ thể địa điểm đặt như sau:" in texts
    )
    assert "+ Nhà văn hóa thôn: 02 bảng tin (kích thước 1,2m x 0,8m)" in texts
    assert "Trong quý I năm 2024, chưa ghi nhận chuyến xe thông tin lưu động về CĐS." in texts
    assert "Trong quý I năm 2024, đã tổ chức 03 hội nghị về CĐS với khoảng 1.250 lượt người tham dự." in texts
    assert "4. Hội nghị, sự kiện" in texts
    assert "V. NHIỆM VỤ TRỌNG TÂM QUÝ II NĂM 2024" in texts


def test_docx_layout_follows_decree_30() -> None:
    doc = Document(io.BytesIO(render_docx(_data())))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    margins_mm = [
        round(m.mm)
        for m in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    ]  # stored in twips: compare whole mm
    top, bottom, left_mm, right_mm = margins_mm
    assert 20 <= top <= 25 and 20 <= bottom <= 25 and 30 <= left_mm <= 35 and 15 <= right_mm <= 20
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and Pt(13) <= normal.size <= Pt(14)
    header = doc.tables[0]
    left, right = header.rows[0].cells
    left_lines = [p.text for p in left.paragraphs if p.text]
    assert left_lines == ["UBND XÃ BA TƠ", "VĂN PHÒNG HĐND VÀ UBND", "Số: 12/BC-VP"]
    agency = next(p for p in left.paragraphs if p.text == "VĂN PHÒNG HĐND VÀ UBND")
    assert agency.runs[0].bold
    rules = [
        p
        for p in left.paragraphs
        if not p.text
        and p._p.pPr is not None
        and p._p.pPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr") is not None
    ]
    assert len(rules) == 1  # the short line under the agency's name
    motto, sub, date_p = (p for p in right.paragraphs if p.text)
    assert motto.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and motto.runs[0].bold
    assert Pt(12) <= motto.runs[0].font.size <= Pt(13)
    assert (
        sub.text == "Độc lập - Tự do - Hạnh phúc"
        and sub.runs[0].bold
        and Pt(13) <= sub.runs[0].font.size <= Pt(14)
    )
    assert date_p.text == "Ba Tơ, ngày 05 tháng 3 năm 2024" and date_p.runs[0].italic
    body = [p for p in doc.paragraphs if p.text]
    title = next(i for i, p in enumerate(body) if p.text == "BÁO CÁO")
    assert body[title].runs[0].bold
    assert body[title + 1].text == "Kết quả công tác tuyên truyền chuyển đổi số quý I năm 2024"
    placeholder = next(p for p in body if p.text.startswith("[Cần bổ sung: Thuận lợi"))
    assert placeholder.runs[0].font.highlight_color == WD_COLOR_INDEX.YELLOW and placeholder.runs[0].italic
    assert "- Kinh phí còn hạn chế." in [p.text for p in body]
    headings = [p for p in body if p.runs and p.runs[0].bold and p.text[:2] in ("I.", "1.", "II", "II.")]
    assert headings, "the body has numbered headings"
    assert all(p.paragraph_format.keep_with_next for p in headings)
    assert body[title].paragraph_format.keep_with_next and body[title + 1].paragraph_format.keep_with_next
    ordinary = [p for p in body[title + 2 :] if p.runs and not p.runs[0].bold]
    assert not all(p.paragraph_format.keep_with_next for p in ordinary)  # body text flows freely
    signature_row = doc.tables[1].rows[0]._tr
    assert signature_row.trPr is not None and signature_row.trPr.find(qn("w:cantSplit")) is not None
    sign_left, sign_right = doc.tables[1].rows[0].cells
    lines = [p.text for p in sign_left.paragraphs]
    assert lines == ["Nơi nhận:", "- UBND tỉnh Quảng Ngãi;", "- Lưu: VT."]
    assert sign_left.paragraphs[0].runs[0].bold and sign_left.paragraphs[0].runs[0].italic
    assert [p.text for p in sign_right.paragraphs if p.text] == ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Phạm Văn B"]


def test_xlsx_has_a_summary_and_a_sheet_per_channel() -> None:
    book = load_workbook(io.BytesIO(render_xlsx(_data())))
    assert book.sheetnames == ["Tổng hợp", "Tuyên truyền trực quan", "Hội nghị, sự kiện"]
    visual = book["Tuyên truyền trực quan"]
    assert [c.value for c in visual[1]] == ["Mã", "Loại", "Địa điểm", "Rộng (m)"]
    assert [c.value for c in visual[2]] == [7, "bảng tin", "nhà văn hóa thôn", 1.2]
    assert visual.column_dimensions["C"].width == 40 and visual.freeze_panes == "A2"
    summary = book["Tổng hợp"]
    rows = [[c.value for c in r] for r in summary.iter_rows(min_row=8)]
    assert rows[0][:7] == [1, "Tuyên truyền trực quan", "Bảng tin", 2, "bảng tin", 1, "7"]
    assert rows[2][3] == 1250 and rows[2][6] == "1, 2"


def test_sheet_titles_are_valid_and_unique() -> None:
    used: set[str] = set()
    assert sheet_title("Báo chí: tin/bài [2024]?", used) == "Báo chí- tin-bài -2024--"
    long = "Cộng tác báo chí, phát thanh, truyền hình"
    first, second = sheet_title(long, used), sheet_title(long, used)
    assert len(first) <= 31 and len(second) <= 31 and first != second


def test_snapshot_round_trips() -> None:
    data = _data()
    assert ReportData.from_json(data.to_json()) == data


def test_long_place_lists_point_to_the_detail_sheet() -> None:
    rows = tuple(
        DetailRow(
            i,
            {
                "kind": "pa nô",
                "place": f"điểm {i}",
                "width_m": 2.0,
                "height_m": 1.0,
                "sides": 1,
                "quantity": 1,
            },
        )
        for i in range(1, 21)
    )
    visual = ChannelSection(
        "visual", "Tuyên truyền trực quan", (Figure("visual.panel", "Pa nô", 20, "pa nô"),), (), rows
    )
    texts = [b.text for b in document_blocks(_data(channels=(visual,)))]
    assert sum(t.startswith("+ Điểm") for t in texts) == 15
    assert "+ Và 05 địa điểm khác (chi tiết tại bảng số liệu kèm theo)." in texts


def test_roman_numerals_of_quarters_stay_upper_case() -> None:
    """A quarter's number is a Roman numeral: "QUÝ II" in a heading, "quý II" in a sentence, never
    "quý ii" (the placeholder of section V once lower-cased its heading)."""
    data = _data(period=Period.quarter(2024, 1), prose={})
    texts = [b.text for b in document_blocks(data)]
    assert "V. NHIỆM VỤ TRỌNG TÂM QUÝ II NĂM 2024" in texts
    placeholder = next(t for t in texts if t.startswith("[Cần bổ sung: Nhiệm vụ trọng tâm"))
    assert placeholder.startswith("[Cần bổ sung: Nhiệm vụ trọng tâm quý II năm 2024.")
    assert not any(" ii " in t or " iv " in t or t.endswith(" iii") for t in texts)
    fourth = [b.text for b in document_blocks(_data(period=Period.quarter(2024, 4), prose={}))]
    assert "V. NHIỆM VỤ TRỌNG TÂM QUÝ I NĂM 2025" in fourth
    assert any(t.startswith("[Cần bổ sung: Nhiệm vụ trọng tâm quý I năm 2025.") for t in fourth)
    third = Document(io.BytesIO(render_docx(_data(period=Period.quarter(2024, 3)))))
    paragraphs = [p.text for p in third.paragraphs]
    assert "Kết quả công tác tuyên truyền chuyển đổi số quý III năm 2024" in paragraphs
    assert "V. NHIỆM VỤ TRỌNG TÂM QUÝ IV NĂM 2024" in paragraphs
    assert "quý iv" not in "\n".join(paragraphs).replace("QUÝ IV", "")


def _figures(period: Period, programmes: int, items: int, in_plan: int, due: int) -> PeriodFigures:
    return PeriodFigures(period, programmes, items, in_plan, due)


def test_the_previous_period_has_the_same_length() -> None:
    assert previous_period(Period.year(2024)) == Period.year(2023)
    assert previous_period(Period.half(2024, 1)) == Period.half(2023, 2)
    assert previous_period(Period.half(2024, 2)) == Period.half(2024, 1)
    assert previous_period(Period.quarter(2024, 1)) == Period.quarter(2023, 4)
    assert previous_period(Period.quarter(2024, 3)) == Period.quarter(2024, 2)
    assert previous_period(Period.month(2024, 1)) == Period.month(2023, 12)
    assert previous_period(Period.month(2024, 3)) == Period.month(2024, 2)
    assert previous_period(Period.custom(date(2024, 3, 1), date(2024, 3, 10))) == Period.custom(
        date(2024, 2, 20), date(2024, 2, 29)
    )


def test_the_drafted_assessment_states_each_change_without_judging() -> None:
    q2, q1 = Period.quarter(2024, 2), Period.quarter(2024, 1)
    fewer = Comparison(_figures(q2, 3, 40, 90, 100), _figures(q1, 3, 52, 95, 100))
    assert draft_text(fewer) == (
        "So với quý I năm 2024, số chuyên mục đã phát sóng bằng kỳ trước (03 chuyên mục); số tin, bài đã "
        "phát giảm 12 tin, bài (từ 52 xuống 40); tỷ lệ thực hiện kế hoạch phát sóng trên cụm loa (theo "
        "biên nhận phát) đạt 90 %, thấp hơn kỳ trước 5 điểm phần trăm (95 %). Nhìn chung, số chuyên mục, "
        "tin, bài phát trên hệ thống truyền thanh giảm so với kỳ trước."
    )
    mixed = Comparison(_figures(q2, 4, 40, 0, 0), _figures(q1, 3, 52, 95, 100))
    text = draft_text(mixed)
    assert "Nhìn chung" not in text  # one up, one down: no overall word
    assert "kỳ này chưa có kế hoạch phát sóng trên cụm loa đến giờ phát (kỳ trước đạt 95 %)" in text
    days = Period.custom(date(2024, 3, 1), date(2024, 3, 10))
    empty = Comparison(_figures(days, 0, 0, 0, 0), _figures(previous_period(days), 0, 0, 0, 0))
    assert draft_text(empty) == (
        "Từ ngày 01/03/2024 đến ngày 10/03/2024 và khoảng thời gian liền trước (từ ngày 20/02/2024 đến "
        "ngày 29/02/2024), chưa ghi nhận chuyên mục, tin, bài phát trên hệ thống truyền thanh để so sánh."
    )
    assert Comparison.from_json(fewer.to_json()) == fewer
    first_year = Comparison(_figures(q2, 3, 40, 90, 100), _figures(q1, 0, 0, 0, 0))
    assert draft_text(first_year) == (
        "Chưa có số liệu truyền thanh của quý I năm 2024 trên hệ thống (biên nhận phát của cụm loa, sổ nhập "
        "tay) để so sánh với kỳ này."
    )


def test_a_programme_composition_in_words() -> None:
    assert mix_text((("news", 3, 5), ("article", 6, 7))) == "3-5 tin, 6-7 bài viết"
    assert mix_text((("news", 4, 4), ("reportage", 0, 1))) == "04 tin, không quá 01 phóng sự"
    assert mix_text(()) == ""


def test_a_version_3_snapshot_keeps_its_plan_composition_as_the_plan() -> None:
    """Before version 4 a programme kept the news and articles of its plan's airings only: read again,
    they are the plan's composition, and nothing is claimed as aired."""
    old = {
        "programme_id": 3,
        "name": "Chuyên mục CCHC",
        "schedule": "Thứ Hai thứ ba trong tháng lúc 07:00",
        "scheduled_airings": 12,
        "played_airings": 12,
        "news": [3, 5],
        "articles": [6, 7],
    }
    row = ProgrammeRow.from_json(old)
    assert row.planned_mix == (("news", 3, 5), ("article", 6, 7)) and row.aired_mix == ()
    assert row.due_airings == 12
    assert inline_details([row]) == ", phát vào thứ Hai thứ ba trong tháng lúc 07:00"
    assert ProgrammeRow.from_json(row.to_json()) == row

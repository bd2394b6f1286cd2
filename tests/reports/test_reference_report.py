"""The 2023 figures of the Ba Tơ report (shared/reference), entered through the API (JSON and CSV
uploads), become a report whose DOCX section I, XLSX sheets and PDF all show every one of them."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, timedelta
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, make_user

ACT = "/api/v1/activities"

# Phrases the reference report prints, as Loa writes them (counts below ten zero-padded: "08 pa nô").
EXPECTED_PHRASES = (
    "12 chuyên mục",
    "130 tin và 190 bài viết",
    "32 bài viết, 25 tin, 60 ảnh trên cổng thông tin điện tử",
    "06 phóng sự truyền thanh, 18 phóng sự truyền hình",
    "05 băng rôn, 07 phướn",
    "08 pa nô",
    "Ngã tư trụ đèn giao thông: 01 pa nô (kích thước 4m x 6m)",
    "Dọc con lươn đường Phạm Văn Đồng: 03 pa nô (02 mặt, kích thước 1,8m x 1,2m)",
    "Trụ điện đường Phạm Văn Đồng: 04 pa nô (02 mặt, kích thước 2m x 0,8m)",
    "20 lượt xe thông tin lưu động",
)
EXPECTED_VALUES = {
    "radio.programme": 12,
    "radio.news": 130,
    "radio.article": 190,
    "portal.article": 32,
    "portal.news": 25,
    "portal.photo": 60,
    "press.radio_reportage": 6,
    "press.tv_reportage": 18,
    "visual.banner": 5,
    "visual.flag": 7,
    "visual.panel": 8,
    "mobile.trip": 20,
}


def _third_week_monday(month: int) -> date:
    first = date(2023, month, 1)
    first_monday = first + timedelta(days=(7 - first.weekday()) % 7)
    return first_monday + timedelta(weeks=2)


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")


def _upload(client: TestClient, headers: dict[str, str], register: str, content: bytes) -> dict[str, Any]:
    response = client.post(
        f"{ACT}/{register}/import", headers=headers, files={"file": ("so-lieu.csv", content, "text/csv")}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _post(client: TestClient, headers: dict[str, str], register: str, body: dict[str, Any]) -> None:
    response = client.post(f"{ACT}/{register}", headers=headers, json=body)
    assert response.status_code == 201, response.text


def enter_reference_year(
    client: TestClient, headers: dict[str, str], tree: Tree, *, radio: bool = True
) -> None:
    """The reference report's 2023 activity, filed under the (now former) district of Ba Tơ. With
    ``radio`` the radio figures go to the manual register (a station without Loa's loudspeakers)."""
    if radio:
        enter_manual_radio(client, headers)
    enter_other_channels(client, headers, tree)


def enter_manual_radio(client: TestClient, headers: dict[str, str]) -> None:
    """12 monthly CCHC programmes, 130 news items and 190 articles aired, in the manual register."""
    radio = [
        f"Chuyên mục,1,{_third_week_monday(m):%d/%m/%Y},Chuyên mục CCHC tháng {m},D1,cchc"
        for m in range(1, 13)
    ]
    radio += [f"Tin,10,{date(2023, m, 25):%d/%m/%Y},Tin CCHC tháng {m},D1,cchc" for m in range(1, 14 - 1)]
    radio += ["Tin,10,28/12/2023,Tin CCHC bổ sung,OA,cchc"]
    radio += [f"Bài viết,10,{date(2023, 1 + i % 12, 20):%d/%m/%Y},Bài CCHC số {i},D1,cchc" for i in range(19)]
    result = _upload(
        client, headers, "radio-items", _csv("Loại,Số lượng,Ngày phát,Tiêu đề,Mã địa bàn,Chủ đề", radio)
    )
    assert result["created"] == 12 + 13 + 19


def enter_other_channels(client: TestClient, headers: dict[str, str], tree: Tree) -> None:
    # Portal: 32 articles, 25 news items, 60 photos.
    for kind, count, day in (
        ("article", 20, "2023-05-10"),
        ("article", 12, "2023-11-10"),
        ("news", 25, "2023-08-01"),
        ("photo", 60, "2023-09-01"),
    ):
        _post(
            client,
            headers,
            "portal-posts",
            {
                "kind": kind,
                "count": count,
                "posted_on": day,
                "title": "CCHC",
                "area_code": "D1",
                "topics": ["cchc"],
            },
        )
    # Provincial press and TV: 6 radio reportages, 18 TV reportages.
    for i in range(6):
        _post(
            client,
            headers,
            "press-items",
            {
                "outlet": "Báo Quảng Ngãi",
                "kind": "radio_reportage",
                "published_on": f"2023-{i + 2:02d}-15",
                "title": f"Phóng sự CCHC {i}",
                "area_id": tree.district.id,
                "topics": "cchc",
            },
        )
    for i in range(18):
        _post(
            client,
            headers,
            "press-items",
            {
                "outlet": "Đài Phát thanh - Truyền hình tỉnh",
                "kind": "Phóng sự truyền hình",
                "published_on": f"2023-{i % 12 + 1:02d}-0{i % 9 + 1}",
                "title": f"PS truyền hình {i}",
                "link": f"https://ptqn.example.vn/ps-{i}",
                "area_code": "D1",
                "topics": ["CCHC"],
            },
        )
    # Visual propaganda: 5 banners, 7 flags, 8 panels with their places and sizes (CSV, Vietnamese decimals).
    visual = [
        "Băng rôn;Trung tâm huyện;0,8;6;1;3;02/01/2023;D1;cchc",
        "Băng rôn;Trung tâm huyện;0,8;6;1;2;01/09/2023;D1;cchc",
        "Phướn;Đường Phạm Văn Đồng;0,6;2;2;7;02/01/2023;D1;cchc",
        "Pa nô;ngã tư trụ đèn giao thông;4;6;1;1;15/03/2023;D1;cchc",
        "Pa nô;dọc con lươn đường Phạm Văn Đồng;1,8;1,2;2;3;15/03/2023;D1;cchc",
        "Pa nô;trụ điện đường Phạm Văn Đồng;2;0,8;2;4;20/04/2023;D1;cchc",
    ]
    _upload(
        client,
        headers,
        "visual-items",
        _csv("Loại;Địa điểm;Rộng (m);Cao (m);Số mặt;Số lượng;Ngày lắp đặt;Mã địa bàn;Chủ đề", visual),
    )
    # Mobile information vehicle: 20 trips to villages and residential groups.
    for i in range(20):
        _post(
            client,
            headers,
            "mobile-trips",
            {
                "trip_on": f"2023-{i % 12 + 1:02d}-1{i % 9}",
                "route": "Thị trấn → các xã",
                "stops": ["OA01", f"Thôn {i % 5 + 1}"],
                "duration_minutes": 120,
                "audience_estimate": 150,
                "content": "Lợi ích của dịch vụ công trực tuyến mức độ 3, 4",
                "area_code": "D1",
                "topics": ["cchc"],
            },
        )
    # Noise that must not be counted: another topic, another district, another year.
    _post(
        client,
        headers,
        "visual-items",
        {
            "kind": "banner",
            "place": "Chợ",
            "width_m": 0.8,
            "height_m": 6,
            "installed_on": "2023-06-01",
            "area_code": "D1",
            "topics": ["y-te"],
        },
    )
    _post(
        client,
        headers,
        "visual-items",
        {
            "kind": "panel",
            "place": "Sơn Hà",
            "width_m": 4,
            "height_m": 6,
            "installed_on": "2023-06-01",
            "area_code": "OE",
            "topics": ["cchc"],
        },
    )
    _post(client, headers, "mobile-trips", {"trip_on": "2022-12-31", "area_code": "D1", "topics": ["cchc"]})


@pytest.fixture
def reference(session: Session, client: TestClient) -> tuple[dict[str, str], Tree, dict[str, Any]]:
    tree = build_tree(session)
    make_user(session, "bientap", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    headers = bearer(client, "bientap")
    enter_reference_year(client, headers, tree)
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
                "short_code": "TTVHTT",
                "prose_name": "Trung tâm",
                "signer_title": "Giám đốc",
                "signer_name": "Nguyễn Văn A",
                "recipients": ["UBND huyện", "BCĐ CCHC huyện"],
            },
            "prose": {"advantages": "Sự quan tâm của BCĐ CCHC huyện.\n- Phối hợp chặt chẽ giữa các cơ quan."},
        },
    )
    assert response.status_code == 201, response.text
    return headers, tree, response.json()


def _section_one(docx: bytes) -> str:
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    start = paragraphs.index("I. KẾT QUẢ CÔNG TÁC TUYÊN TRUYỀN")
    end = paragraphs.index("II. THUẬN LỢI")
    return "\n".join(paragraphs[start:end])


def check_every_reference_figure_is_in_the_docx_section_one(
    client: TestClient, reference: tuple[dict[str, str], Tree, dict[str, Any]]
) -> None:
    headers, _, report = reference
    figures = {f["key"]: f for f in report["figures"]}
    assert {k: figures[k]["value"] for k in EXPECTED_VALUES} == EXPECTED_VALUES
    assert report["missing_prose"] == ["limitations", "proposals", "next_tasks"]
    response = client.get(f"/api/v1/reports/{report['id']}/report.docx", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    section = _section_one(response.content)
    for phrase in EXPECTED_PHRASES:
        assert phrase in section, phrase
    assert "cộng tác với Đài Phát thanh - Truyền hình tỉnh và Báo Quảng Ngãi:" in section, section
    assert "Trong năm 2023, Trung tâm đã xây dựng và phát sóng 12 chuyên mục về CCHC" in section
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    assert "Sự quan tâm của BCĐ CCHC huyện." in text
    assert "[Cần bổ sung: Hạn chế, tồn tại." in text
    assert "V. NHIỆM VỤ TRỌNG TÂM NĂM 2024" in text


def check_every_figure_traces_to_its_records(
    client: TestClient, reference: tuple[dict[str, str], Tree, dict[str, Any]]
) -> None:
    headers, _, report = reference
    figures = {f["key"]: f for f in report["figures"]}
    panel_ids = figures["visual.panel"]["row_ids"]
    quantities = [
        client.get(f"{ACT}/visual-items/{i}", headers=headers).json()["quantity"] for i in panel_ids
    ]
    assert sorted(quantities) == [1, 3, 4]
    trips = [
        client.get(f"{ACT}/mobile-trips/{i}", headers=headers).json()
        for i in figures["mobile.trip"]["row_ids"]
    ]
    assert len(trips) == 20 and all(t["trip_on"].startswith("2023-") for t in trips)
    news = figures["radio.news"]["row_ids"]
    assert sum(client.get(f"{ACT}/radio-items/{i}", headers=headers).json()["count"] for i in news) == 130


def check_every_reference_figure_is_in_the_xlsx(
    client: TestClient, reference: tuple[dict[str, str], Tree, dict[str, Any]]
) -> None:
    headers, _, report = reference
    response = client.get(f"/api/v1/reports/{report['id']}/report.xlsx", headers=headers)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    summary = book["Tổng hợp"]
    header_row = next(r for r in range(1, 20) if summary.cell(r, 1).value == "STT")
    assert summary.freeze_panes == f"A{header_row + 1}"
    values = {
        (summary.cell(r, 2).value, summary.cell(r, 5).value): summary.cell(r, 4).value
        for r in range(header_row + 1, summary.max_row + 1)
    }
    assert values[("Truyền thanh", "chuyên mục")] == 12
    assert values[("Truyền thanh", "tin")] == 130
    assert values[("Truyền thanh", "bài viết")] == 190
    assert values[("Cổng thông tin điện tử", "bài viết")] == 32
    assert values[("Cổng thông tin điện tử", "tin")] == 25
    assert values[("Cổng thông tin điện tử", "ảnh")] == 60
    assert values[("Cộng tác báo chí", "phóng sự truyền thanh")] == 6
    assert values[("Cộng tác báo chí", "phóng sự truyền hình")] == 18
    assert values[("Tuyên truyền trực quan", "băng rôn")] == 5
    assert values[("Tuyên truyền trực quan", "phướn")] == 7
    assert values[("Tuyên truyền trực quan", "pa nô")] == 8
    assert values[("Xe thông tin lưu động", "lượt")] == 20
    visual = book["Tuyên truyền trực quan"]
    assert visual.freeze_panes == "A2"
    headers_row = [c.value for c in visual[1]]
    assert headers_row[:3] == ["Mã", "Địa bàn", "Loại"]
    col = {name: i for i, name in enumerate(headers_row)}
    rows = list(visual.iter_rows(min_row=2, values_only=True))
    panels = [r for r in rows if r[col["Loại"]] == "pa nô"]
    assert sum(r[col["Số lượng"]] for r in panels) == 8
    sizes = {(r[col["Địa điểm"]], r[col["Rộng (m)"]], r[col["Cao (m)"]], r[col["Số mặt"]]) for r in panels}
    assert ("dọc con lươn đường Phạm Văn Đồng", 1.8, 1.2, 2) in sizes
    assert ("ngã tư trụ đèn giao thông", 4, 6, 1) in sizes
    assert all(r[col["Ngày lắp đặt"]].year == 2023 for r in rows)
    press = book["Cộng tác báo chí"]
    link_column = next(c.column_letter for c in press[1] if c.value == "Đường dẫn")
    links = [c.hyperlink.target for c in press[link_column][1:] if c.hyperlink is not None]
    assert len(links) == 18 and links[0].startswith("https://ptqn.example.vn/")
    mobile = book["Xe thông tin lưu động"]
    assert mobile.max_row == 21


def check_docx_converts_to_pdf_with_libreoffice(
    client: TestClient, reference: tuple[dict[str, str], Tree, dict[str, Any]]
) -> None:
    headers, _, report = reference
    assert shutil.which("soffice"), (
        "LibreOffice is needed: run `make office` (apt-get install libreoffice-writer-nogui)"
    )
    response = client.get(f"/api/v1/reports/{report['id']}/report.pdf", headers=headers)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF")
    listed = client.get(f"/api/v1/reports/{report['id']}", headers=headers).json()
    assert {f["format"] for f in listed["files"]} == {"docx", "xlsx", "pdf"}  # kept after the first ask
    assert shutil.which("pdftotext"), "poppler-utils is needed: run `make office`"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout
    flat = " ".join(text.decode("utf-8").split())
    for phrase in (
        "12 chuyên mục",
        "130 tin và 190 bài viết",
        "08 pa nô",
        "20 lượt xe",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    ):
        assert phrase in flat, phrase


def test_reference_year_report(
    client: TestClient, reference: tuple[dict[str, str], Tree, dict[str, Any]]
) -> None:
    """One data entry (through the API, ~60 requests) checked four ways, to keep the suite fast."""
    check_every_reference_figure_is_in_the_docx_section_one(client, reference)
    check_every_figure_traces_to_its_records(client, reference)
    check_every_reference_figure_is_in_the_xlsx(client, reference)
    check_docx_converts_to_pdf_with_libreoffice(client, reference)

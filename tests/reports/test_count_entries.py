"""The Ba Tơ report (shared/reference) entered as its notebook's totals: count entries for the year,
no invented day, title or size, through CSV uploads of the API. The report of 2023 states every figure
of the reference, each counted once, and its detail rows say what the entries are; a report of part of
the year does not claim a share of them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.activities.areas import Tree, build_tree
from tests.reports.test_reference_report import EXPECTED_PHRASES, EXPECTED_VALUES
from tests.support.auth import bearer, make_user

ACT = "/api/v1/activities"
YEAR = "01/01/2023;31/12/2023"

# The notebook's totals, one count entry each (the panels with the places and sizes the report gives).
NOTEBOOK: dict[str, tuple[str, list[str]]] = {
    "radio-items": (
        "Loại;Số lượng;Từ ngày;Đến ngày;Mã địa bàn;Chủ đề",
        [f"Chuyên mục;12;{YEAR};D1;CCHC", f"Tin;130;{YEAR};D1;CCHC", f"Bài viết;190;{YEAR};D1;CCHC"],
    ),
    "portal-posts": (
        "Loại;Số lượng;Từ ngày;Đến ngày;Mã địa bàn;Chủ đề",
        [f"Bài viết;32;{YEAR};D1;CCHC", f"Tin;25;{YEAR};D1;CCHC", f"Ảnh;60;{YEAR};D1;CCHC"],
    ),
    "press-items": (
        "Loại;Số lượng;Từ ngày;Đến ngày;Mã địa bàn;Chủ đề",
        [f"Phóng sự truyền thanh;6;{YEAR};D1;CCHC", f"Phóng sự truyền hình;18;{YEAR};D1;CCHC"],
    ),
    "visual-items": (
        "Loại;Số lượng;Từ ngày;Đến ngày;Địa điểm;Rộng (m);Cao (m);Số mặt;Mã địa bàn;Chủ đề",
        [
            f"Băng rôn;5;{YEAR};Các điểm trung tâm huyện;;;;D1;CCHC",
            f"Phướn;7;{YEAR};Các điểm trung tâm huyện;;;;D1;CCHC",
            f"Pa nô;1;{YEAR};Ngã tư trụ đèn giao thông;4;6;1;D1;CCHC",
            f"Pa nô;3;{YEAR};Dọc con lươn đường Phạm Văn Đồng;1,8;1,2;2;D1;CCHC",
            f"Pa nô;4;{YEAR};Trụ điện đường Phạm Văn Đồng;2;0,8;2;D1;CCHC",
        ],
    ),
    "mobile-trips": (
        "Số lượt;Từ ngày;Đến ngày;Mã địa bàn;Chủ đề;Nội dung",
        [f"20;{YEAR};D1;CCHC;Lợi ích của dịch vụ công trực tuyến mức độ 3, 4"],
    ),
}


def enter_notebook(client: TestClient, headers: dict[str, str]) -> None:
    for register, (header, rows) in NOTEBOOK.items():
        content = ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")
        response = client.post(
            f"{ACT}/{register}/import", headers=headers, files={"file": ("so-ghi.csv", content, "text/csv")}
        )
        assert response.status_code == 201, response.text
        assert response.json()["created"] == len(rows)


@pytest.fixture
def notebook(session: Session, client: TestClient) -> tuple[dict[str, str], Tree]:
    tree = build_tree(session)
    make_user(session, "bientap", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    headers = bearer(client, "bientap")
    enter_notebook(client, headers)
    return headers, tree


def _report(
    client: TestClient, headers: dict[str, str], area_id: int, period: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/reports",
        headers=headers,
        json={
            "period": period,
            "area_id": area_id,
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
    return dict(response.json())


def test_nothing_was_invented(client: TestClient, notebook: tuple[dict[str, str], Tree]) -> None:
    headers, _ = notebook
    for register in NOTEBOOK:
        items = client.get(f"{ACT}/{register}", headers=headers).json()["items"]
        assert items and all(i["count_entry"] for i in items), register
        assert all(i.get("title", "") == "" for i in items)  # no title was made up
    visual = client.get(f"{ACT}/visual-items", headers=headers).json()["items"]
    sizes = {i["kind"]: (i["width_m"], i["height_m"]) for i in visual if i["kind"] != "panel"}
    assert sizes == {"banner": (None, None), "flag": (None, None)}


def test_the_notebook_gives_the_reference_figures_in_every_document(
    client: TestClient, notebook: tuple[dict[str, str], Tree]
) -> None:
    headers, tree = notebook
    report = _report(client, headers, tree.district.id, {"kind": "year", "year": 2023})
    figures = {f["key"]: f for f in report["figures"]}
    assert {k: figures[k]["value"] for k in EXPECTED_VALUES} == EXPECTED_VALUES
    # Each figure rests on the one count entry behind it.
    assert len(figures["mobile.trip"]["row_ids"]) == 1 and len(figures["radio.news"]["row_ids"]) == 1

    docx = client.get(f"/api/v1/reports/{report['id']}/report.docx", headers=headers).content
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    section = "\n".join(paragraphs[paragraphs.index("I. KẾT QUẢ CÔNG TÁC TUYÊN TRUYỀN") :])
    for phrase in EXPECTED_PHRASES:
        assert phrase in section, phrase
    assert "+ Các điểm trung tâm huyện: 05 băng rôn\n" in section + "\n"  # no size was invented

    book = load_workbook(
        io.BytesIO(client.get(f"/api/v1/reports/{report['id']}/report.xlsx", headers=headers).content)
    )
    for sheet, expected in (
        ("Xe thông tin lưu động", {"20 lượt xe, cả năm 2023"}),
        (
            "Tuyên truyền trực quan",
            {"05 băng rôn, cả năm 2023", "07 phướn, cả năm 2023", "03 pa nô, cả năm 2023"},
        ),
        (
            "Cộng tác báo chí",
            {"06 phóng sự truyền thanh, cả năm 2023", "18 phóng sự truyền hình, cả năm 2023"},
        ),
        (
            "Tin bài truyền thanh",
            {"12 chuyên mục, cả năm 2023", "130 tin, cả năm 2023", "190 bài viết, cả năm 2023"},
        ),
        ("Cổng thông tin điện tử", {"32 bài viết, cả năm 2023", "60 ảnh, cả năm 2023"}),
    ):
        rows = list(book[sheet].iter_rows(values_only=True))
        header_row = next(i for i, r in enumerate(rows) if "Số liệu tổng hợp" in r)
        column = rows[header_row].index("Số liệu tổng hợp")
        shown = {r[column] for r in rows[header_row + 1 :] if r[column]}
        assert expected <= shown, (sheet, shown)


def test_counts_are_claimed_only_by_periods_that_hold_them(
    client: TestClient, notebook: tuple[dict[str, str], Tree]
) -> None:
    headers, tree = notebook
    quarter = _report(client, headers, tree.district.id, {"kind": "quarter", "year": 2023, "index": 1})
    assert all(f["value"] == 0 for f in quarter["figures"]), [f for f in quarter["figures"] if f["value"]]
    wider = _report(
        client, headers, tree.district.id, {"kind": "custom", "start": "2022-07-01", "end": "2024-01-10"}
    )
    assert {f["key"]: f["value"] for f in wider["figures"]}["mobile.trip"] == 20


def test_a_count_is_added_once_in_a_split_by_area(
    client: TestClient, notebook: tuple[dict[str, str], Tree]
) -> None:
    headers, tree = notebook
    response = client.get(
        "/api/v1/reports/statistics",
        headers=headers,
        params={"area_id": tree.district.id, "year": 2023, "topic_code": "cchc", "level": "former_district"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    totals = {f["key"]: f["value"] for f in body["figures"]}
    for key in ("mobile.trip", "press.tv_reportage", "visual.banner", "portal.photo"):
        split = sum(a["figures"].get(key, {}).get("value", 0) for a in body["areas"])
        assert split == totals[key] == EXPECTED_VALUES[key], key

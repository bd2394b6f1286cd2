"""Report pages in HTML: the form (errors by field, the previous report's text offered again), the
generated report with downloads and the rows behind each figure, and the statistics page (both
rollups give the same totals, scope, the sketch map)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.activities import service
from loa.activities.registers import MOBILE, RADIO, VISUAL
from loa.reports.models import Report
from tests.activities.areas import Tree, build_tree
from tests.support.auth import login_web, make_user

ADMIN = Principal(user_id=0, username="admin", display_name="Quản trị", role=Role.ADMIN)
TODAY = date(2026, 1, 10)


def _record(session: Session, spec: object, **data: object) -> int:
    record = service.create_record(session, spec=spec, principal=ADMIN, data=data, today=TODAY)  # type: ignore[arg-type]
    session.commit()
    return record.id


def _banner(session: Session, area: str, place: str, quantity: int = 1, **extra: object) -> int:
    fields = {"width_m": 0.8, "height_m": 6, "installed_on": "2024-04-01", "topics": ["cchc"], **extra}
    return _record(session, VISUAL, kind="banner", place=place, quantity=quantity, area=area, **fields)


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484", display_name="Phạm Thị Lan")
    make_user(session, "tinh", Role.PROVINCE_EDITOR, area_code="51", display_name="Biên tập tỉnh")
    session.commit()
    return tree


def _form(**overrides: str) -> dict[str, str]:
    return {
        "period": "year",
        "year": "2024",
        "topic": "cchc",
        "area": "21484",
        "number": "15",
        "advantages": "- Được cấp ủy quan tâm chỉ đạo",
        **overrides,
    }


def _reports(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def _docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_generate_a_report_from_the_form(client: TestClient, session: Session, tree: Tree) -> None:
    banner = _banner(session, "21484", "Cổng chợ Ba Tơ", quantity=2)
    _banner(session, "21490", "Chợ Ba Vì")  # another commune: not in this report
    csrf = login_web(client, "xabato")
    assert "Chưa có báo cáo nào" in client.get("/reports").text
    start = client.get("/reports/new").text
    assert 'value="UBND XÃ BA TƠ"' in start and "II. Thuận lợi" in start and "V. Nhiệm vụ trọng tâm" in start

    response = client.post("/reports", data={**_form(), "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "Đã lập «Báo cáo Kết quả công tác tuyên truyền cải cách hành chính năm 2024»" in page.text
    assert 'data-testid="figure-visual.banner">02<' in page.text
    assert "Còn 3 mục chưa viết" in page.text

    report_id = int(response.headers["location"].rsplit("/", 1)[1])
    docx = client.get(f"/reports/{report_id}/files/docx")
    assert docx.status_code == 200 and docx.headers["content-disposition"].endswith('.docx"')
    assert "02 băng rôn" in _docx_text(docx.content) and "Chợ Ba Vì" not in _docx_text(docx.content)
    assert client.get(f"/reports/{report_id}/files/xlsx").content[:2] == b"PK"

    rows = client.get(f"/reports/{report_id}/rows?figure=visual.banner")
    assert rows.status_code == 200 and "Cổng chợ Ba Tơ" in rows.text
    assert f'href="/activities/visual-items/{banner}"' in rows.text
    # The snapshot keeps the rows even after the record is deleted.
    service.delete_record(session, spec=VISUAL, principal=ADMIN, record_id=banner)
    session.commit()
    assert "Cổng chợ Ba Tơ" in client.get(f"/reports/{report_id}/rows?figure=visual.banner").text

    listing = client.get("/reports").text
    assert "Phạm Thị Lan" in listing and "Năm 2024" in listing
    assert (
        f'href="/reports/{report_id}/files/docx"' in listing
        and f'href="/reports/{report_id}/files/xlsx"' in listing
    )


def test_form_errors_are_shown_by_field_and_nothing_is_saved(
    client: TestClient, session: Session, tree: Tree
) -> None:
    csrf = login_web(client, "xabato")
    bad = _form(period="custom", start="2024-05-01", end="2024-01-01", area="21490", csrf_token=csrf)
    response = client.post("/reports", data=bad)
    assert response.status_code == 422
    assert 'data-testid="error-period">Ngày kết thúc phải sau ngày bắt đầu.' in response.text
    assert "Không tìm thấy địa bàn mã “21490” trong phạm vi của bạn" in response.text
    assert "- Được cấp ủy quan tâm chỉ đạo" in response.text  # what was written is kept
    org = client.post("/reports", data={**_form(), "org_name": "TRUNG TÂM VĂN HÓA", "csrf_token": csrf})
    assert org.status_code == 422 and 'data-testid="error-parent_name">Bắt buộc' in org.text
    district = client.post("/reports", data={**_form(), "former_district": "21484", "csrf_token": csrf})
    assert district.status_code == 422 and "không phải là huyện cũ" in district.text
    assert _reports(session) == 0


def test_the_previous_report_is_offered_as_a_starting_point(
    client: TestClient, session: Session, tree: Tree
) -> None:
    csrf = login_web(client, "xabato")
    first = _form(org_name="TRUNG TÂM VĂN HÓA - THÔNG TIN", parent_name="UBND XÃ BA TƠ", place="Ba Tơ")
    assert (
        client.post("/reports", data={**first, "csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    again = client.get("/reports/new").text
    assert "được điền sẵn từ báo cáo trước" in again
    assert (
        "- Được cấp ủy quan tâm chỉ đạo</textarea>" in again
        and 'value="TRUNG TÂM VĂN HÓA - THÔNG TIN"' in again
    )
    blank = client.get("/reports/new?blank=1").text
    assert "được điền sẵn" not in blank and "- Được cấp ủy quan tâm chỉ đạo" not in blank


def _radio(session: Session, area: str, count: int, day: str) -> int:
    return _record(session, RADIO, kind="news", count=count, aired_on=day, area=area, topics=["cchc"])


def _cell(html: str, test_id: str) -> str:
    match = re.search(rf'data-testid="{re.escape(test_id)}">(?:<a [^>]*>)?([^<]*)<', html)
    assert match, test_id
    return match.group(1)


def test_statistics_give_the_same_totals_under_both_rollups(
    client: TestClient, session: Session, tree: Tree
) -> None:
    for area, count, day in (
        ("OA", 10, "2023-03-01"),
        ("OB", 20, "2023-04-01"),
        ("OC", 5, "2023-05-01"),
        ("OA01", 1, "2023-06-01"),
        ("D1", 100, "2023-07-01"),
        ("OE", 7, "2023-08-01"),
        ("21484", 3, "2024-08-01"),
    ):
        _radio(session, area, count, day)
    login_web(client, "tinh")
    base = "/reports/statistics?area=51&period=year&year=2023"
    by_commune = client.get(f"{base}&level=commune")
    by_district = client.get(f"{base}&level=former_district")
    assert by_commune.status_code == by_district.status_code == 200
    for html in (by_commune.text, by_district.text):
        assert _cell(html, "total-radio") == _cell(html, "rollup-total-radio") == "143"
        assert "<svg" in html and 'data-testid="chart-radio"' in html
    assert "Xã Ba Tơ" in by_commune.text and "Huyện Ba Tơ (cấp trên xã)" in by_commune.text
    assert (
        ">Huyện Sơn Hà<" in by_district.text
        and 'aria-current="true" data-testid="level-former_district"' in (by_district.text)
    )
    link = re.search(r'href="(/reports/statistics/rows\?[^"]*group=unit[^"]*)">31<', by_commune.text)
    assert link, "the Ba Tơ cell links to its rows"
    rows = client.get(link.group(1).replace("&amp;", "&"))
    assert rows.status_code == 200 and "Xã Ba Tơ, năm 2023" in rows.text
    assert len(re.findall(r'<tr data-id="', rows.text)) == 3  # OA, OB and the village OA01


def test_statistics_stay_in_scope(client: TestClient, session: Session, tree: Tree) -> None:
    _banner(session, "21490", "Chợ Ba Vì")
    login_web(client, "xabato")
    own = client.get("/reports/statistics?year=2024")
    assert own.status_code == 200 and 'value="21484"' in own.text and _cell(own.text, "total-visual") == "0"
    other = client.get("/reports/statistics?area=21490&year=2024")
    assert "Không tìm thấy địa bàn mã “21490” trong phạm vi của bạn" in other.text
    assert "Chợ Ba Vì" not in other.text


def test_sketch_map_places_items_and_trips(client: TestClient, session: Session, tree: Tree) -> None:
    placed = _banner(session, "21484", "Ngã ba Ba Tơ", latitude=14.77, longitude=108.64)
    _banner(session, "21484", "Sai tọa độ", latitude=21.03, longitude=105.85)
    _banner(session, "21484", "Không tọa độ")
    trip = _record(session, MOBILE, trip_on="2024-05-02", route="Thôn Làng Teng", area="21490")
    login_web(client, "tinh")
    html = client.get("/reports/statistics?area=51&year=2024").text
    assert "sơ đồ phác thảo" in html and "không phải bản đồ" in html
    svg = html.split('data-testid="sketch-map"', 1)[1].split("</svg>", 1)[0]
    assert f'<a href="/activities/visual-items/{placed}"><circle' in svg
    assert f'<a href="/activities/mobile-trips/{trip}"><rect' in svg and "vị trí gần đúng" in svg
    assert "Sai tọa độ (21,0300; 105,8500)" in html.split('data-testid="map-outside"', 1)[1]
    assert "1 sản phẩm trực quan chưa có tọa độ" in html
    assert "tile" not in html.lower() and "leaflet" not in html.lower()

"""The register pages in HTML: tabs in Vietnamese, the create form with server-side errors next to the
fields, CSV import (error table, all or nothing), export, edit and delete, filters and scope."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal, Role
from loa.activities import service
from loa.activities.models import VisualItem
from loa.activities.registers import VISUAL
from tests.activities.areas import Tree, build_tree
from tests.support.auth import login_web, make_user

PROVINCE = Principal(user_id=0, username="tinh", display_name="Tỉnh", role=Role.ADMIN)
BANNER = {
    "kind": "banner",
    "place": "Cổng UBND xã Ba Tơ",
    "width_m": "0,8",
    "height_m": "6",
    "sides": "1",
    "quantity": "2",
    "installed_on": "2024-03-01",
    "removed_on": "",
    "content": "Đẩy mạnh cải cách hành chính",
    "latitude": "",
    "longitude": "",
    "cost_vnd": "1.500.000",
    "photo_refs": "",
    "area": "21484",
    "topics": ["cchc"],
    "notes": "",
}


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    make_user(session, "xabavi", Role.COMMUNE_OPERATOR, area_code="21490")
    make_user(session, "xem", Role.VIEWER, area_code="21484")
    session.commit()
    return tree


def _visual_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(VisualItem)) or 0)


def _add(
    session: Session, area: str, place: str, day: str = "2024-03-01", topics: tuple[str, ...] = ()
) -> int:
    data = {**BANNER, "area": area, "place": place, "installed_on": day, "topics": list(topics)}
    record = service.create_record(
        session, spec=VISUAL, principal=PROVINCE, data=data, today=date(2026, 1, 1)
    )
    session.commit()
    return record.id


def test_every_register_has_a_vietnamese_tab(client: TestClient, tree: Tree) -> None:
    login_web(client, "xabato")
    page = client.get("/activities")
    assert page.status_code == 200
    for label in (
        "Tuyên truyền trực quan",
        "Xe thông tin lưu động",
        "Báo chí, truyền hình",
        "Cổng thông tin điện tử",
        "Sự kiện, hội nghị",
    ):
        assert label in page.text
    assert 'aria-current="page" data-testid="tab-visual-items"' in page.text
    assert "Thêm sản phẩm trực quan" in page.text and "Nhập từ tệp CSV" in page.text
    for key in ("mobile-trips", "press-items", "portal-posts", "events", "radio-items"):
        tab = client.get(f"/activities/{key}")
        assert tab.status_code == 200 and f'data-testid="tab-{key}"' in tab.text
    missing = client.get("/activities/khong-co")
    assert missing.status_code == 404 and "Không có sổ theo dõi" in missing.text


def test_create_through_the_form(client: TestClient, session: Session, tree: Tree) -> None:
    csrf = login_web(client, "xabato")
    response = client.post(
        "/activities/visual-items", data={**BANNER, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "Đã thêm sản phẩm trực quan" in page.text
    assert "Cổng UBND xã Ba Tơ" in page.text and "0,8m × 6m" in page.text
    item = session.scalars(select(VisualItem)).one()
    assert (item.width_m, item.quantity, item.cost_vnd) == (0.8, 2, 1_500_000)
    assert [t.code for t in item.topics] == ["cchc"]


def test_negative_size_is_refused_next_to_the_field(client: TestClient, session: Session, tree: Tree) -> None:
    csrf = login_web(client, "xabato")
    bad = {**BANNER, "width_m": "-2", "installed_on": "2099-01-01", "csrf_token": csrf}
    response = client.post("/activities/visual-items", data=bad)
    assert response.status_code == 422
    width_error = re.search(r'data-testid="error-width_m">([^<]*)<', response.text)
    assert width_error and width_error.group(1) == "Rộng (m) phải lớn hơn 0: -2"
    assert 'data-testid="error-installed_on">Ngày 01/01/2099 ở tương lai' in response.text
    assert 'value="Cổng UBND xã Ba Tơ"' in response.text  # what was typed is kept
    assert _visual_count(session) == 0


def test_csv_import_lists_every_error_and_imports_nothing(
    client: TestClient, session: Session, tree: Tree
) -> None:
    csrf = login_web(client, "xabato")
    csv = (
        "Loại;Địa điểm;Rộng (m);Cao (m);Ngày lắp đặt;Mã địa bàn\n"
        "Băng rôn;Chợ Ba Tơ;0,8;6;02/01/2024;21484\n"
        "Pa nô;Ngã ba;-1;1,2;03/01/2024;21484\n"
        "Phướn;Trường học;0,6;2;31/02/2024;21490\n"
    ).encode()
    files = {"file": ("bang-ron.csv", csv, "text/csv")}
    response = client.post("/activities/visual-items/import", data={"csrf_token": csrf}, files=files)
    assert response.status_code == 422
    table = response.text.split('data-testid="import-errors"', 1)[1].split("</table>", 1)[0]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in table.split("<tr>")[2:]]
    assert ["3", "Rộng (m)", "Rộng (m) phải lớn hơn 0: -1", "-1"] in cells
    assert any(c[0] == "4" and c[1] == "Ngày lắp đặt" and "không tồn tại" in c[2] for c in cells)
    assert any(c[0] == "4" and c[1] == "Mã địa bàn" and "ngoài phạm vi" in c[2] for c in cells)
    assert "chưa nhập dòng nào" in response.text
    assert _visual_count(session) == 0

    good = csv.decode().splitlines()[:2]
    files = {"file": ("bang-ron.csv", "\n".join(good).encode("utf-8"), "text/csv")}
    done = client.post("/activities/visual-items/import", data={"csrf_token": csrf}, files=files)
    assert done.status_code == 200 and "Đã nhập 1 sản phẩm trực quan từ tệp «bang-ron.csv»" in done.text
    assert _visual_count(session) == 1


def test_export_follows_the_filters(client: TestClient, session: Session, tree: Tree) -> None:
    _add(session, "21484", "Chợ Ba Tơ", "2024-02-01", ("cchc",))
    _add(session, "2148401", "Nhà văn hóa thôn Làng Teng", "2025-02-01")
    login_web(client, "xabato")
    everything = client.get("/activities/visual-items/export.csv").content.decode("utf-8-sig")
    assert everything.splitlines()[0].startswith("Loại,Địa điểm,Rộng (m)")
    assert "Chợ Ba Tơ" in everything and "Làng Teng" in everything
    only_cchc = client.get("/activities/visual-items/export.csv?topic=cchc").content.decode("utf-8-sig")
    assert "Chợ Ba Tơ" in only_cchc and "Làng Teng" not in only_cchc
    page = client.get("/activities/visual-items?period=year&year=2025")
    assert 'data-testid="record-count">1 sản phẩm trực quan' in page.text and "Làng Teng" in page.text
    village = client.get("/activities/visual-items?area=2148401")
    assert "Chợ Ba Tơ" not in village.text and "Làng Teng" in village.text
    bad = client.get("/activities/visual-items?period=custom&start=2024-05-01&end=2024-01-01")
    assert bad.status_code == 200 and "Ngày kết thúc phải sau ngày bắt đầu" in bad.text


def test_a_commune_operator_sees_only_their_commune(client: TestClient, session: Session, tree: Tree) -> None:
    ours = _add(session, "21484", "Chợ Ba Tơ")
    theirs = _add(session, "21490", "Chợ Ba Vì")
    login_web(client, "xabato")
    page = client.get("/activities/visual-items")
    assert "Chợ Ba Tơ" in page.text and "Chợ Ba Vì" not in page.text
    assert client.get(f"/activities/visual-items/{ours}").status_code == 200
    hidden = client.get(f"/activities/visual-items/{theirs}")
    assert hidden.status_code == 404 and "Chợ Ba Vì" not in hidden.text
    assert "Chợ Ba Vì" not in client.get("/activities/visual-items/export.csv").text
    outside = client.get("/activities/visual-items?area=21490")
    assert "Không tìm thấy địa bàn mã “21490” trong phạm vi của bạn" in outside.text
    assert "Chợ Ba Vì" not in outside.text


def test_edit_and_delete(client: TestClient, session: Session, tree: Tree) -> None:
    item_id = _add(session, "21484", "Chợ Ba Tơ")
    csrf = login_web(client, "xabato")
    url = f"/activities/visual-items/{item_id}"
    form = client.get(url).text
    assert 'value="2024-03-01"' in form and 'value="0,8"' in form
    changed = {**BANNER, "quantity": "5", "csrf_token": csrf}
    assert client.post(url, data=changed, follow_redirects=False).status_code == 303
    session.expire_all()
    assert session.get(VisualItem, item_id).quantity == 5  # type: ignore[union-attr]
    wrong = client.post(url, data={**changed, "removed_on": "2024-01-01"})
    assert wrong.status_code == 422
    assert 'data-testid="error-removed_on">Ngày tháo dỡ phải sau ngày lắp đặt' in wrong.text
    blocked = client.post(f"/activities/visual-items/{item_id}/delete", data={"csrf_token": "sai"})
    assert blocked.status_code == 403 and _visual_count(session) == 1
    deleted = client.post(f"/activities/visual-items/{item_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 200 and "Đã xóa sản phẩm trực quan số" in deleted.text
    assert _visual_count(session) == 0


def test_a_viewer_reads_but_cannot_write(client: TestClient, session: Session, tree: Tree) -> None:
    _add(session, "21484", "Chợ Ba Tơ")
    csrf = login_web(client, "xem")
    page = client.get("/activities/visual-items")
    assert "Chợ Ba Tơ" in page.text and "Thêm sản phẩm trực quan" not in page.text
    refused = client.post("/activities/visual-items", data={**BANNER, "csrf_token": csrf})
    assert refused.status_code == 403 and _visual_count(session) == 1

"""The HTML pages of areas through the real login (session cookie, CSRF), on the imported country."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.auth import login_web

pytestmark = pytest.mark.usefixtures("people")

HTMX = {"HX-Request": "true"}


def test_browser_page_for_an_admin_lists_provinces(country_client: TestClient) -> None:
    login_web(country_client, "quantri")
    page = country_client.get("/areas")
    assert page.status_code == 200
    assert 'data-testid="area-tree"' in page.text
    assert "Tỉnh Quảng Ngãi" in page.text and "Thành phố Hà Nội" in page.text
    fragment = country_client.get("/areas/tree?parent=51", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'data-code="21484"' in fragment.text and "Xã Ba Tơ" in fragment.text


def test_search_fragment_and_full_page(country_client: TestClient) -> None:
    login_web(country_client, "quantri")
    for query in ("ba to", "Ba Tơ"):
        fragment = country_client.get("/areas/search", params={"q": query}, headers=HTMX)
        assert 'href="/areas/21484"' in fragment.text and "<html" not in fragment.text
        page = country_client.get("/areas", params={"q": query})
        assert 'href="/areas/21484"' in page.text and "<html" in page.text


def test_operator_sees_only_their_commune_and_elsewhere_is_not_found(
    country_client: TestClient,
) -> None:
    login_web(country_client, "bato")
    page = country_client.get("/areas")
    assert 'data-code="21484"' in page.text
    assert "Tỉnh Quảng Ngãi" not in page.text and 'data-code="51"' not in page.text
    unit = country_client.get("/areas/21484")
    assert unit.status_code == 200
    assert "Huyện Ba Tơ" in unit.text and "Thị trấn Ba Tơ (21484)" in unit.text
    assert 'data-testid="village-form"' in unit.text  # an operator manages their own commune
    assert "<span>Tỉnh Quảng Ngãi</span>" in unit.text  # breadcrumb, not a link
    refused = country_client.get("/areas/21523")  # answered like a code that names nothing
    assert refused.status_code == 404
    assert "text/html" in refused.headers["content-type"]
    assert "Không tìm thấy địa bàn mã “21523” trong phạm vi của bạn." in refused.text
    assert country_client.get("/areas/99999").status_code == 404


def test_viewer_sees_the_page_without_forms(country_client: TestClient) -> None:
    login_web(country_client, "xembato")
    unit = country_client.get("/areas/21484")
    assert unit.status_code == 200 and 'data-testid="village-form"' not in unit.text


def test_forms_add_village_station_and_reject_a_bad_csv(country_client: TestClient) -> None:
    token = login_web(country_client, "bato")
    added = country_client.post(
        "/areas/21484/villages",
        data={"csrf_token": token, "name": "Gò Da", "kind": "thôn"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = country_client.get("/areas/21484")
    assert "Đã thêm Thôn Gò Da." in page.text and "21484.001" in page.text

    station = country_client.post(
        "/areas/21484/stations",
        data={
            "csrf_token": token,
            "name": "Đài FM cũ",
            "technology": "fm",
            "latitude": "14,77",
            "longitude": "108.73",
        },
        follow_redirects=False,
    )
    assert station.status_code == 303
    assert "Vô tuyến (FM)" in country_client.get("/areas/21484").text

    bad_coordinate = country_client.post(
        "/areas/21484/stations",
        data={"csrf_token": token, "name": "Đài 2", "latitude": "abc", "longitude": "1"},
    )
    assert bad_coordinate.status_code == 422 and "Vĩ độ phải là số" in bad_coordinate.text

    csv = "ten,loai\nThôn 2,\nGò Da,thôn\n".encode()
    rejected = country_client.post(
        "/areas/21484/villages/csv", data={"csrf_token": token}, files={"file": ("thon.csv", csv, "text/csv")}
    )
    assert rejected.status_code == 422
    assert "chưa có dữ liệu nào được ghi" in rejected.text
    assert "Dòng 3, cột «ten»: «Thôn Gò Da» đã có trong Xã Ba Tơ." in rejected.text
    assert "Thôn 2" not in country_client.get("/areas/21484").text

    no_csrf = country_client.post("/areas/21484/villages", data={"name": "Thôn 9"})
    assert no_csrf.status_code == 403

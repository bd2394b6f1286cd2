"""The JSON API of areas with real users and tokens (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.auth import bearer

pytestmark = pytest.mark.usefixtures("people")


def test_listing_requires_authentication(country_client: TestClient) -> None:
    response = country_client.get("/api/v1/areas")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_admin_lists_provinces_and_children_of_quang_ngai(country_client: TestClient) -> None:
    headers = bearer(country_client, "quantri")
    top = country_client.get("/api/v1/areas", headers=headers).json()
    assert len(top) == 34
    quang_ngai = next(a for a in top if a["code"] == "51")
    assert (quang_ngai["name"], quang_ngai["kind"], quang_ngai["kind_label"]) == (
        "Quảng Ngãi",
        "province",
        "Tỉnh",
    )
    assert quang_ngai["display_name"] == "Tỉnh Quảng Ngãi" and quang_ngai["has_children"] is True
    hanoi = next(a for a in top if a["code"] == "01")
    assert (hanoi["kind"], hanoi["kind_label"]) == ("city", "Thành phố")
    children = country_client.get("/api/v1/areas", params={"parent": "51"}, headers=headers).json()
    assert len(children) == 96
    ba_to = next(a for a in children if a["code"] == "21484")
    assert ba_to == {
        "code": "21484",
        "name": "Xã Ba Tơ",
        "kind": "commune",
        "kind_label": "Xã",
        "display_name": "Xã Ba Tơ",
        "has_children": False,
        "valid_to": None,
    }
    with_history = country_client.get("/api/v1/areas?parent=51&history=true", headers=headers).json()
    assert any(a["code"] == "535" and a["kind"] == "district" for a in with_history)


def test_unknown_code_is_a_vietnamese_404_problem(country_client: TestClient) -> None:
    headers = bearer(country_client, "quantri")
    for url in ("/api/v1/areas/99999", "/api/v1/areas?parent=99999"):
        response = country_client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "Không tìm thấy địa bàn mã 99999."


def test_unit_detail_has_history(country_client: TestClient) -> None:
    headers = bearer(country_client, "bato")
    body = country_client.get("/api/v1/areas/21484", headers=headers).json()
    assert body["kind_label"] == "Xã" and body["path"] == "/51/21484/"
    assert body["parent"] == {"code": "51", "name": "Quảng Ngãi", "kind": "province"}
    assert body["former_district"]["code"] == "535"
    assert body["predecessors"][0]["code"] == "535"
    assert "Thị trấn Ba Tơ" in body["predecessors"][0]["note"]
    assert body["valid_from"] == "2025-07-01"


def test_search_with_and_without_diacritics(country_client: TestClient) -> None:
    headers = bearer(country_client, "quantri")
    for query in ("ba to", "Ba Tơ", "BA TO"):
        found = country_client.get("/api/v1/areas/search", params={"q": query}, headers=headers).json()
        assert "21484" in [a["code"] for a in found[:2]], query


def test_commune_operator_is_confined_to_their_commune(country_client: TestClient) -> None:
    headers = bearer(country_client, "bato")
    assert [a["code"] for a in country_client.get("/api/v1/areas", headers=headers).json()] == ["21484"]
    assert [a["code"] for a in country_client.get("/api/v1/areas?parent=51", headers=headers).json()] == [
        "21484"
    ]
    found = country_client.get("/api/v1/areas/search?q=ba", headers=headers).json()
    assert [a["code"] for a in found] == ["21484"]
    refused = country_client.get("/api/v1/areas/21523", headers=headers)  # like a code that names nothing
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["title"] == "Không tìm thấy địa bàn mã “21523” trong phạm vi của bạn."
    assert country_client.get("/api/v1/areas?parent=01", headers=headers).status_code == 404


def test_villages_and_stations_by_permission(country_client: TestClient) -> None:
    operator = bearer(country_client, "bato")
    viewer = bearer(country_client, "xembato")
    editor = bearer(country_client, "bientap")
    created = country_client.post(
        "/api/v1/areas/21484/villages", json={"name": "Gò Da", "kind": "thôn"}, headers=operator
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Thôn Gò Da" and created.json()["code"] == "21484.001"
    duplicate = country_client.post(
        "/api/v1/areas/21484/villages", json={"name": "Thôn Gò Da"}, headers=operator
    )
    assert duplicate.status_code == 409 and "đã có trong Xã Ba Tơ" in duplicate.json()["title"]
    for headers in (viewer, editor):  # may see Ba Tơ, may not manage it
        denied = country_client.post("/api/v1/areas/21484/villages", json={"name": "Thôn 5"}, headers=headers)
        assert denied.status_code == 403
    elsewhere = country_client.post("/api/v1/areas/21523/villages", json={"name": "Thôn 1"}, headers=operator)
    assert elsewhere.status_code == 404

    station = country_client.post(
        "/api/v1/areas/21484/stations",
        json={"name": "Đài FM Ba Tơ", "technology": "fm", "latitude": 14.77, "longitude": 108.73},
        headers=operator,
    )
    assert station.status_code == 201, station.text
    assert station.json()["technology_label"] == "Vô tuyến (FM)"
    second = country_client.post(
        "/api/v1/areas/21484/stations", json={"name": "Hệ thống IP", "technology": "ip"}, headers=operator
    )
    assert second.status_code == 201
    bad = country_client.post(
        "/api/v1/areas/21484/stations", json={"name": "", "technology": "x"}, headers=operator
    )
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["details"]} == {"name", "technology"}
    detail = country_client.get("/api/v1/areas/21484", headers=viewer).json()
    assert [s["name"] for s in detail["stations"]] == ["Đài FM Ba Tơ", "Hệ thống IP"]
    assert [v["name"] for v in detail["villages"]] == ["Thôn Gò Da"]


def test_village_csv_with_a_bad_row_writes_nothing(country_client: TestClient) -> None:
    headers = {**bearer(country_client, "bato"), "Content-Type": "text/csv"}
    bad = "ten,loai\nThôn 1,\nThôn 2,trại\n,thôn\n".encode()
    response = country_client.post("/api/v1/areas/21484/villages/csv", content=bad, headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Tệp có 2 dòng lỗi; chưa có dữ liệu nào được ghi."
    assert [(d["row"], d["field"]) for d in body["details"]] == [(3, "loai"), (4, "ten")]
    detail = country_client.get("/api/v1/areas/21484", headers=headers).json()
    assert detail["villages"] == []

    good = "ten,loai\nThôn 1,\nThôn 2,\n".encode()
    response = country_client.post("/api/v1/areas/21484/villages/csv", content=good, headers=headers)
    assert response.status_code == 201
    assert [a["name"] for a in response.json()] == ["Thôn 1", "Thôn 2"]

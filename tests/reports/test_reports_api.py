"""Reports over HTTP: parameters checked in Vietnamese, scope, listing, statistics, PDF unavailable."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.reports import pdf
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, make_user


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    session.commit()
    return tree


def _generate(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    payload = {"period": {"kind": "quarter", "year": 2024, "index": 1}, "issued_on": "2024-04-02", **body}
    response = client.post("/api/v1/reports", headers=headers, json=payload)
    return {"status": response.status_code, **response.json()}


def test_generate_list_and_download_within_scope(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    client.post(
        "/api/v1/activities/events",
        headers=headers,
        json={
            "kind": "hội nghị",
            "held_on": "2024-02-01",
            "title": "Hội nghị CCHC",
            "participants": 80,
            "area_code": "21484",
        },
    )
    report = _generate(client, headers, area_id=tree.new_x.id)
    assert report["status"] == 201
    assert report["title"] == "Báo cáo Kết quả công tác tuyên truyền quý I năm 2024"
    files = {f["format"]: f for f in report["files"]}  # type: ignore[attr-defined]
    assert set(files) == {"docx", "xlsx"} and len(files["docx"]["sha256"]) == 64
    download = client.get(files["docx"]["url"], headers=headers)
    assert download.status_code == 200 and download.headers["x-content-sha256"] == files["docx"]["sha256"]
    assert [r["id"] for r in client.get("/api/v1/reports", headers=headers).json()] == [report["id"]]
    detail = client.get(f"/api/v1/reports/{report['id']}", headers=headers).json()
    events = next(f for f in detail["figures"] if f["key"] == "events.conference")
    assert events["value"] == 1 and len(events["row_ids"]) == 1
    assert client.get(f"/api/v1/reports/{report['id']}/report.odt", headers=headers).status_code == 404


def test_bad_parameters_and_scope(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    outside = _generate(client, headers, area_id=tree.district.id)
    assert outside["status"] == 404
    bad_period = _generate(
        client, headers, area_id=tree.new_x.id, period={"kind": "quarter", "year": 2024, "index": 7}
    )
    assert bad_period["status"] == 422 and bad_period["title"] == "Quý phải từ 1 đến 4."
    bad_topic = _generate(client, headers, area_id=tree.new_x.id, topic_code="khong-co")
    assert bad_topic["status"] == 404 and "chủ đề" in str(bad_topic["title"])
    bad_prose = _generate(client, headers, area_id=tree.new_x.id, prose={"loi_ich": "x"})
    assert bad_prose["status"] == 422


def test_pdf_unavailable_is_explained(
    client: TestClient, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = bearer(client, "xabato")
    report = _generate(client, headers, area_id=tree.new_x.id)
    monkeypatch.setattr(pdf, "office_binary", lambda: None)  # a server without LibreOffice
    response = client.get(f"/api/v1/reports/{report['id']}/report.pdf", headers=headers)
    assert response.status_code == 503
    assert response.json()["title"].startswith("Máy chủ chưa cài LibreOffice nên chưa xuất được PDF.")


def test_statistics_with_breakdown(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    client.post(
        "/api/v1/activities/portal-posts",
        headers=headers,
        json={"kind": "ảnh", "count": 12, "posted_on": "2024-03-01", "area_code": "2148401"},
    )
    response = client.get(
        "/api/v1/reports/statistics",
        headers=headers,
        params={"area_id": tree.new_x.id, "kind": "year", "year": 2024, "level": "commune"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    photos = next(f for f in body["figures"] if f["key"] == "portal.photo")
    assert photos["value"] == 12 and len(photos["row_ids"]) == 1
    assert (
        body["areas"][0]["label"] == "Xã Ba Tơ" and body["areas"][0]["figures"]["portal.photo"]["value"] == 12
    )

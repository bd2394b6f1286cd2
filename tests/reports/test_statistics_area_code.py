"""The statistics and report routes name an area by its code, like every other route; the internal id
still works for older clients."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, make_user


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    session.commit()
    return tree


def test_statistics_by_area_code(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    client.post(
        "/api/v1/activities/portal-posts",
        headers=headers,
        json={"kind": "ảnh", "count": 7, "posted_on": "2024-03-01", "area_code": "21484"},
    )
    query = {"kind": "year", "year": 2024}
    by_code = client.get("/api/v1/reports/statistics", headers=headers, params={"area": "21484", **query})
    assert by_code.status_code == 200, by_code.text
    assert by_code.json()["area"]["code"] == "21484"
    photos = next(f for f in by_code.json()["figures"] if f["key"] == "portal.photo")
    assert photos["value"] == 7
    by_id = client.get(
        "/api/v1/reports/statistics", headers=headers, params={"area_id": tree.new_x.id, **query}
    )
    assert by_id.json()["figures"] == by_code.json()["figures"]

    unknown = client.get("/api/v1/reports/statistics", headers=headers, params={"area": "99999", **query})
    assert unknown.status_code == 404 and unknown.json()["title"] == "Không tìm thấy địa bàn mã 99999."
    missing = client.get("/api/v1/reports/statistics", headers=headers, params=query)
    assert missing.status_code == 422 and "Thiếu địa bàn" in missing.json()["title"]
    other = client.get("/api/v1/reports/statistics", headers=headers, params={"area": "21490", **query})
    same = client.get(
        "/api/v1/reports/statistics", headers=headers, params={"area_id": tree.new_y.id, **query}
    )
    assert other.status_code == same.status_code >= 400  # another commune: refused alike
    assert other.json()["title"] == same.json()["title"]


def test_a_report_is_generated_for_an_area_code(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    made = client.post(
        "/api/v1/reports",
        headers=headers,
        json={
            "period": {"kind": "quarter", "year": 2024, "index": 1},
            "issued_on": "2024-04-02",
            "area": "21484",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["area_id"] == tree.new_x.id

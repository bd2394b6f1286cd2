"""Issue 20.9: the odd inputs a fuzzer found answered with a server error. Each is now a clear 4xx with a
Vietnamese message, on both databases: ids beyond the database's 64-bit integers (in paths, queries
and bodies), lone surrogates in text that is stored, ``null`` where a list is expected."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, login_web, make_user

HUGE = 2**63  # one past the largest BIGINT
JSON = {"content-type": "application/json"}


@pytest.fixture
def admin(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "quantri", Role.ADMIN)
    session.commit()
    return tree


def _refused_in_vietnamese(response: object, *statuses: int) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status in statuses, (status, response.text)  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert problem["status"] == status
    assert any(ch in problem["title"] for ch in "ịợạốữ"), problem["title"]  # Vietnamese words


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/bulletins/{HUGE}",
        f"/api/v1/bulletins/{HUGE}/revisions",
        f"/api/v1/reports/{HUGE}",
        f"/api/v1/programmes/{HUGE}/slots",
        f"/api/v1/stations/{HUGE}/schedule.ics",
        f"/api/v1/bulletins/{-HUGE - 1}",
        f"/api/v1/bulletins/1/diff?from={HUGE}",
    ],
)
def test_ids_beyond_64_bits_in_paths_and_queries(client: TestClient, admin: Tree, path: str) -> None:
    response = client.get(path, headers=bearer(client, "quantri"))
    _refused_in_vietnamese(response, 404, 422)


def test_ids_beyond_64_bits_in_bodies(client: TestClient, admin: Tree) -> None:
    headers = {**bearer(client, "quantri"), **JSON}
    event = {"kind": "hội nghị", "held_on": "2024-02-01", "title": "Hội nghị", "participants": 8}
    response = client.post("/api/v1/activities/events", headers=headers, json={**event, "area_id": HUGE})
    _refused_in_vietnamese(response, 404, 422)
    response = client.put(f"/api/v1/programmes/{HUGE}/running-order", headers=headers, json={"items": []})
    _refused_in_vietnamese(response, 404, 422)


def test_a_page_with_a_huge_id_is_an_error_page(client: TestClient, admin: Tree) -> None:
    login_web(client, "quantri")
    page = client.get(f"/bulletins/{HUGE}")
    assert page.status_code == 422 and "vượt quá giới hạn" in page.text and "<html" in page.text


@pytest.mark.parametrize("text", ["\ud800", "Hội nghị \udc00", "\udbff\udfff\udfff"])
def test_lone_surrogates_in_stored_text_are_refused(client: TestClient, admin: Tree, text: str) -> None:
    headers = {**bearer(client, "quantri"), **JSON}
    event = {
        "kind": "hội nghị",
        "held_on": "2024-02-01",
        "title": text,
        "participants": 8,
        "area_code": "21484",
    }
    body = json.dumps(event)  # ASCII escapes: "\ud800", as a client sends it
    response = client.post("/api/v1/activities/events", headers=headers, content=body)
    _refused_in_vietnamese(response, 422)
    assert "Tên sự kiện" in response.json()["title"]  # the field is named
    bulletin = json.dumps({"title": text, "kind": "news", "body": "x", "area_code": "21484"})
    _refused_in_vietnamese(client.post("/api/v1/bulletins", headers=headers, content=bulletin), 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/bulletins", {"title": "Tin", "kind": "news", "body": "x", "topics": None}),
        ("PUT", "/api/v1/programmes/1/running-order", {"items": None}),
        ("POST", "/api/v1/activities/events", {"kind": None, "title": None, "topics": None}),
    ],
)
def test_null_where_a_list_or_text_is_expected(
    client: TestClient, admin: Tree, method: str, path: str, body: dict[str, object]
) -> None:
    headers = {**bearer(client, "quantri"), **JSON}
    _refused_in_vietnamese(client.request(method, path, headers=headers, json=body), 404, 422)

"""Small routes a person or a tool looks for: the icon, the API schema's short address."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_favicon_and_openapi_short_address(client: TestClient) -> None:
    icon = client.get("/favicon.ico", follow_redirects=False)
    assert icon.status_code == 301 and icon.headers["location"] == "/static/favicon.svg"
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    schema = client.get("/openapi.json", follow_redirects=True)
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Loa API"
    assert "/api/v1/reports/statistics" in schema.json()["paths"]

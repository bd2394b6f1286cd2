from fastapi.testclient import TestClient


def test_healthz_reports_ok_after_touching_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_api_route_is_a_vietnamese_problem(client: TestClient) -> None:
    response = client.get("/api/v1/khong-co")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Không tìm thấy trang hoặc dữ liệu yêu cầu."

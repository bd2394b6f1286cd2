"""The JSON API of accounts through the real app (TestClient), on every database backend."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.models import ApiToken, AuditEvent, LoginAttempt
from loa.accounts.principal import Role
from loa.db.base import utcnow
from loa.settings import Settings
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, bearer, login_web, make_user

PROBLEM = "application/problem+json"


def _count(session: Session, model: type[object]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_token_flow(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code, display_name="Phạm Thị Lan")
    session.commit()
    response = client.post("/api/v1/auth/token", json={"username": "CanBo", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("loa_")
    assert body["expires_at"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["display_name"] == "Phạm Thị Lan"
    assert me.json()["role_label"] == "Cán bộ vận hành đài xã"
    assert me.json()["areas"] == [
        {"id": units.commune.id, "code": "21484", "name": "Xã Ba Tơ", "path": "/51/21484/"}
    ]
    assert "broadcast" in me.json()["permissions"] and "manage_users" not in me.json()["permissions"]
    session.expire_all()
    assert session.scalars(select(ApiToken)).one().last_used_at is not None
    # Signing out of the API client revokes exactly this token.
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_no_credentials_is_a_vietnamese_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn."


def test_wrong_password_is_401_in_vietnamese_and_audited(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    response = client.post("/api/v1/auth/token", json={"username": "canbo", "password": "sai-mat-khau-roi"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["title"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert _actions(session) == ["user.create", "auth.login_failed"]
    assert _count(session, ApiToken) == 0


def test_throttling_after_repeated_failures(
    client: TestClient, session: Session, units: Units, settings: Settings
) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    wrong = {"username": "canbo", "password": "sai-mat-khau-roi"}
    for _ in range(settings.login_max_failures):
        assert client.post("/api/v1/auth/token", json=wrong).status_code == 401
    attempts, events = _count(session, LoginAttempt), _count(session, AuditEvent)
    response = client.post("/api/v1/auth/token", json={"username": "canbo", "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["title"].startswith("Đăng nhập sai quá nhiều lần.")
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= settings.login_window_s
    # Nothing else was written: no token, no attempt, no audit event.
    assert _count(session, ApiToken) == 0
    assert (_count(session, LoginAttempt), _count(session, AuditEvent)) == (attempts, events)


def test_malformed_json_to_the_token_endpoint(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token", content=b'{"username": "a",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["title"] == "Nội dung JSON không hợp lệ."


def test_commune_operator_token_on_admin_route_is_403(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    headers = bearer(client, "canbo")
    for response in (
        client.get("/api/v1/users", headers=headers),
        client.post(
            "/api/v1/users", headers=headers, json={"username": "x1", "password": "p", "role": "viewer"}
        ),
        client.get("/api/v1/audit", headers=headers),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "Cán bộ vận hành đài xã" in response.json()["title"]


def test_expired_and_revoked_tokens_are_401(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    expired, revoked = bearer(client, "canbo"), bearer(client, "canbo")
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    rows[0].expires_at = utcnow() - timedelta(seconds=1)
    rows[1].revoked_at = utcnow()
    session.commit()
    for headers in (
        expired,
        revoked,
        {"Authorization": "Bearer loa_not-a-token"},
        {"Authorization": "Basic x"},
    ):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
    assert "hết hạn" in client.get("/api/v1/me", headers=expired).json()["title"]


def test_admin_creates_and_changes_users_with_audit(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "admin", Role.ADMIN)
    session.commit()
    headers = bearer(client, "admin")
    created = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "lanhdao",
            "password": DEFAULT_PASSWORD,
            "role": "approver",
            "areas": ["51"],
            "display_name": "Trần Văn Bình",
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["areas"] == ["51"]
    changed = client.patch(f"/api/v1/users/{user_id}", headers=headers, json={"role": "province_editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "province_editor"
    assert changed.json()["areas"] == ["51"]
    bad = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "op2",
            "password": DEFAULT_PASSWORD,
            "role": "commune_operator",
            "areas": ["00000"],
        },
    )
    assert bad.status_code == 404 and bad.json()["title"] == "Không tìm thấy địa bàn mã 00000."
    listed = client.get("/api/v1/users", headers=headers).json()
    assert [u["username"] for u in listed] == ["admin", "lanhdao"]
    assert _actions(session) == ["user.create", "auth.login", "user.create", "user.role_change"]
    log = client.get("/api/v1/audit", headers=headers, params={"action": "user.", "per_page": 2}).json()
    assert log["total"] == 3 and len(log["items"]) == 2
    assert log["items"][0]["action_label"] == "Đổi vai trò / địa bàn"


def test_session_cookie_api_calls_need_csrf_for_writes(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "admin", Role.ADMIN)
    session.commit()
    fresh = login_web(client, "admin")
    assert client.get("/api/v1/me").status_code == 200  # the cookie alone is enough to read
    body = {"username": "viewer1", "password": DEFAULT_PASSWORD, "role": "viewer", "areas": ["51"]}
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403 and "CSRF" not in refused.json()["title"]
    assert refused.json()["code"] == "csrf_failed"
    assert client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": fresh}).status_code == 201

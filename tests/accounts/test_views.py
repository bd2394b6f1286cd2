"""The HTML pages of accounts through the real app: login, logout, dashboard, users, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import service
from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Role
from loa.settings import Settings
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, csrf_token, login_web, make_user


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_pages_redirect_to_login_with_a_next_path(client: TestClient) -> None:
    response = client.get("/users?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/users%3Fx%3D1"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    htmx = client.get("/audit", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["hx-redirect"] == "/login?next=/audit"


def test_login_then_dashboard_then_logout(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code, display_name="Phạm Thị Lan")
    session.commit()
    page = client.get("/login?next=/users")
    assert "Đăng nhập" in page.text and 'name="next" value="/users"' in page.text
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": "canbo",
            "password": DEFAULT_PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "loa_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    home = client.get("/")
    assert home.status_code == 200
    assert "Phạm Thị Lan" in home.text and "Cán bộ vận hành đài xã · Xã Ba Tơ" in home.text
    new_token = csrf_token(client, "/")
    assert new_token != token  # regenerated at login
    out = client.post("/logout", data={"csrf_token": new_token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "Bạn đã đăng xuất." in client.get("/login").text
    assert client.get("/", follow_redirects=False).status_code == 303
    assert _actions(session)[-2:] == ["auth.login", "auth.logout"]


def test_wrong_password_shows_a_vietnamese_error(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    response = client.post(
        "/login", data={"username": "canbo", "password": "sai-mat-khau-roi", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.text
    assert 'value="canbo"' in response.text  # the username is kept
    assert _actions(session)[-1] == "auth.login_failed"


def test_throttled_login_form(client: TestClient, session: Session, units: Units, settings: Settings) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    for _ in range(settings.login_max_failures):
        client.post(
            "/login", data={"username": "canbo", "password": "sai-mat-khau", "csrf_token": csrf_token(client)}
        )
    response = client.post(
        "/login", data={"username": "canbo", "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "Đăng nhập sai quá nhiều lần" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303  # still signed out


def test_login_without_csrf_asks_to_sign_in_again(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    response = client.post("/login", data={"username": "canbo", "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    assert "Phiên làm việc đã hết hạn" in response.text
    assert _actions(session) == ["user.create"]  # the password was not even checked


def test_form_post_without_csrf_is_refused(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "admin", Role.ADMIN)
    session.commit()
    login_web(client, "admin")
    for path, data in (
        ("/logout", {}),
        ("/users", {"username": "moi", "password": DEFAULT_PASSWORD, "role": "viewer", "areas": "51"}),
        ("/users", {"username": "moi", "password": DEFAULT_PASSWORD, "role": "viewer", "csrf_token": "gia"}),
    ):
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ" in response.text
    assert service.find_user(session, "moi") is None
    assert client.get("/").status_code == 200  # still signed in


def test_admin_manages_users_through_forms(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "admin", Role.ADMIN, display_name="Quản trị viên")
    session.commit()
    token = login_web(client, "admin")
    bad = client.post(
        "/users",
        data={
            "username": "canbo",
            "password": DEFAULT_PASSWORD,
            "role": "commune_operator",
            "areas": "51",
            "csrf_token": token,
            "display_name": "Phạm Thị Lan",
        },
    )
    assert bad.status_code == 422 and "«Tỉnh Quảng Ngãi» không phù hợp" in bad.text
    assert 'value="Phạm Thị Lan"' in bad.text
    created = client.post(
        "/users",
        data={
            "username": "canbo",
            "password": DEFAULT_PASSWORD,
            "role": "commune_operator",
            "areas": "21484, 21025",
            "csrf_token": token,
            "display_name": "Phạm Thị Lan",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    listing = client.get("/users")
    assert "Đã tạo người dùng «canbo»." in listing.text
    assert "Xã Ba Tơ" in listing.text and "Phường Cẩm Thành" in listing.text
    user = service.get_user_by_username(session, "canbo")
    moved = client.post(f"/users/{user.id}/role", data={"role": "viewer", "areas": "01", "csrf_token": token})
    assert moved.status_code == 200 and "Đã cập nhật vai trò và địa bàn." in moved.text
    locked = client.post(f"/users/{user.id}/active", data={"active": "0", "csrf_token": token})
    assert "Đã khóa tài khoản." in locked.text
    session.expire_all()
    user = session.get(User, user.id) or user
    assert user.role is Role.VIEWER and not user.active
    assert _actions(session)[-3:] == ["user.create", "user.role_change", "user.deactivate"]
    audit_page = client.get("/audit?action=user.")
    assert audit_page.status_code == 200
    for label in ("Tạo người dùng", "Đổi vai trò / địa bàn", "Khóa tài khoản"):
        assert label in audit_page.text


def test_non_admin_gets_a_vietnamese_403_page(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    login_web(client, "canbo")
    for path in ("/users", "/audit"):
        response = client.get(path)
        assert response.status_code == 403
        assert "không có quyền" in response.text and "<!doctype html>" in response.text


def test_the_menu_offers_only_pages_the_role_may_open(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "admin", Role.ADMIN)
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    login_web(client, "canbo")
    menu = client.get("/").text.split('aria-label="Điều hướng chính"')[1].split("</nav>")[0]
    assert 'href="/fleet"' in menu and 'href="/bulletins"' in menu
    assert 'href="/users"' not in menu and 'href="/audit"' not in menu  # both would answer 403
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_web(client, "admin")
    menu = client.get("/").text.split('aria-label="Điều hướng chính"')[1].split("</nav>")[0]
    assert 'href="/users"' in menu and 'href="/audit"' in menu


def test_role_change_ends_the_users_web_session(client: TestClient, session: Session, units: Units) -> None:
    user = make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    login_web(client, "canbo")
    assert client.get("/").status_code == 200
    service.change_role(session, user=user, role=Role.VIEWER, area_codes=["51"])
    session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_page_redirects_when_already_signed_in(
    client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    login_web(client, "canbo")
    response = client.get("/login?next=/areas", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/areas"


def test_user_changes_own_password(client: TestClient, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    token = login_web(client, "canbo")
    other_browser = TestClient(client.app)
    login_web(other_browser, "canbo")
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "khong-dung-dau",
            "new_password": "mat-khau-moi-456",
            "confirm_password": "mat-khau-moi-456",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng." in wrong.text
    mismatch = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "mat-khau-moi-456",
            "confirm_password": "mat-khau-moi-789",
            "csrf_token": token,
        },
    )
    assert "không khớp" in mismatch.text
    done = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "mat-khau-moi-456",
            "confirm_password": "mat-khau-moi-456",
            "csrf_token": token,
        },
    )
    assert done.status_code == 200 and "Đã đổi mật khẩu." in done.text
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other_browser.get("/", follow_redirects=False).status_code == 303  # the other one does not
    assert _actions(session)[-1] == "user.password_change"

"""Signing out ends the session on the server (issue 20, point 5): a copied session cookie stops
working after logout, a password change, deactivation, or an administrator's "sign out everywhere";
so do bearer tokens where the same events apply. Over HTTP, on the real databases."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import service
from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Role
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, bearer, login_web, make_user

NEW_PASSWORD = "một-mật-khẩu-mới-khác-hẳn"


def signed_in_copy(app: FastAPI, client: TestClient, username: str) -> TestClient:
    """A second browser holding a copy of ``client``'s session cookie (what a thief would have)."""
    thief = TestClient(app)
    thief.cookies.set("loa_session", client.cookies["loa_session"])
    return thief


def is_signed_in(client: TestClient) -> bool:
    response = client.get("/", follow_redirects=False)
    return response.status_code == 200


def test_a_copied_cookie_stops_working_at_logout(
    app: FastAPI, client: TestClient, session: Session, units: Units
) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    csrf = login_web(client, "canbo")
    thief = signed_in_copy(app, client, "canbo")
    assert is_signed_in(thief)
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert not is_signed_in(thief)
    assert thief.get("/api/v1/me").status_code == 401
    assert not is_signed_in(client)


def test_logout_ends_only_that_session(app: FastAPI, session: Session, units: Units) -> None:
    make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    office, home = TestClient(app), TestClient(app)
    csrf = login_web(office, "canbo")
    login_web(home, "canbo")
    office.post("/logout", data={"csrf_token": csrf})
    assert is_signed_in(home) and not is_signed_in(office)


def test_password_change_and_deactivation_end_sessions_and_tokens(
    app: FastAPI, client: TestClient, session: Session, units: Units
) -> None:
    admin = make_user(session, "quantri", Role.ADMIN)
    user = make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    login_web(client, "canbo")
    thief = signed_in_copy(app, client, "canbo")
    token = bearer(client, "canbo")
    actor = service.Actor(principal=service.principal_for(session, admin))
    service.set_password(session, user=user, password=NEW_PASSWORD, actor=actor)
    session.commit()
    assert not is_signed_in(thief) and not is_signed_in(client)
    assert client.get("/api/v1/me", headers=token).status_code == 401

    other = TestClient(app)
    login_web(other, "canbo", NEW_PASSWORD)
    token = bearer(other, "canbo", NEW_PASSWORD)
    service.set_active(session, user=user, active=False, actor=actor)
    session.commit()
    assert not is_signed_in(other)
    assert other.get("/api/v1/me", headers=token).status_code == 401


def _signed_in_operator(
    app: FastAPI, session: Session, units: Units
) -> tuple[User, TestClient, dict[str, str]]:
    """An administrator "quantri", and "canbo" signed in on the web and holding an API token."""
    make_user(session, "quantri", Role.ADMIN)
    user = make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    victim = TestClient(app)
    login_web(victim, "canbo")
    return user, victim, bearer(victim, "canbo")


def test_an_administrator_signs_a_user_out_everywhere(
    app: FastAPI, client: TestClient, session: Session, units: Units
) -> None:
    user, victim, token = _signed_in_operator(app, session, units)
    thief = signed_in_copy(app, victim, "canbo")
    csrf = login_web(client, "quantri")
    response = client.post(
        f"/users/{user.id}/sessions/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "Đã đăng xuất" in client.get(response.headers["location"]).text
    assert not is_signed_in(thief) and not is_signed_in(victim)
    assert victim.get("/api/v1/me", headers=token).status_code == 401
    assert is_signed_in(client)  # the administrator's own session is untouched
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(user.id))).all()
    assert "user.sessions_revoke" in actions
    login_web(victim, "canbo", DEFAULT_PASSWORD)  # the password still works: only sessions ended


def test_sign_out_everywhere_through_the_api(
    app: FastAPI, client: TestClient, session: Session, units: Units
) -> None:
    user, victim, token = _signed_in_operator(app, session, units)
    admin = bearer(client, "quantri")
    assert client.post(f"/api/v1/users/{user.id}/sessions/revoke", headers=token).status_code == 403
    assert client.post(f"/api/v1/users/{user.id}/sessions/revoke", headers=admin).status_code == 204
    assert not is_signed_in(victim)
    assert client.get("/api/v1/me", headers=token).status_code == 401

"""Service tests on the real databases (SQLite and, when configured, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts import audit, service
from loa.accounts.auth import (
    LoginPolicy,
    LoginThrottled,
    authenticate,
    issue_token,
    resolve_token,
    revoke_token,
)
from loa.accounts.demo import seed_demo_users
from loa.accounts.models import ApiToken, AuditEvent, LoginAttempt, User
from loa.accounts.principal import Role
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, make_user

POLICY = LoginPolicy(max_failures=3, window_s=900)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_create_user_scopes_and_principal(session: Session, units: Units) -> None:
    user = make_user(
        session,
        "CanBo.BaTo",
        Role.COMMUNE_OPERATOR,
        display_name="Đinh Văn Hùng",
        area_codes=(units.commune.code, units.ward.code),
    )
    session.commit()
    assert user.username == "canbo.bato"
    principal = service.principal_for(session, user)
    assert principal.scope_paths == ("/51/21025/", "/51/21484/")
    assert principal.scope_label == "Phường Cẩm Thành, Xã Ba Tơ"
    assert principal.can_access_path("/51/21484/123/")
    assert not principal.can_access_path("/51/")
    assert not principal.can_access_path("/01/00004/")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.details["areas"] == ["21484", "21025"]
    assert event.area_id == units.commune.id


def test_usernames_are_unique_ignoring_case(session: Session, units: Units) -> None:
    make_user(session, "admin", Role.ADMIN)
    with pytest.raises(Conflict, match="«admin» đã tồn tại"):
        make_user(session, "ADMIN", Role.ADMIN)


def test_unknown_area_code_is_named(session: Session, units: Units) -> None:
    with pytest.raises(NotFound, match="Không tìm thấy địa bàn mã 99999"):
        make_user(session, "op", Role.COMMUNE_OPERATOR, "99999")


def test_commune_operator_cannot_be_scoped_to_a_province(session: Session, units: Units) -> None:
    with pytest.raises(InvalidInput, match="«Tỉnh Quảng Ngãi» không phù hợp"):
        make_user(session, "op", Role.COMMUNE_OPERATOR, units.province.code)
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_abolished_unit_is_refused(session: Session, units: Units) -> None:
    with pytest.raises(InvalidInput, match="đã hết hiệu lực từ 01/07/2025"):
        make_user(session, "viewer", Role.VIEWER, units.old_district.code)


def test_change_role_is_audited_and_ends_sessions(session: Session, units: Units) -> None:
    admin = make_user(session, "admin", Role.ADMIN)
    user = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    actor = service.Actor(principal=service.principal_for(session, admin), ip="10.0.0.5")
    version = user.session_version
    service.change_role(session, user=user, role=Role.APPROVER, area_codes=["51"], actor=actor)
    session.commit()
    assert user.role is Role.APPROVER
    assert user.session_version == version + 1
    assert service.principal_for(session, user).scope_paths == ("/51/",)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.role_change")).one()
    assert event.actor_user_id == admin.id
    assert event.ip == "10.0.0.5"
    assert event.details["before"] == {"role": "commune_operator", "areas": ["21484"]}
    assert event.details["after"] == {"role": "approver", "areas": ["51"]}


def test_non_admin_cannot_manage_users(session: Session, units: Units) -> None:
    op = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    actor = service.Actor(principal=service.principal_for(session, op))
    with pytest.raises(PermissionDenied, match="Cán bộ vận hành đài xã"):
        service.create_user(
            session,
            username="x1234",
            password=DEFAULT_PASSWORD,
            role=Role.VIEWER,
            area_codes=["21484"],
            actor=actor,
        )


def test_last_active_admin_cannot_be_locked_or_demoted(session: Session, units: Units) -> None:
    admin = make_user(session, "admin", Role.ADMIN)
    with pytest.raises(Conflict, match="quản trị viên cuối cùng"):
        service.set_active(session, user=admin, active=False)
    with pytest.raises(Conflict, match="quản trị viên cuối cùng"):
        service.change_role(session, user=admin, role=Role.VIEWER, area_codes=["51"])
    second = make_user(session, "admin2", Role.ADMIN)
    actor = service.Actor(principal=service.principal_for(session, second))
    service.set_active(session, user=admin, active=False, actor=actor)
    assert not admin.active
    with pytest.raises(Conflict, match="tự khóa"):
        service.set_active(session, user=second, active=False, actor=actor)


def test_authenticate_success_and_failure_are_recorded(session: Session, units: Units) -> None:
    user = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    session.commit()
    assert (
        authenticate(session, username="OP", password=DEFAULT_PASSWORD, ip="1.2.3.4", policy=POLICY) is user
    )
    with pytest.raises(AuthenticationFailed, match="Tên đăng nhập hoặc mật khẩu không đúng"):
        authenticate(session, username="op", password="sai-mat-khau", ip="1.2.3.4", policy=POLICY)
    with pytest.raises(AuthenticationFailed, match="Tên đăng nhập hoặc mật khẩu không đúng"):
        authenticate(session, username="khong-co", password="sai-mat-khau", ip="1.2.3.4", policy=POLICY)
    assert _actions(session) == ["user.create", "auth.login", "auth.login_failed", "auth.login_failed"]
    assert user.last_login_at is not None


def test_throttle_from_one_address_refuses_the_next_try_and_writes_nothing(
    session: Session, units: Units
) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    for _ in range(POLICY.max_failures):
        with pytest.raises(AuthenticationFailed):
            authenticate(session, username="op", password="sai-mat-khau", ip="1.2.3.4", policy=POLICY)
    attempts = session.scalar(select(func.count()).select_from(LoginAttempt))
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(LoginThrottled) as err:
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="1.2.3.4", policy=POLICY)
    assert "Đăng nhập sai quá nhiều lần" in err.value.message
    assert 0 < err.value.retry_after_s <= POLICY.max_delay_s
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == attempts
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_failures_older_than_the_window_do_not_count(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    old = utcnow() - timedelta(seconds=POLICY.window_s + 5)
    session.add_all(LoginAttempt(username="op", ip="1.2.3.4", at=old, success=False) for _ in range(10))
    session.flush()
    authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="1.2.3.4", policy=POLICY)


def test_attempts_older_than_a_day_are_pruned_by_the_next_login(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    now = utcnow()
    stale = now - timedelta(days=1, minutes=1)
    recent = now - timedelta(hours=2)  # outside the window, but kept for a day
    session.add_all(LoginAttempt(username="x", ip="9.9.9.9", at=stale, success=False) for _ in range(50))
    session.add(LoginAttempt(username="y", ip="9.9.9.9", at=recent, success=False))
    session.flush()
    with pytest.raises(AuthenticationFailed):
        authenticate(session, username="op", password="sai-mat-khau", ip="1.2.3.4", policy=POLICY)
    kept = session.scalars(select(LoginAttempt.username).order_by(LoginAttempt.at)).all()
    assert kept == ["y", "op"]


def test_inactive_user_cannot_sign_in(session: Session, units: Units) -> None:
    make_user(session, "admin", Role.ADMIN)
    user = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    service.set_active(session, user=user, active=False)
    with pytest.raises(AuthenticationFailed, match="Tài khoản đã bị khóa"):
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="1.2.3.4", policy=POLICY)


def test_tokens_store_only_a_hash_and_expire_and_revoke(session: Session, units: Units) -> None:
    user = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    issued = issue_token(session, user=user, ttl_s=60)
    session.commit()
    stored = session.scalars(select(ApiToken)).one()
    assert issued.token not in stored.token_sha256 and len(stored.token_sha256) == 64
    assert resolve_token(session, issued.token)[0] is user
    with pytest.raises(AuthenticationFailed):
        resolve_token(session, issued.token + "x")
    stored.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(AuthenticationFailed, match="hết hạn"):
        resolve_token(session, issued.token)
    second = issue_token(session, user=user, ttl_s=60)
    assert revoke_token(session, token=second.token)
    assert not revoke_token(session, token=second.token)
    with pytest.raises(AuthenticationFailed):
        resolve_token(session, second.token)


def test_password_change_revokes_tokens(session: Session, units: Units) -> None:
    user = make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    issued = issue_token(session, user=user, ttl_s=60)
    service.set_password(session, user=user, password="mat-khau-moi-rat-dai")
    with pytest.raises(AuthenticationFailed):
        resolve_token(session, issued.token)
    assert (
        authenticate(session, username="op", password="mat-khau-moi-rat-dai", ip="x", policy=POLICY) is user
    )


def test_audit_is_scoped_filtered_and_paginated(session: Session, units: Units) -> None:
    admin = make_user(session, "admin", Role.ADMIN)
    approver = make_user(session, "lanhdao", Role.APPROVER, units.province.code)
    for i in range(7):
        audit.record(
            session, action="bulletin.approve", actor_name="x", target_id=i, area_id=units.commune.id
        )
    audit.record(session, action="bulletin.approve", actor_name="y", area_id=units.other_commune.id)
    session.commit()
    as_admin = service.principal_for(session, admin)
    as_approver = service.principal_for(session, approver)
    everything = audit.query(session, principal=as_admin, action="bulletin.approve")
    assert everything.total == 8
    scoped = audit.query(session, principal=as_approver, action="bulletin.approve", per_page=3, page=3)
    assert scoped.total == 7 and scoped.pages == 3
    assert [e.target_id for e in scoped.events] == ["0"]
    assert audit.query(session, principal=as_admin, action="user.").total == 2
    # Of the user events the approver sees only those in their areas: their own creation, not the admin's.
    assert audit.query(session, principal=as_approver, action="user.").total == 1  # lanhdao's, area 51
    later = audit.query(session, principal=as_admin, since=utcnow() + timedelta(minutes=1))
    assert later.total == 0


def test_audit_rows_cannot_be_changed_through_the_orm(session: Session) -> None:
    event = audit.record(session, action="user.create", actor_name="x")
    session.commit()
    event.action = "user.delete"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()


def test_demo_users_are_created_once(session: Session, units: Units) -> None:
    lines = seed_demo_users(session)
    names = ["admin", "bientap.quangngai", "lanhdao.quangngai", "canbo.bato", "xem.bato"]
    assert lines[0].startswith("Tài khoản mẫu")
    printed = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert list(printed) == names
    assert len(set(printed.values())) == len(names), "each demo user gets its own random password"
    assert seed_demo_users(session) == []
    operator = service.get_user_by_username(session, "canbo.bato")
    assert service.principal_for(session, operator).scope_label == "Xã Ba Tơ"
    assert (
        authenticate(session, username="admin", password=printed["admin"], ip="x", policy=POLICY).role
        is Role.ADMIN
    )


def test_every_audited_action_in_the_code_has_a_vietnamese_label() -> None:
    """Actions written anywhere in src/ must be labelled for the audit page (no raw codes shown)."""
    import re
    from pathlib import Path

    from loa.accounts.audit import ACTION_LABELS
    from loa.content.workflow import TRANSITIONS

    src = Path(__file__).resolve().parents[2] / "src" / "loa"
    written = set()
    for path in src.rglob("*.py"):
        written.update(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    written.update(t.audit_action for t in TRANSITIONS.values())
    missing = sorted(a for a in written if a not in ACTION_LABELS)
    assert missing == [], f"audit actions without a Vietnamese label: {missing}"

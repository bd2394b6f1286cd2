"""Login throttling cannot be turned against the account's owner (issue 20, point 4).

Delays grow per (account, address); a looser per-account ceiling slows a distributed attack on
unfamiliar addresses only; a per-address ceiling slows password spraying. On the real databases.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.accounts.auth import LoginPolicy, LoginThrottled, authenticate
from loa.accounts.models import AuditEvent, LoginAttempt
from loa.accounts.principal import Role
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, make_user

POLICY = LoginPolicy(max_failures=5, window_s=24 * 3600)
OWNER_IP = "203.0.113.10"


def fail(session: Session, *, username: str = "op", ip: str) -> None:
    with pytest.raises(AuthenticationFailed) as err:
        authenticate(session, username=username, password="sai-mat-khau", ip=ip, policy=POLICY)
    assert not isinstance(err.value, LoginThrottled)


def past_failures(session: Session, *, count: int, ip: str, username: str = "op", spread_s: int = 60) -> None:
    """``count`` failures in the last minutes (as an attack already under way would have left)."""
    now = utcnow()
    session.add_all(
        LoginAttempt(username=username, ip=ip, at=now - timedelta(seconds=spread_s * (i + 1)), success=False)
        for i in range(count)
    )
    session.flush()


def test_an_attacker_elsewhere_does_not_lock_out_the_owner(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
    for _ in range(POLICY.max_failures):
        fail(session, ip="198.51.100.66")
    with pytest.raises(LoginThrottled):  # the attacker's own address is slowed down
        authenticate(session, username="op", password="doan-tiep", ip="198.51.100.66", policy=POLICY)
    # The owner, from their usual address and from a new one, still signs in.
    assert authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
    assert authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="192.0.2.77", policy=POLICY)


def test_a_distributed_attack_slows_unfamiliar_addresses_but_not_the_owners(
    session: Session, units: Units
) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
    for i in range(POLICY.account_ceiling + 4):  # a guess from each of many addresses
        past_failures(session, count=1, ip=f"198.51.100.{i}", spread_s=5)
    with pytest.raises(LoginThrottled) as err:
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="192.0.2.200", policy=POLICY)
    assert "Vui lòng thử lại sau" in err.value.message
    assert authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)


def test_delays_grow_with_each_failure_from_one_address(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    waits = []
    for extra in range(4):
        session.execute(LoginAttempt.__table__.delete())
        past_failures(session, count=POLICY.max_failures + extra, ip=OWNER_IP, spread_s=0)
        with pytest.raises(LoginThrottled) as err:
            authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
        waits.append(err.value.retry_after_s)
    assert waits == sorted(waits) and len(set(waits)) == 4  # 2, 4, 8, 16 s with the defaults
    assert waits[1] >= 2 * waits[0] - 1


def test_delays_are_capped(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    past_failures(session, count=200, ip=OWNER_IP, spread_s=0)
    with pytest.raises(LoginThrottled) as err:
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
    assert 0 < err.value.retry_after_s <= POLICY.max_delay_s


def test_password_spraying_from_one_address_is_slowed(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    for i in range(POLICY.source_ceiling + 4):
        past_failures(session, count=1, ip="198.51.100.9", username=f"nguoi{i}", spread_s=5)
    with pytest.raises(LoginThrottled):
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip="198.51.100.9", policy=POLICY)
    assert authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)


def test_a_throttled_attempt_writes_nothing(session: Session, units: Units) -> None:
    make_user(session, "op", Role.COMMUNE_OPERATOR, units.commune.code)
    past_failures(session, count=POLICY.max_failures, ip=OWNER_IP, spread_s=0)
    counts = (
        session.scalar(select(func.count()).select_from(LoginAttempt)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )
    with pytest.raises(LoginThrottled) as err:
        authenticate(session, username="op", password=DEFAULT_PASSWORD, ip=OWNER_IP, policy=POLICY)
    assert err.value.message.startswith("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau")
    assert err.value.message.endswith("giây.")
    after = (
        session.scalar(select(func.count()).select_from(LoginAttempt)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )
    assert after == counts

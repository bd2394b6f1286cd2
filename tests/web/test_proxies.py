"""X-Forwarded-For and X-Forwarded-Proto count only from the proxies in LOA_TRUSTED_PROXIES
(issue 20, point 4): anyone else could pick the address throttling and the audit log see."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Role
from loa.app import create_app
from loa.settings import Settings
from loa.web.proxies import client_address, parse_networks
from tests.support.auth import csrf_token, make_user

TRUSTED = parse_networks("10.0.0.0/8, 127.0.0.1, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # not a proxy: its header is ignored
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client wrote the first entry
        ("10.0.0.2", "203.0.113.9, 10.0.0.3", "203.0.113.9"),  # two proxies of ours
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),  # only proxies: the farthest one
        ("10.0.0.2", "không-phải-ip, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9, rác", "10.0.0.2"),  # garbage from our own proxy: go no further
        ("10.0.0.2", "", "10.0.0.2"),
        ("127.0.0.1", "2001:db8::5", "2001:db8::5"),
        ("fd00::1", "[2001:db8::5]:443", "2001:db8::5"),
        ("testclient", "203.0.113.9", "testclient"),
    ],
)
def test_client_address(peer: str, forwarded_for: str, expected: str) -> None:
    assert client_address(peer, forwarded_for, TRUSTED) == expected


def test_parse_networks_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/8, mọi-nơi")
    assert parse_networks("") == ()


def failed_login_ip(settings: Settings, engine: Engine, session: Session, *, peer: str, xff: str) -> str:
    make_user(session, "canbo", Role.ADMIN)
    session.commit()
    with TestClient(create_app(settings, engine=engine), client=(peer, 40000)) as client:
        client.post(
            "/login",
            data={"username": "canbo", "password": "sai-mat-khau-roi", "csrf_token": csrf_token(client)},
            headers={"X-Forwarded-For": xff, "X-Forwarded-Proto": "https"},
        )
    session.expire_all()
    return session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "auth.login_failed")).one()


def test_the_address_of_a_login_behind_a_trusted_proxy(
    tmp_path: Path, engine: Engine, session: Session
) -> None:
    settings = Settings(demo=True, data_dir=tmp_path, trusted_proxies="10.0.0.0/8")  # type: ignore[arg-type]
    assert (
        failed_login_ip(settings, engine, session, peer="10.0.0.2", xff="1.1.1.1, 203.0.113.9")
        == "203.0.113.9"
    )


def test_a_forged_header_from_anyone_else_is_ignored(
    tmp_path: Path, engine: Engine, session: Session
) -> None:
    settings = Settings(demo=True, data_dir=tmp_path, trusted_proxies="10.0.0.0/8")  # type: ignore[arg-type]
    assert (
        failed_login_ip(settings, engine, session, peer="198.51.100.7", xff="203.0.113.9") == "198.51.100.7"
    )

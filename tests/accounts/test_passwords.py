"""Password policy (issue 20, point 10): at least 12 characters, not containing the username, not a
common password (Django's list of 19,640 and Loa's Vietnamese additions), with Vietnamese messages."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from loa.accounts import service
from loa.accounts.demo import _demo_password
from loa.accounts.logic import PASSWORD_MIN_CHARS, validate_password
from loa.accounts.principal import Role
from loa.errors import InvalidInput
from tests.accounts.conftest import Units
from tests.support.auth import DEFAULT_PASSWORD, make_user


@pytest.mark.parametrize(
    ("password", "username", "fragment"),
    [
        ("ngan-qua-1", "", "ít nhất 12 ký tự"),
        ("1qaz2wsx3edc", "", "quá phổ biến"),  # in the list
        ("Password1234!", "", "quá phổ biến"),  # a listed word with digits and a symbol added
        ("iloveyou12345", "", "quá phổ biến"),
        ("matkhau123456", "", "quá phổ biến"),  # Vietnamese: "password"
        ("anhyeuem2024!!", "", "quá phổ biến"),
        ("canbo.bato-2025!", "canbo.bato", "tên đăng nhập"),
        ("Nguyenvana-2025", "nguyenvana", "tên đăng nhập"),  # case does not matter
        ("bato-mua-lu-2025", "canbo.bato", "tên đăng nhập"),  # a part of the username
        ("aaaaaaaaaaaaaa", "", "quá đơn giản"),
    ],
)
def test_weak_passwords_are_refused_in_vietnamese(password: str, username: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        validate_password(password, username=username)


@pytest.mark.parametrize("password", [DEFAULT_PASSWORD, "sông Trà Khúc mùa lũ", "op-ba-to-2025-x9"])
def test_good_passwords_pass(password: str) -> None:
    validate_password(password, username="op")


def test_minimum_is_twelve() -> None:
    assert PASSWORD_MIN_CHARS == 12
    validate_password("k7#vq9!mzt2w")
    with pytest.raises(InvalidInput):
        validate_password("k7#vq9!mzt2")


def test_demo_passwords_always_pass() -> None:
    for _ in range(500):
        validate_password(_demo_password(), username="bientap.quangngai")


def test_the_services_apply_the_policy(session: Session, units: Units) -> None:
    with pytest.raises(InvalidInput, match="tên đăng nhập"):
        make_user(
            session, "canbo.bato", Role.COMMUNE_OPERATOR, units.commune.code, password="canbo.bato.2025"
        )
    user = make_user(session, "canbo", Role.COMMUNE_OPERATOR, units.commune.code)
    with pytest.raises(InvalidInput, match="quá phổ biến"):
        service.set_password(session, user=user, password="password123456")

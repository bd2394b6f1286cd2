"""Password hashing with Argon2id (argon2-cffi's default: the RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_DUMMY_PASSWORD = "loa-dummy-password-for-timing"


class _Hashing:
    """The hasher in use, and a hash to verify against when a username does not exist."""

    def __init__(self) -> None:
        self.hasher = PasswordHasher()
        self._dummy: str | None = None

    def use(self, parameters: Parameters) -> None:
        self.hasher = PasswordHasher.from_parameters(parameters)
        self._dummy = None

    @property
    def dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(_DUMMY_PASSWORD)
        return self._dummy


_hashing = _Hashing()


def use_parameters(parameters: Parameters) -> None:
    """Change the Argon2 cost for new hashes (tests use ``argon2.profiles.CHEAPEST``; existing hashes
    carry their own parameters and are upgraded at the next successful login)."""
    _hashing.use(parameters)


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hashing.hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verify(password: str) -> None:
    """Spend the time of a real verification (unknown user), so timing does not reveal usernames."""
    verify_password(_hashing.dummy_hash, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hashing.hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True

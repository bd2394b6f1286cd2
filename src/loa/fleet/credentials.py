"""Device secrets and their hashes. Pure: no database, no I/O.

A device secret is 256 random bits, so a plain SHA-256 is a sufficient verifier (no dictionary to
guess from) and costs microseconds per connection. Mosquitto needs its own PBKDF2-SHA512 format
(``$7$``), computed once at enrolment while the secret is known and written to its password file;
a NATS cluster takes bcrypt (``$2b$``), computed at the same moment. Both at their cheapest setting
that the broker accepts: the secret cannot be guessed, so slow hashing would only slow every connect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import bcrypt

MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default
MOSQUITTO_SALT_BYTES = 12
BCRYPT_ROUNDS = 4  # the lowest bcrypt allows; the secret has 256 random bits
ENROL_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
ENROL_CODE_LENGTH = 10


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_device_uid() -> str:
    return "loa-" + secrets.token_hex(6)


def new_enrol_code() -> str:
    raw = "".join(secrets.choice(ENROL_CODE_ALPHABET) for _ in range(ENROL_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_enrol_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{compact[:5]}-{compact[5:]}" if len(compact) == ENROL_CODE_LENGTH else compact


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def verify_secret(secret: str, expected_sha256: str | None) -> bool:
    if not expected_sha256:
        return False
    return hmac.compare_digest(sha256_hex(secret), expected_sha256)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """Hash in Mosquitto 2.x's password-file format: ``$7$<iterations>$<b64 salt>$<b64 PBKDF2-SHA512>``."""
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, encoded: str) -> bool:
    parts = encoded.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def bcrypt_hash(password: str, *, rounds: int = BCRYPT_ROUNDS) -> str:
    """bcrypt ``$2b$`` hash, as NATS's ``password`` field takes it (``loa.fleet.nats``)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def verify_bcrypt_hash(password: str, encoded: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), encoded.encode())
    except ValueError:
        return False

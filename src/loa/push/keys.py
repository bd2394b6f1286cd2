"""The server's VAPID key pair (RFC 8292): an ECDSA P-256 key whose public half browsers are given
when they subscribe, and whose private half signs every push. Pure: no database, no network.

The private key is kept as the base64url of its 32-byte scalar (``LOA_VAPID_PRIVATE_KEY``); the
public key is the base64url of the uncompressed point, the form ``PushManager.subscribe`` takes as
``applicationServerKey``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from loa.errors import InvalidInput


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKeys:
    private_key: str  # base64url, 32 bytes
    public_key: str  # base64url, 65 bytes (0x04 ‖ x ‖ y)


def generate() -> VapidKeys:
    return from_private(
        b64url(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big"))
    )


def from_private(private_key: str) -> VapidKeys:
    """The pair for a stored private key; a key that is not 32 base64url bytes is refused in words."""
    try:
        raw = b64url_decode(private_key.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "LOA_VAPID_PRIVATE_KEY không đúng dạng: cần khóa do lệnh «loa push keys» tạo ra.",
            code="vapid_key_invalid",
        )
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(private_key=b64url(raw), public_key=b64url(point))

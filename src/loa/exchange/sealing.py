"""The keys other systems gave us, kept encrypted in the database: Fernet (AES-128-CBC + HMAC-SHA256)
with a key derived from ``LOA_SECRET_KEY`` by HKDF. A copy of the database alone does not let anyone
call the other systems as us; changing the secret key means entering those keys again."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from loa.errors import LoaError

_INFO = b"loa-exchange-push-keys/v1"


def _fernet(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(value: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode() if value else ""


def unseal(token: str, *, secret_key: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise LoaError(
            "Không đọc được khóa kết nối đã lưu (khóa bí mật của hệ thống đã đổi?). "
            "Hãy nhập lại khóa do hệ thống kia cấp.",
            code="push_key_unreadable",
        ) from err

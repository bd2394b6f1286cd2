"""Signing what an e-board downloads, with the server's Ed25519 key (the one that signs manifests,
``loa.fleet.keys``): canonical JSON (``loa.protocol.manifest.canonical_json``), signed over
``SIGNING_CONTEXT + body`` so a board document can never pass for a manifest or a group command,
which are signed without it or with another prefix."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from loa.fleet.keys import load_or_create_signing_key
from loa.protocol.manifest import canonical_json, key_id, public_key_bytes

__all__ = ["SIGNING_CONTEXT", "Signed", "key_id", "public_key_b64", "server_key", "sign", "verify"]

SIGNING_CONTEXT = b"loa-eboard/v1\n"


@dataclass(frozen=True)
class Signed:
    body: bytes
    signature_b64: str
    key_id: str


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> Signed:
    body = canonical_json(document)
    signature = key.sign(SIGNING_CONTEXT + body)
    return Signed(body, base64.b64encode(signature).decode(), key_id(key))


def verify(body: bytes, signature_b64: str, public_key: Ed25519PublicKey) -> bool:
    """What a board does (a reference for their makers; the tests use it)."""
    try:
        public_key.verify(base64.b64decode(signature_b64), SIGNING_CONTEXT + body)
    except Exception:  # InvalidSignature, bad base64: not ours either way
        return False
    return True


def server_key(data_dir: Path) -> Ed25519PrivateKey:
    return load_or_create_signing_key(data_dir)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_key_bytes(key)).decode()

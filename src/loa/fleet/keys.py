"""The server's Ed25519 keys, each created once in the data directory and never leaving it: the
manifest-signing key, and a distinct release-signing key for agent releases (``loa.fleet.releases``).

Devices pin both public keys at enrolment: they refuse any manifest the first did not sign, and any
agent release the second did not sign. The release key may be moved off the server (docs/security.md):
``loa agent-release publish`` then needs ``--key`` to sign.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "keys/manifest-ed25519.pem"
RELEASE_KEY_FILE = "keys/release-ed25519.pem"


def key_path(data_dir: Path, key_file: str = KEY_FILE) -> Path:
    return data_dir / key_file


def load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_or_create_release_key(data_dir: Path) -> Ed25519PrivateKey:
    return load_or_create_signing_key(data_dir, RELEASE_KEY_FILE)


def load_or_create_signing_key(data_dir: Path, key_file: str = KEY_FILE) -> Ed25519PrivateKey:
    path = key_path(data_dir, key_file)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # atomic and exclusive: two processes racing keep one key
    except FileExistsError:
        return load_or_create_signing_key(data_dir, key_file)
    finally:
        tmp.unlink(missing_ok=True)
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()

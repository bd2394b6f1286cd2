"""A push service on 127.0.0.1 standing in for the browsers' (FCM, Mozilla, Apple), which are outside
the machine, and a browser's side of a subscription. The service records every push and answers with
the status chosen per endpoint; ``FakeBrowser.read`` decrypts a push independently of the sender's
library (RFC 8291 ``aes128gcm`` written out here with ``cryptography``), and ``vapid_claims`` checks
the request's VAPID signature (RFC 8292) and returns its claims.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True)
class Push:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class FakePushService:
    base_url: str = ""
    pushes: list[Push] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # path → status (default 201)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Push]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.pushes) >= count, timeout_s), self.pushes
            return list(self.pushes)

    def to(self, browser: FakeBrowser) -> list[Push]:
        return [p for p in self.pushes if self.base_url + p.path == browser.endpoint]


@contextmanager
def fake_push_service() -> Iterator[FakePushService]:
    service = FakePushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with service.arrived:
                headers = {k.lower(): v for k, v in self.headers.items()}
                service.pushes.append(Push(self.path, headers, body, time.monotonic()))
                service.arrived.notify_all()
            self.send_response(service.statuses.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


class FakeBrowser:
    """A browser's subscription: its own P-256 key pair and 16-byte auth secret."""

    def __init__(self, service: FakePushService, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = f"{service.base_url}/push/{name}"
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` gives it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": _b64(self.public), "auth": _b64(self.auth)}}

    def read(self, push: Push) -> dict[str, Any]:
        """Decrypt an ``aes128gcm`` push (RFC 8188 framing, RFC 8291 keys) and parse its JSON."""
        assert push.headers["content-encoding"] == "aes128gcm"
        body = push.body
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        server_public = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert len(ciphertext) <= record_size  # one record
        shared = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public)
        )
        ikm = _hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + server_public, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        assert padded.endswith(b"\x02")  # the last (and only) record's delimiter
        result: dict[str, Any] = json.loads(padded[:-1].decode("utf-8"))
        return result


def vapid_claims(push: Push, *, public_key: str) -> dict[str, Any]:
    """The claims of the push's VAPID token, once its ES256 signature checks against ``public_key``
    (which the ``k=`` parameter must name)."""
    scheme, _, params = push.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    raw = _unb64(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    assert json.loads(_unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    result: dict[str, Any] = json.loads(_unb64(claims))
    return result

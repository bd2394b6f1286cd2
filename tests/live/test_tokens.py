"""Stream tokens (``loa.protocol.streams``) and Icecast's URL-auth endpoint: only a token the server
made, for that device and mount, not expired, opens a stream; only the station's password feeds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from loa.live.api import runtime_for
from loa.protocol import streams

KEY = streams.token_key(b"server secret")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def token(
    mount: str = "live-21484", expires_at: datetime = NOW + timedelta(hours=1), key: bytes = KEY
) -> str:
    return streams.make_token(key, device_id="loa-0a1b2c3d4e5f", mount=mount, expires_at=expires_at)


def test_a_token_opens_its_mount_until_it_expires() -> None:
    grant = streams.verify_token(KEY, token(), mount="live-21484", now=NOW)
    assert grant.device_id == "loa-0a1b2c3d4e5f" and grant.expires_at == NOW + timedelta(hours=1)
    refused = {
        "forged": (token(key=streams.token_key(b"another server")), "live-21484", NOW),
        "another mount": (token(), "live-21490", NOW),
        "expired": (token(), "live-21484", NOW + timedelta(hours=1)),
        "edited expiry": (token().replace(".17", ".18", 1), "live-21484", NOW),
        "another device": ("loa-ffffffffffff." + token().split(".", 1)[1], "live-21484", NOW),
        "malformed": ("abc", "live-21484", NOW),
        "empty": ("", "live-21484", NOW),
    }
    codes = {}
    for name, (value, mount, at) in refused.items():
        with pytest.raises(streams.StreamTokenError) as caught:
            streams.verify_token(KEY, value, mount=mount, now=at)
        codes[name] = caught.value.code
    assert codes == {
        "forged": "forged",
        "another mount": "forged",
        "expired": "expired",
        "edited expiry": "forged",
        "another device": "forged",
        "malformed": "malformed",
        "empty": "malformed",
    }


def test_urls_carry_the_token_and_name_the_mount() -> None:
    url = streams.with_token("http://stream.example.vn:8000/live-21484", token())
    assert streams.mount_of(url) == "live-21484" and streams.token_of(url) == token()
    assert streams.token_of("http://x/live-21484") == ""


def test_icecast_url_auth_endpoint(client: TestClient) -> None:
    runtime = runtime_for(client.app.state)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    good = streams.make_token(
        runtime.key, device_id="loa-bt-01", mount="live-21484", expires_at=now + timedelta(minutes=5)
    )
    expired = streams.make_token(
        runtime.key, device_id="loa-bt-01", mount="live-21484", expires_at=now - timedelta(seconds=1)
    )

    def ask(**form: str) -> bool:
        answer = client.post("/api/v1/live/icecast-auth", data=form)
        assert answer.status_code == 200
        return answer.headers.get("icecast-auth-user") == "1"

    assert ask(action="listener_add", mount=f"/live-21484?t={quote(good)}", client="1")
    assert not ask(action="listener_add", mount="/live-21484", client="2")
    assert not ask(action="listener_add", mount=f"/live-21484?t={quote(expired)}", client="3")
    assert not ask(action="listener_add", mount=f"/live-21484?t={quote(good[:-2])}xx", client="4")
    assert not ask(action="listener_add", mount=f"/relay-21484?t={quote(good)}", client="5")
    password = runtime.source_password("21484")
    # Right password, but no session on air here: refused (the accepted case with a session on air:
    # tests/live/test_embedded_relay.py::test_icecast_lets_a_source_in_only_while_on_air).
    assert not ask(action="stream_auth", mount="/live-21484", user="source", **{"pass": password})
    assert not ask(action="stream_auth", mount="/live-21490", user="source", **{"pass": password})
    assert not ask(action="stream_auth", mount="/live-21484", user="source", **{"pass": "sai"})
    assert not ask(action="stream_auth", mount="/admin", user="source", **{"pass": password})

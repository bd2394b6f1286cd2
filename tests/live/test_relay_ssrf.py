"""A relay's outside URL is typed by an editor and fetched by the server (SSRF): URLs reaching the
server itself, a private network or a cloud's metadata service, and other schemes, are refused when
the relay is scheduled (page and API, in Vietnamese) and again when the puller connects, at every
redirect, and a stream that is not audio is refused; a host in LOA_RELAY_ALLOWED_HOSTS is let through.
The "internal services" here are local HTTP servers that count the requests they get: none must."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine

from loa.db.base import utcnow
from loa.errors import InvalidInput
from loa.live import service as live
from loa.live.models import StreamSession
from loa.live.puller import RelayPuller
from loa.live.relay_url import allowed_hosts
from loa.settings import Settings
from tests.conftest import Backend
from tests.schedule.world import BA_TO, load_world, seed_world

BASE = "http://127.0.0.1:8000/live/stream"
INTERNAL = [
    "http://127.0.0.1:8000/api/v1/live/sessions",
    "http://127.5.6.7/",
    "http://localhost:6379/",
    "http://2130706433/",  # 127.0.0.1 as a number
    "http://10.0.0.5/",
    "http://172.20.1.1/",
    "http://192.168.1.1/admin",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8000/",
    "http://[fd00::5]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0:8000/",
]
OTHER_SCHEMES = ["file:///etc/passwd", "ftp://vov.example/vov1", "gopher://127.0.0.1:6379/_INFO"]


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


class Counting:
    """A local HTTP server answering every GET with ``status``, ``headers`` and ``body``; counts hits."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def schedule(engine_factory: object, url: str, *, allowed: str = "") -> int:
    start = utcnow()
    with engine_factory() as s:  # type: ignore[operator]
        row = live.schedule_relay(
            s,
            principal=load_world(s).operator,
            codes=[BA_TO],
            title="Tiếp sóng",
            source_url=url,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            stream_base_url=BASE,
            allowed_hosts=allowed_hosts(allowed),
        )
        s.commit()
        return row.id


@pytest.mark.parametrize("url", INTERNAL + OTHER_SCHEMES)
def test_scheduling_refuses_internal_addresses_and_other_schemes(engine: Engine, url: str) -> None:
    from loa.db import make_session_factory

    factory = make_session_factory(engine)
    with pytest.raises(InvalidInput) as refused:
        schedule(factory, url)
    assert refused.value.code == "relay_url"
    assert refused.value.message.startswith("Không dùng được địa chỉ luồng tiếp sóng này")
    assert "mạng nội bộ" in refused.value.message or "http:// hoặc https://" in refused.value.message
    with factory() as s:
        assert s.query(StreamSession).count() == 0


def test_an_allowed_host_may_be_relayed_and_a_name_not_resolving_yet_is_checked_later(engine: Engine) -> None:
    from loa.db import make_session_factory

    factory = make_session_factory(engine)
    schedule(factory, "http://127.0.0.1:18020/vov1", allowed="127.0.0.1, vov-noi-bo.tinh")
    with factory() as s:
        s.query(StreamSession).delete()
        s.commit()
    schedule(factory, "https://vov.example/vov1")  # no DNS here: the puller checks it at the slot


def test_the_api_and_the_page_say_why_in_vietnamese(engine: Engine, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from loa.app import create_app
    from tests.support.auth import bearer, login_web

    with TestClient(create_app(settings, engine=engine)) as client:
        csrf = login_web(client, "canbo.bato")
        page = client.post(
            "/live/relays",
            data={
                "csrf_token": csrf,
                "source_url": "http://169.254.169.254/latest/meta-data/",
                "start_local": "2030-01-02T07:00",
                "end_local": "2030-01-02T07:30",
                "codes": [BA_TO],
            },
        )
        assert page.status_code == 422 and "mạng nội bộ (169.254.169.254)" in page.text
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = bearer(client, "canbo.bato")
        answer = client.post(
            "/api/v1/live/relays",
            headers=headers,
            json={
                "codes": [BA_TO],
                "source_url": "http://127.0.0.1:8000/metrics",
                "start_at": "2030-01-02T07:00:00+07:00",
                "end_at": "2030-01-02T07:30:00+07:00",
            },
        )
        assert answer.status_code == 422 and "mạng nội bộ (127.0.0.1)" in answer.text


def pull(engine: Engine, session_id: int, *, allowed: str) -> StreamSession:
    from loa.db import make_session_factory

    factory = make_session_factory(engine)
    puller = RelayPuller(
        sessions=factory,
        ingest_url="http://127.0.0.1:1/live/stream",
        source_password=lambda _m: "x",
        allowed_hosts=allowed_hosts(allowed),
    )
    puller.tick()
    puller.close()
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None
        s.expunge(row)
        return row


def test_the_puller_checks_again_when_it_connects(engine: Engine) -> None:
    """Scheduled while its host was allowed (or while its name pointed elsewhere): at the slot the
    puller refuses it without sending a request."""
    from loa.db import make_session_factory

    internal = Counting(headers={"Content-Type": "audio/mpeg"}, body=b"secret")
    try:
        session_id = schedule(
            make_session_factory(engine), f"http://127.0.0.1:{internal.port}/", allowed="127.0.0.1"
        )
        row = pull(engine, session_id, allowed="")
    finally:
        internal.close()
    assert (row.status, row.end_reason) == ("failed", "relay_dead")
    assert "mạng nội bộ (127.0.0.1)" in row.status_message
    assert "loa tiếp tục chương trình thường lệ" in row.status_message
    assert internal.hits == 0


def test_a_redirect_to_an_internal_address_is_refused(engine: Engine) -> None:
    from loa.db import make_session_factory

    internal = Counting(headers={"Content-Type": "audio/mpeg"}, body=b"secret")
    station = Counting(302, {"Location": f"http://127.0.0.1:{internal.port}/latest/meta-data/"})
    try:
        session_id = schedule(
            make_session_factory(engine), f"http://localhost:{station.port}/vov1", allowed="localhost"
        )
        row = pull(engine, session_id, allowed="localhost")
    finally:
        internal.close()
        station.close()
    assert station.hits == 1 and internal.hits == 0
    assert (row.status, row.end_reason) == ("failed", "relay_dead")
    assert "mạng nội bộ (127.0.0.1)" in row.status_message


def test_a_page_that_is_not_audio_is_refused(engine: Engine) -> None:
    from loa.db import make_session_factory

    station = Counting(headers={"Content-Type": "text/html; charset=utf-8"}, body=b"<html>...</html>")
    try:
        session_id = schedule(
            make_session_factory(engine), f"http://127.0.0.1:{station.port}/", allowed="127.0.0.1"
        )
        row = pull(engine, session_id, allowed="127.0.0.1")
    finally:
        station.close()
    assert (row.status, row.end_reason) == ("failed", "relay_dead")
    assert "không phải âm thanh (text/html)" in row.status_message

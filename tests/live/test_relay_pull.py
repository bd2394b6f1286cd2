"""Relays pulled by Loa at their slot: a local "VOV" station (an HTTP stream of a generated tone, and a
real Icecast 2 mount fed from a generated file by a source client) is fed into the station's relay
mount and heard by a device with its token; a relay whose outside URL is dead at slot time fails with
a clear Vietnamese status, is audited, and leaves the manifests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import Engine, func, select

from loa.accounts.models import AuditEvent
from loa.app import create_app
from loa.db.base import utcnow
from loa.live import service as live
from loa.live.api import runtime_for
from loa.live.models import StreamSession
from loa.live.puller import RelayPuller
from loa.live.runtime import commune_of_mount
from loa.settings import Settings
from loa.speech.models import AudioAsset
from tests.conftest import Backend
from tests.live.audio import decode, dominant_hz, tone
from tests.live.test_embedded_relay import wait_for
from tests.live.test_sessions_db import stream_items
from tests.schedule.world import BA_TO, load_world, seed_world
from tests.support.browser import serve
from tests.support.streams import ICECAST, Icecast, IcecastSource, encode, free_port, tone_pcm

DEAD_PORT = 18099  # nothing listens here
LOCAL = frozenset({"127.0.0.1"})  # LOA_RELAY_ALLOWED_HOSTS: the "outside" stations here are local


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def vov() -> Iterator[str]:
    """A local outside station: an endless Ogg/Opus stream of a 700 Hz tone, sent in real time."""
    data = tone(20.0, 700.0)

    class Station(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/ogg")
            self.end_headers()
            try:
                for at in range(0, len(data), 2048):
                    self.wfile.write(data[at : at + 2048])
                    self.wfile.flush()
                    time.sleep(20.0 * 2048 / len(data))
            except OSError:
                return

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Station)  # a free port: tests may run side by side
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/vov1"
    server.shutdown()
    server.server_close()


def actions(s: object, session_id: int) -> list[str]:
    return [
        e.action
        for e in s.scalars(  # type: ignore[attr-defined]
            select(AuditEvent).where(
                AuditEvent.target_type == "stream_session", AuditEvent.target_id == str(session_id)
            )
        )
    ]


@pytest.fixture
def icecast_vov() -> Iterator[str]:
    """A local outside station on a real Icecast 2: its mount fed at real-time pace by a source client
    (as a station's encoder would) with a generated file, 20 s of a 700 Hz tone in Ogg/Opus."""
    if not ICECAST.exists():
        pytest.skip("icecast2 is not installed (apt-get install icecast2; make icecast on CI)")
    icecast = Icecast(free_port(18950, 18970)).start()
    try:
        chunks = encode(tone_pcm(20, tone_at_s=0.0, tone_s=20.0, hz=700.0), "ogg")
        source = IcecastSource(chunks, icecast.port, "/vov1.ogg").start()
        try:
            yield f"http://127.0.0.1:{icecast.port}/vov1.ogg"
        finally:
            source.stop()
    finally:
        icecast.stop()


def test_relay_plays_the_outside_station_at_its_slot(engine: Engine, settings: Settings, vov: str) -> None:
    relay_is_heard_at_its_slot(engine, settings, vov)


def test_relay_plays_an_icecast_mount_at_its_slot(
    engine: Engine, settings: Settings, icecast_vov: str
) -> None:
    relay_is_heard_at_its_slot(engine, settings, icecast_vov)


def relay_is_heard_at_its_slot(engine: Engine, settings: Settings, vov: str) -> None:
    """A relay of ``vov`` (a 700 Hz tone) for Ba Tô, scheduled through Loa's service for a 5 s slot
    starting now: pulled into the built-in relay when the puller ticks, heard by loa-bt-02 with its
    token, stopped at the slot's end, every step audited."""
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    with serve(app) as base:
        puller = RelayPuller(
            sessions=factory,
            ingest_url=f"{base}/live/stream",
            source_password=lambda mount: runtime.source_password(commune_of_mount(mount)),
            allowed_hosts=LOCAL,
        )
        start = utcnow()
        with factory() as s:
            assets_before = s.scalar(select(func.count()).select_from(AudioAsset))
            world = load_world(s)
            row = live.schedule_relay(
                s,
                principal=world.operator,
                codes=[BA_TO],
                title="Tiếp sóng VOV1",
                source_url=vov,
                start_at=start,
                end_at=start + timedelta(seconds=5),
                stream_base_url=f"{base}/live/stream",
                allowed_hosts=LOCAL,
            )
            s.commit()
            session_id = row.id
        with factory() as s:
            [item] = stream_items(s, "loa-bt-02")
        heard: list[bytes] = []

        def device() -> None:
            with httpx.Client(timeout=30) as client, client.stream("GET", item["audio"]["url"]) as answer:
                assert answer.status_code == 200
                heard.append(b"".join(answer.iter_bytes()))

        listener = threading.Thread(target=device)
        listener.start()
        relay = runtime.server.relay  # type: ignore[attr-defined]
        wait_for(lambda: relay.listeners(f"relay-{BA_TO}") == 1, "the device to connect")
        puller.tick()
        with factory() as s:
            pulled = s.get(StreamSession, session_id)
            assert pulled is not None and pulled.status == "on_air"
        time.sleep(5.2)
        puller.tick()  # past its end: the feed stops
        listener.join(30)
        puller.close()
    samples = decode(heard[0])
    assert len(samples) > 48000 and abs(dominant_hz(samples) - 700.0) < 5  # > 1 s of a 5 s slot
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.end_reason == "slot_end"
        assert actions(s, session_id) == ["relay.schedule", "relay.on_air", "relay.stop"]
        # An outside station's programme is not Loa's content: nothing of it is kept, neither in the
        # audio store nor as a file left on disk (12 hours of a relay every day would fill it).
        assert row.recording_sha256 is None
        assert s.scalar(select(func.count()).select_from(AudioAsset)) == assets_before
    assert list(runtime.recordings_dir.glob("*")) == []


def test_relay_with_a_dead_url_fails_clearly(engine: Engine, settings: Settings) -> None:
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    puller = RelayPuller(
        sessions=factory,
        ingest_url="http://127.0.0.1:1/live/stream",
        source_password=lambda _m: "x",
        allowed_hosts=LOCAL,
    )
    start = utcnow()
    with factory() as s:
        world = load_world(s)
        row = live.schedule_relay(
            s,
            principal=world.operator,
            codes=[BA_TO],
            title="Tiếp sóng Đài tỉnh",
            source_url=f"http://127.0.0.1:{DEAD_PORT}/tinh",
            start_at=start,
            end_at=start + timedelta(minutes=30),
            stream_base_url="http://127.0.0.1:8000/live/stream",
            allowed_hosts=LOCAL,
        )
        s.commit()
        session_id = row.id
    with factory() as s:
        assert len(stream_items(s, "loa-bt-01")) == 1
    puller.tick()  # no crash
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.status == "failed" and row.end_reason == "relay_dead"
        assert row.status_message.startswith("Không kết nối được luồng tiếp sóng")
        assert "loa tiếp tục chương trình thường lệ" in row.status_message
        assert actions(s, session_id) == ["relay.schedule", "relay.fail"]
        assert stream_items(s, "loa-bt-01") == []  # devices are told: the item is gone


def test_a_relay_stopped_by_the_operator_stops_pulling(engine: Engine, settings: Settings, vov: str) -> None:
    """An operator stops a relay 2 s into its 20 s slot: the device's stream ends within seconds, the
    puller lets go of the outside station, and the session stays ended by the operator."""
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    with serve(app) as base:
        puller = RelayPuller(
            sessions=factory,
            ingest_url=f"{base}/live/stream",
            source_password=lambda mount: runtime.source_password(commune_of_mount(mount)),
            allowed_hosts=LOCAL,
        )
        start = utcnow()
        with factory() as s:
            row = live.schedule_relay(
                s,
                principal=load_world(s).operator,
                codes=[BA_TO],
                title="Tiếp sóng VOV1",
                source_url=vov,
                start_at=start,
                end_at=start + timedelta(seconds=20),
                stream_base_url=f"{base}/live/stream",
                allowed_hosts=LOCAL,
            )
            s.commit()
            session_id = row.id
        with factory() as s:
            [item] = stream_items(s, "loa-bt-02")
        ended_at: list[float] = []

        def device() -> None:
            with httpx.Client(timeout=40) as client, client.stream("GET", item["audio"]["url"]) as answer:
                for _chunk in answer.iter_bytes():
                    pass
                ended_at.append(time.monotonic())

        listener = threading.Thread(target=device)
        listener.start()
        wait_for(lambda: runtime.server.relay.listeners(f"relay-{BA_TO}") == 1, "the device to connect")  # type: ignore[attr-defined]
        puller.tick()
        time.sleep(2.0)
        with factory() as s:
            live.stop(s, principal=load_world(s).operator, stream_id=session_id)
            s.commit()
        stopped = time.monotonic()
        listener.join(15)
        assert not listener.is_alive() and ended_at[0] - stopped < 4.0
        wait_for(lambda: not puller.running, "the puller to let go of the outside station", 6.0)
        puller.close()
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and (row.status, row.end_reason) == ("ended", "operator_stop")
        assert actions(s, session_id) == ["relay.schedule", "relay.on_air", "relay.stop"]

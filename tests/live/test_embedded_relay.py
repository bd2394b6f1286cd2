"""The stream server built into Loa, over real HTTP: a source with the station's credentials, devices
with their tokens (none, forged or another device's mount: refused), the stated listener limit, and
the session ending cleanly when the source drops — its recording in the audio store, audited."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.app import create_app
from loa.db.base import utcnow
from loa.live import service as live
from loa.live.api import runtime_for
from loa.live.models import StreamSession
from loa.settings import Settings
from loa.speech.models import AudioAsset
from tests.conftest import Backend
from tests.live.audio import RATE, decode, dominant_hz, tone
from tests.live.test_sessions_db import stream_items
from tests.schedule.world import BA_TO, KINH_VILLAGE, load_world, seed_world
from tests.support.browser import serve

MOUNT = f"live-{BA_TO}"


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def wait_for(check: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_source_to_tokened_listeners_with_a_limit_and_a_recording(engine: Engine, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"stream_max_listeners": 2}), engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    source = tone(4.0, 1000.0)
    with serve(app) as base:
        with factory() as s:
            world = load_world(s)
            row = live.start_live(
                s,
                principal=world.operator,
                codes=[KINH_VILLAGE],
                title="Thông báo họp",
                stream_base_url=f"{base}/live/stream",
            )
            s.commit()
            session_id = row.id
        with factory() as s:
            [item] = stream_items(s, "loa-bt-01")
        url = item["audio"]["url"]
        assert url.startswith(f"{base}/live/stream/{MOUNT}?t=loa-bt-01.")
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{base}/live/stream/{MOUNT}").status_code == 403  # no token
            forged = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
            assert client.get(forged).status_code == 403
            other_mount = url.replace(MOUNT, f"relay-{BA_TO}")
            assert client.get(other_mount).status_code == 403
            wrong = client.put(f"{base}/live/stream/{MOUNT}", content=b"x", auth=("source", "sai-mat-khau"))
            assert wrong.status_code == 401

        heard: dict[int, bytes] = {}

        def listen(n: int) -> int:
            with httpx.Client(timeout=30) as client, client.stream("GET", url) as answer:
                if answer.status_code == 200:
                    heard[n] = b"".join(answer.iter_bytes())
                return answer.status_code

        with ThreadPoolExecutor(3) as pool:
            first = [pool.submit(listen, n) for n in (1, 2)]
            wait_for(lambda: runtime.server.relay.listeners(MOUNT) == 2, "two listeners")  # type: ignore[attr-defined]
            assert pool.submit(listen, 3).result() == 503  # the stated limit: 2 here

            def paced() -> Iterator[bytes]:
                for at in range(0, len(source), 2048):
                    yield source[at : at + 2048]
                    time.sleep(0.01)

            password = runtime.source_password(BA_TO)
            with httpx.Client(timeout=30) as client:
                answer = client.put(
                    f"{base}/live/stream/{MOUNT}",
                    content=paced(),
                    auth=("source", password),
                    headers={"Content-Type": "audio/ogg"},
                )
            assert answer.status_code == 200
            assert [f.result() for f in first] == [200, 200]
        for n in (1, 2):
            samples = decode(heard[n])
            assert abs(len(samples) / RATE - 4.0) < 0.1
            assert abs(dominant_hz(samples) - 1000.0) < 5

    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.status == "ended" and row.end_reason == "source_ended"
        assert row.recording_sha256 is not None
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == row.recording_sha256)).one()
        assert abs(asset.duration_ms - 4000) < 100
        path = runtime.store.local_path(asset.sha256, "mp3")  # type: ignore[attr-defined]
        recorded = decode(path.read_bytes())
        assert abs(len(recorded) / RATE - 4.0) < 0.1 and abs(dominant_hz(recorded) - 1000.0) < 5
        actions = [
            e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.target_type == "stream_session"))
        ]
        assert actions == ["live.start", "live.stop", "live.recorded"]
        [item] = stream_items(s, "loa-bt-01")
        assert item["not_after_at"] is not None  # cut at the source's end: the programme resumes


def test_source_without_a_session_is_refused(engine: Engine, settings: Settings) -> None:
    app = create_app(settings, engine=engine)
    runtime = runtime_for(app.state)
    with serve(app) as base, httpx.Client(timeout=10) as client:
        answer = client.put(
            f"{base}/live/stream/{MOUNT}", content=tone(0.5), auth=("source", runtime.source_password(BA_TO))
        )
    assert answer.status_code == 403
    assert "chưa bắt đầu" in answer.json()["error"]
    assert threading.active_count() >= 1


def test_source_dropping_mid_broadcast_ends_the_session_and_keeps_the_recording(
    engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    source = tone(6.0, 1000.0)
    half = len(source) // 2
    with serve(app) as base:
        with factory() as s:
            world = load_world(s)
            row = live.start_live(
                s, principal=world.operator, codes=[BA_TO], title="", stream_base_url=f"{base}/live/stream"
            )
            s.commit()
            session_id = row.id

        class EncoderCrashed(Exception):
            pass

        def dying() -> Iterator[bytes]:
            for at in range(0, half, 2048):
                yield source[at : min(at + 2048, half)]
            raise EncoderCrashed  # the encoder's PC dies: the connection is cut mid-body

        with httpx.Client(timeout=30) as client, pytest.raises(EncoderCrashed):
            client.put(
                f"{base}/live/stream/{MOUNT}",
                content=dying(),
                auth=("source", runtime.source_password(BA_TO)),
                headers={"Content-Type": "audio/ogg"},
            )

        def ended() -> bool:
            with factory() as s:
                done = s.get(StreamSession, session_id)
                return done is not None and done.recording_sha256 is not None

        wait_for(ended, "the session to end with its recording")
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert (
            row is not None and row.status == "ended" and row.end_reason in ("source_ended", "source_failed")
        )
        assert row.status_message.startswith("Nguồn phát bị ngắt giữa chừng")
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == row.recording_sha256)).one()
        assert 2500 < asset.duration_ms < 3500  # what was said before the drop: about 3 of 6 seconds
        for uid in ("loa-bt-01", "loa-bt-02"):
            [item] = stream_items(s, uid)
            assert item["not_after_at"] is not None  # devices cut it and resume their programme


@pytest.mark.parametrize("how", ["operator_stop", "expired"])
def test_a_source_is_cut_once_its_session_is_off_air(engine: Engine, settings: Settings, how: str) -> None:
    """An encoder keeps sending (20 s of tone at real-time pace) after its session left the air — the
    operator pressed «Dừng», or the session's end passed: within a few seconds the listener's stream
    ends and nothing more is recorded; the recording holds what was said while on air."""
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    source = tone(20.0, 1000.0)
    with serve(app) as base:
        with factory() as s:
            world = load_world(s)
            row = live.start_live(
                s, principal=world.operator, codes=[BA_TO], title="", stream_base_url=f"{base}/live/stream"
            )
            s.commit()
            session_id = row.id
        with factory() as s:
            [item] = stream_items(s, "loa-bt-01")
        heard: list[bytes] = []
        ended_at: list[float] = []

        def device() -> None:
            with httpx.Client(timeout=40) as client, client.stream("GET", item["audio"]["url"]) as answer:
                assert answer.status_code == 200
                heard.append(b"".join(answer.iter_bytes()))
                ended_at.append(time.monotonic())

        listener = threading.Thread(target=device)
        listener.start()
        wait_for(lambda: runtime.server.relay.listeners(MOUNT) == 1, "the device to connect")  # type: ignore[attr-defined]

        def paced() -> Iterator[bytes]:
            for at in range(0, len(source), 2048):
                yield source[at : at + 2048]
                time.sleep(20.0 * 2048 / len(source))

        def encoder() -> None:
            with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=40) as client:
                client.put(
                    f"{base}/live/stream/{MOUNT}",
                    content=paced(),
                    auth=("source", runtime.source_password(BA_TO)),
                    headers={"Content-Type": "audio/ogg"},
                )

        feeding = threading.Thread(target=encoder, daemon=True)
        if how == "expired":  # its end (3 hours after going on air) comes in 3 seconds
            with factory() as s, s.begin():
                expiring = s.get(StreamSession, session_id)
                assert expiring is not None
                expiring.end_at = utcnow() + timedelta(seconds=3)
        started = time.monotonic()
        feeding.start()
        time.sleep(3.0)
        if how == "operator_stop":
            with factory() as s:
                live.stop(s, principal=load_world(s).operator, stream_id=session_id)
                s.commit()
        off_air = started + 3.0
        listener.join(15)
        assert not listener.is_alive()
        assert ended_at[0] - off_air < 4.0  # cut within seconds, not at the source's end (20 s)
        samples = decode(heard[0], truncated=True)
        assert len(samples) / RATE < 7.0

        def recorded() -> bool:
            with factory() as s:
                done = s.get(StreamSession, session_id)
                return done is not None and done.recording_sha256 is not None

        wait_for(recorded, "the recording to be stored")
        feeding.join(10)
        assert not feeding.is_alive()  # the encoder's connection is closed, not read into the void
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.status == "ended"
        assert row.end_reason == ("operator_stop" if how == "operator_stop" else "expired")
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == row.recording_sha256)).one()
        assert 1500 < asset.duration_ms < 7000  # about 3 s on air, not the 20 s sent


def test_a_recording_is_levelled_with_no_transaction_open(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Levelling and encoding a live recording takes minutes for hours of speech: meanwhile the
    session's end is already committed (the page shows it ended; nothing waits on its row or, on
    SQLite, on the database's write lock), and another writer gets through at once."""
    from loa.live import runtime as runtime_module

    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    runtime = runtime_for(app.state)
    with factory() as s:
        row = live.start_live(
            s, principal=load_world(s).operator, codes=[BA_TO], title="", stream_base_url="http://x/live"
        )
        s.commit()
        session_id = row.id
    runtime.recordings_dir.mkdir(parents=True, exist_ok=True)
    path = runtime.recordings_dir / f"{session_id}.ogg"
    source = tone(2.0, 1000.0)
    path.write_bytes(source)
    seen: list[str] = []
    real = runtime_module.level_recording_stream

    def levelling(*args: Any, **kwargs: Any) -> Any:
        with factory() as s:
            during = s.get(StreamSession, session_id)
            seen.append(during.status if during is not None else "")
        with factory() as s, s.begin():  # another writer, while the levelling runs
            other = s.get(StreamSession, session_id)
            assert other is not None
            other.max_listeners = 7
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime_module, "level_recording_stream", levelling)
    done = runtime._wrap_up(session_id, path, False)
    assert done is not None and done.recording_sha256 is not None
    assert seen == ["ended"]
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.max_listeners == 7 and row.recording_sha256 == done.recording_sha256
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == row.recording_sha256)).one()
        assert asset.source_sha256 == hashlib.sha256(source).hexdigest()
    assert not path.exists()


def test_icecast_lets_a_source_in_only_while_on_air(engine: Engine, settings: Settings) -> None:
    """Icecast's ``stream_auth`` (an encoder straight to Icecast): the station's password alone is not
    enough — only while a session is on air on that mount, as with the built-in relay."""
    from fastapi.testclient import TestClient

    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    password = runtime_for(app.state).source_password(BA_TO)

    with TestClient(app) as client:

        def let_in() -> bool:
            form = {"action": "stream_auth", "mount": f"/{MOUNT}", "user": "source", "pass": password}
            answer = client.post("/api/v1/live/icecast-auth", data=form)
            assert answer.status_code == 200
            return answer.headers.get("icecast-auth-user") == "1"

        assert not let_in()  # nobody on air: a stolen password puts nothing on the loudspeakers
        with factory() as s:
            row = live.start_live(
                s, principal=load_world(s).operator, codes=[BA_TO], title="", stream_base_url="http://x/live"
            )
            s.commit()
            session_id = row.id
        assert let_in()
        with factory() as s:
            live.stop(s, principal=load_world(s).operator, stream_id=session_id)
            s.commit()
        assert not let_in()

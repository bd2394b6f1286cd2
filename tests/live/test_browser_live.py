"""In Chromium with a fake microphone playing a 1 kHz tone: a commune operator opens "Phát trực
tiếp", chooses a village and goes on air; a loudspeaker of that village, reading its manifest's
stream URL with its token, hears the tone; the page shows the level and one listening loudspeaker;
stopping ends the session (audited) and its recording lands in the audio store with the tone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.app import create_app
from loa.live.api import runtime_for
from loa.live.models import StreamSession
from loa.settings import Settings
from loa.speech.models import AudioAsset
from tests.conftest import Backend
from tests.live.audio import RATE, decode, dominant_hz, wav_tone
from tests.live.test_embedded_relay import wait_for
from tests.live.test_sessions_db import stream_items
from tests.schedule.world import seed_world
from tests.support.auth import DEFAULT_PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def test_operator_goes_live_from_the_browser_and_stops(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    wav = tmp_path / "micro.wav"
    wav_tone(str(wav), 30.0, 1000.0)
    app = create_app(settings, engine=engine)
    factory = app.state.session_factory
    heard: list[bytes] = []
    with serve(app) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        context = chromium.new_context(base_url=base, locale="vi-VN", permissions=["microphone"])
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Tên đăng nhập").fill("canbo.bato")
        page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("link", name="Phát trực tiếp").click()
        expect(page.get_by_role("heading", name="Phát trực tiếp", level=1)).to_be_visible()
        page.get_by_label("Tiêu đề").fill("Thông báo họp dân")
        page.get_by_label("Thôn Gò Khoại").check()
        page.get_by_test_id("live-start").click()
        expect(page.get_by_test_id("live-message")).to_have_text("Đang phát trực tiếp.")

        def stream_url() -> str | None:
            with factory() as s:
                items = stream_items(s, "loa-bt-01")
            return items[0]["audio"]["url"] if items else None

        wait_for(lambda: stream_url() is not None, "the live item in the manifest")
        with factory() as s:
            assert stream_items(s, "loa-bt-02") == []  # Làng Teng was not chosen

        def device() -> None:
            data = bytearray()
            with httpx.Client(timeout=30) as client, client.stream("GET", str(stream_url())) as answer:
                assert answer.status_code == 200
                started = time.monotonic()
                for chunk in answer.iter_bytes():
                    data += chunk
                    if time.monotonic() - started > 4:
                        break
            heard.append(bytes(data))

        listener = threading.Thread(target=device)
        listener.start()
        expect(page.get_by_test_id("live-listeners")).to_have_text("1")
        assert float(page.get_by_test_id("live-level").get_attribute("value") or 0) > 0.01
        listener.join(30)
        page.wait_for_timeout(1500)
        page.get_by_test_id("live-stop").click()
        expect(page.get_by_test_id("live-message")).to_contain_text("Đã dừng phát trực tiếp")
        with factory() as s:
            row = s.scalars(select(StreamSession)).one()
            session_id = row.id

        def recorded() -> bool:
            with factory() as s:
                return s.get(StreamSession, session_id).recording_sha256 is not None  # type: ignore[union-attr]

        wait_for(recorded, "the recording")
        chromium.close()
    samples = decode(heard[0], truncated=True)
    assert len(samples) > 2 * RATE
    assert abs(dominant_hz(samples[RATE:]) - 1000.0) < 10
    runtime = runtime_for(app.state)
    with factory() as s:
        row = s.get(StreamSession, session_id)
        assert row is not None and row.status == "ended" and row.end_reason == "operator_stop"
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == row.recording_sha256)).one()
        assert asset.duration_ms > 4000
        path = runtime.store.local_path(asset.sha256, "mp3")  # type: ignore[attr-defined]
        assert abs(dominant_hz(decode(path.read_bytes())[RATE:]) - 1000.0) < 10
        actions = [
            e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.target_type == "stream_session"))
        ]
        assert actions == ["live.start", "live.stop", "live.recorded"]
        [item] = stream_items(s, "loa-bt-01")
        assert item["not_after_at"] is not None

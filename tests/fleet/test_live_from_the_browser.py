"""Issue 14 end to end, from the glass: Chromium with a fake microphone (a 1 kHz tone) goes on air from
«Phát trực tiếp» to a commune; the server compiles the live item into both loudspeakers' signed
manifests (each URL with its own token) and sends them ``sync``; two real agents (file sinks) leave
their scheduled announcement, play the stream from Loa's built-in relay, and the tone is found in
both sinks; the operator stops (the item is cut in a new manifest, ``sync``) and the announcement
comes back on both, resumed where it stands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import Engine, select

from loa.agent.runtime import Agent
from loa.app import create_app
from loa.fleet import service as fleet
from loa.live.models import StreamSession
from loa.protocol.topics import Topics
from loa.schedule import announcements
from loa.schedule.targets import TargetInput
from loa.speech.models import AudioAsset, AudioSourceKind
from tests.conftest import Backend
from tests.fleet.harness import (
    ServerThread,
    broker,
    make_gateway,
    running,
    store_audio,
    unique_prefix,
    wait_event,
    wait_until,
    wav_bytes,
)
from tests.fleet.test_end_to_end import agent_config, make_settings
from tests.live.audio import dominant_hz, wav_tone
from tests.schedule.world import BA_TO, load_world, seed_world
from tests.support.auth import DEFAULT_PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.streams import read_wav

pytestmark = [pytest.mark.mqtt, pytest.mark.slow, pytest.mark.browser]
UIDS = ("loa-bt-01", "loa-bt-02")


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def operator_goes_live(base_url: str, wav: Path, on_air: float) -> None:
    """In Chromium (its own thread: Playwright's sync API wants no running event loop)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
            ],
        )
        try:
            context = chromium.new_context(base_url=base_url, locale="vi-VN", permissions=["microphone"])
            context.set_default_timeout(20_000)
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Tên đăng nhập").fill("canbo.bato")
            page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.goto("/live")
            page.get_by_label("Xã Ba Tơ (cả xã)").check()
            page.get_by_test_id("live-start").click()
            expect(page.get_by_test_id("live-message")).to_have_text("Đang phát trực tiếp.")
            expect(page.get_by_test_id("live-listeners")).to_have_text("2")  # both loudspeakers listen
            page.wait_for_timeout(on_air * 1000)
            page.get_by_test_id("live-stop").click()
            expect(page.get_by_test_id("live-message")).to_contain_text("Đã dừng phát trực tiếp")
        finally:
            chromium.close()


def test_operator_speaks_from_the_browser_to_two_agents(
    tmp_path: Path, engine: Engine, broker_kind: str
) -> None:
    asyncio.run(_scenario(tmp_path, engine, broker_kind))


async def _scenario(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    wav = tmp_path / "micro.wav"
    wav_tone(str(wav), 60.0, 1000.0)
    programme_audio = wav_bytes(14.0, 440.0)
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        app = create_app(settings, engine=engine)
        factory = app.state.session_factory
        sha = store_audio(settings.audio_dir, programme_audio)
        with factory() as s, s.begin():
            world = load_world(s)
            s.add(
                AudioAsset(
                    sha256=sha,
                    format="wav",
                    size_bytes=len(programme_audio),
                    duration_ms=14_000,
                    loudness_lufs=-16.0,
                    true_peak_dbtp=-1.5,
                    sample_rate=8000,
                    source_kind=AudioSourceKind.UPLOAD,
                    created_by_id=world.operator.user_id,
                )
            )
            codes = [fleet.issue_enrol_code(s, device=fleet.get_device(s, uid=uid)) for uid in UIDS]
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(app) as web:
            async with running(gateway.run, "gateway"):
                await wait_event(gateway.ready, "ready")
                agents = [
                    Agent(agent_config(tmp_path, n, web.url, c)) for n, c in zip("ab", codes, strict=True)
                ]
                async with running(agents[0].run, "agent-a"), running(agents[1].run, "agent-b"):
                    await wait_until(lambda: all(a.connected.is_set() for a in agents), 20, "agents connect")
                    start = datetime.now(UTC) + timedelta(seconds=6)
                    with factory() as s:
                        world = load_world(s)
                        announcement, _outcome = announcements.create_announcement(
                            s,
                            principal=world.operator,
                            data=announcements.AnnouncementInput(
                                title="Chương trình buổi sáng",
                                targets=[TargetInput(kind="commune", code=BA_TO)],
                                start_at=start,
                                audio_sha256=sha,
                                priority=300,
                                preempt_rule="resume",
                            ),
                            now=datetime.now(UTC),
                        )
                        s.commit()
                        item_id = f"a.{announcement.id}"
                    await asyncio.sleep((start - datetime.now(UTC)).total_seconds() + 2.0)
                    await asyncio.to_thread(operator_goes_live, web.url, wav, 4.0)

                    def sinks_done() -> bool:
                        return all(_after_stream(tmp_path / n, item_id) for n in "ab")

                    await wait_until(sinks_done, 40, "the announcement to come back on both")
    with factory() as s:
        row = s.scalars(select(StreamSession)).one()
        assert row.status == "ended" and row.end_reason == "operator_stop" and row.max_listeners == 2
    for name in "ab":
        played = tmp_path / name / "played"
        rows = [json.loads(line) for line in (played / "played.jsonl").read_text().splitlines()]
        streams = [played / r["path"] for r in rows if r.get("stream")]
        assert streams, rows
        pcm, rate = read_wav(streams[0])
        assert rate and len(pcm) > rate  # more than a second of the broadcast in this loudspeaker's sink
        assert abs(dominant_hz(pcm.astype("float32"), rate=rate) - 1000.0) < 15  # the microphone's tone
        # The programme comes back once the broadcast ends, where it stands by now (resume).
        (back,) = _after_stream(tmp_path / name, item_id)
        assert int(back["offset_ms"]) > 1000 and int(back["played_ms"]) > 1000  # type: ignore[call-overload]


def _after_stream(agent_dir: Path, item_id: str) -> list[dict[str, object]]:
    """The programme's segments a sink played after the live stream ended."""
    log = agent_dir / "played" / "played.jsonl"
    if not log.exists():
        return []
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    streams = [r for r in rows if r.get("stream")]
    if not streams:
        return []
    ended = max(float(r["started_at"]) + float(r["played_ms"]) / 1000 for r in streams)
    return [r for r in rows if r.get("item_id") == item_id and float(r["started_at"]) >= ended - 0.5]

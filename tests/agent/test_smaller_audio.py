"""A tight data budget takes the smaller rendition (issue 18.3): the compiler names a master's Opus copy in
the signed manifest (``audio.smaller``); an agent that has used over half of its day's budget downloads
that copy (real Opus, decoded and measured here) and plays it where the master is named; an agent with
room in its budget takes the master. The server serves the copy only because the manifest names it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
from sqlalchemy import Engine

from loa.agent.config import AgentConfig
from loa.agent.runtime import Agent
from loa.agent.transfers import audio_duration_ms
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import device_audio, keys, service
from loa.protocol import manifest as mf
from loa.protocol.priority import PreemptRule
from loa.schedule.contentindex import ContentIndex
from loa.settings import Settings
from loa.speech.audio.encode import AudioFormat, encode
from loa.speech.audio.pcm import Pcm
from loa.speech.models import AudioAsset, AudioSourceKind
from tests.fleet.harness import ServerThread, new_device, running, wait_until

SECONDS = 4.0


def tone(rate: int = 24000) -> Pcm:
    t = np.arange(int(SECONDS * rate)) / rate
    return Pcm((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


def store(audio_dir: Path, data: bytes, ext: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    audio_dir.mkdir(parents=True, exist_ok=True)
    (audio_dir / f"{sha}.{ext}").write_bytes(data)
    return sha


def asset(sha: str, data: bytes, fmt: str, master_id: int | None = None) -> AudioAsset:
    return AudioAsset(
        sha256=sha,
        format=fmt,
        size_bytes=len(data),
        duration_ms=int(SECONDS * 1000),
        loudness_lufs=-16.0,
        true_peak_dbtp=-1.5,
        sample_rate=24000,
        source_kind=AudioSourceKind.UPLOAD,
        rendition_of_id=master_id,
    )


def test_a_tight_budget_downloads_the_signed_opus_rendition(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(
        demo=True, data_dir=tmp_path / "server", secret_key="test-secret-key-0123456789abcdef"
    )  # type: ignore[arg-type]
    mp3, opus = encode(tone(), AudioFormat.MP3).data, encode(tone(), AudioFormat.OPUS).data
    assert len(opus) < len(mp3)
    master, smaller = store(settings.audio_dir, mp3, "mp3"), store(settings.audio_dir, opus, "opus")
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        row = asset(master, mp3, "mp3")
        s.add(row)
        s.flush()
        s.add(asset(smaller, opus, "opus", master_id=row.id))
    with factory() as s:
        ref = ContentIndex(s, set(), {master}).audio(master)
        assert ref is not None and ref.smaller == (smaller, len(opus))
    devices = {name: new_device(factory, name) for name in ("Cụm loa tiết kiệm", "Cụm loa dư dả")}
    now = datetime.now(UTC)
    item = mf.ManifestItem(
        id="tin-1",
        title="Bản tin",
        source_id="test",
        start_at=now + timedelta(hours=2),
        start_local="",
        duration_ms=int(SECONDS * 1000),
        priority=300,
        preempt_rule=PreemptRule.RESUME,
        audio=mf.AudioSource(
            url=f"/api/v1/audio/{master}",
            sha256=master,
            size_bytes=len(mp3),
            smaller=mf.SmallerAudio(sha256=smaller, size_bytes=len(opus)),
        ),
    )
    with factory() as s, s.begin():
        for uid, _ in devices.values():
            body = mf.build_manifest(
                device_id=uid,
                manifest_version=1,
                generated_at=now,
                valid_from=now - timedelta(minutes=1),
                valid_until=now + timedelta(hours=6),
                items=[item],
            ).canonical_bytes()
            signature = mf.sign(body, keys.load_or_create_signing_key(settings.data_dir))
            service.set_manifest(
                s, device=service.get_device(s, uid=uid), version=1, body=body, signature=signature
            )
            assert device_audio.named_for_device(s, service.get_device(s, uid=uid), smaller)
    with ServerThread(create_app(settings, engine=engine)) as server:
        tight = asyncio.run(
            _fetch(tmp_path, "tight", server.url, devices["Cụm loa tiết kiệm"][1], spent=600_000)
        )
        roomy = asyncio.run(_fetch(tmp_path, "roomy", server.url, devices["Cụm loa dư dả"][1], spent=0))
    # The tight device holds the Opus copy where the master is named, and spent only its size.
    assert tight.cache.path(master) is not None and tight.cache.path(master).read_bytes() == opus  # type: ignore[union-attr]
    assert tight.budget.used == 600_000 + len(opus)
    assert master in tight.cache.shas() and tight.cache.has(master)
    played = tight.cache.path(master)
    assert played is not None
    with av.open(str(played)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    assert abs(audio_duration_ms(played) - SECONDS * 1000) < 100
    # The other one took the master.
    assert roomy.cache.path(master) is not None and roomy.cache.path(master).read_bytes() == mp3  # type: ignore[union-attr]
    assert roomy.budget.used == len(mp3)
    # Evicting keeps the copy as long as the master is wanted, and drops both once it is not.
    tight.cache.evict({master})
    assert tight.cache.has(master)
    tight.cache.evict(set())
    assert not tight.cache.has(master) and tight.cache.path(smaller) is None


async def _fetch(tmp_path: Path, name: str, url: str, code: str, *, spent: int) -> Agent:
    agent = Agent(
        AgentConfig(
            server_url=url, data_dir=tmp_path / name, enrol_code=code, sink="null", daily_data_budget_mb=1
        )
    )
    agent.budget.spend(spent)
    await agent.prepare()
    await agent.transfers.sync_manifest()
    assert agent.core.manifest_version == 1
    async with running(agent.transfers.download_loop):
        await wait_until(
            lambda: agent.cache.has(agent.core.items()["tin-1"].audio_sha256), 30, "audio cached"
        )
    await agent.transfers.aclose()
    return agent

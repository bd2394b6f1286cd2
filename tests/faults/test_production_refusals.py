"""Issue 21's fault suite, continued (``tests.faults.production``): ``loa serve`` restarted across a slot,
a manifest whose signature does not verify, and audio whose SHA-256 no longer matches the server's
file. Each scenario ends on the receipt ledger (expected = recorded, none doubled) with every agent
still running, on Debian's Mosquitto and on the embedded broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.protocol.device.core import BAD_AUDIO_RETRY_MS
from tests.faults.production import LEAD_S, production, wait_for
from tests.faults.test_production_faults import _played, slot_over
from tests.fleet.harness import Slot, publish_manifest, store_audio, wav_bytes

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


@pytest.fixture(params=["mosquitto", "embedded"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_server_restart_across_a_slot_plays_from_the_cache(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    with production(engine, monkeypatch, capsys, kind=kind) as prod:
        names = prod.schedule(["server-1", "server-2"])
        prod.server.stop()  # no manifest, no audio over HTTP until it is back
        wait_for(
            lambda: all(_played(a, n) for a in prod.agents for n in names), "played while the server is down"
        )
        # Told of a new manifest (and new audio) while the server is down, the agents cannot fetch
        # either: they have both once it is back.
        audio = wav_bytes(1.0, 784.0)
        sha = store_audio(prod.data_dir / "audio", audio)
        later = [Slot("while-down", sha, len(audio), datetime.now(UTC) + timedelta(hours=1), 1000)]
        told = {}
        for agent in prod.agents:
            told[agent.uid] = prod.latest_version(agent.uid) + 1
            publish_manifest(prod.factory, prod.data_dir, agent.uid, told[agent.uid], later)
        prod.start_server()
        wait_for(
            lambda: all(prod.reported_version(a.uid) == told[a.uid] and a.holds(sha) for a in prod.agents),
            "the manifest and audio published while the server was down",
        )
        slot_over(prod, names)
        # After the restart the agents fetch a new manifest and play it.
        names = prod.schedule(["after-server"])
        slot_over(prod, names)
        prod.wait_ledger()
        assert set(prod.outcomes().values()) == {"played"}


def test_a_tampered_manifest_is_refused_and_the_previous_one_keeps_playing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    with production(engine, monkeypatch, capsys, kind=kind) as prod:
        names = prod.schedule(["kept-1", "kept-2"], gap_s=2.0)
        held = {a.uid: prod.reported_version(a.uid) for a in prod.agents}
        # The same slots renamed, signed, then changed: accepted, it would replace the kept items.
        start = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        for agent in prod.agents:
            slots = [
                Slot(f"tampered-{i}", prod.sha, prod.audio_len, start + timedelta(seconds=3 * i), 1000)
                for i in (1, 2)
            ]
            version = prod.latest_version(agent.uid) + 1
            publish_manifest(prod.factory, prod.data_dir, agent.uid, version, slots, tamper=True)
        wait_for(
            lambda: all(prod.manifest_error(a.uid) == "signature_invalid" for a in prod.agents),
            "every agent reporting the refused manifest",
        )
        assert {a.uid: prod.reported_version(a.uid) for a in prod.agents} == held
        slot_over(prod, names)
        # A good manifest afterwards is taken, and the refusal is no longer reported.
        names = prod.schedule(["after-tamper"])
        slot_over(prod, names)
        wait_for(lambda: all(prod.manifest_error(a.uid) is None for a in prod.agents), "the refusal cleared")
        prod.wait_ledger()
        assert set(prod.outcomes().values()) == {"played"}
        assert not any(_played(a, f"tampered-{i}") for a in prod.agents for i in (1, 2))


def _corrupt(path: Path) -> bytes:
    """Change bytes in the middle of ``path`` (same size); returns the original."""
    original = path.read_bytes()
    middle = len(original) // 2
    path.write_bytes(
        original[:middle] + bytes(b ^ 0xFF for b in original[middle : middle + 64]) + original[middle + 64 :]
    )
    return original


def test_tampered_audio_is_refused_then_fetched_again_once_fixed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    with production(engine, monkeypatch, capsys, kind=kind) as prod:
        audio = wav_bytes(1.0, 659.0)
        sha = store_audio(prod.data_dir / "audio", audio)
        path = prod.data_dir / "audio" / f"{sha}.wav"
        original = _corrupt(path)
        names = prod.schedule(["bad-audio-1"], sha=sha, held=False)
        wait_for(
            lambda: all(prod.manifest_error(a.uid) == "audio_hash_mismatch" for a in prod.agents),
            "every agent reporting the refused audio",
        )
        slot_over(prod, names)
        assert not any(a.holds(sha) or _played(a, "bad-audio-1") for a in prod.agents)
        # The server's file is fixed: the next slot's manifest has it downloaded again, and played.
        path.write_bytes(original)
        names = prod.schedule(["fixed-audio-1"], sha=sha)
        slot_over(prod, names)
        wait_for(lambda: all(prod.manifest_error(a.uid) is None for a in prod.agents), "the refusal cleared")
        prod.wait_ledger()
        outcomes = prod.outcomes()
        for agent in prod.agents:
            assert outcomes[(agent.uid, "bad-audio-1")] == "failed"
            assert outcomes[(agent.uid, "fixed-audio-1")] == "played"
            assert _played(agent, "fixed-audio-1")


def test_refused_audio_is_fetched_again_once_fixed_without_a_new_manifest(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21.5 as the reliability run met it: one manifest, its audio refused, the server's file
    fixed; the agent tries again after its backoff (``BAD_AUDIO_RETRY_MS``) and plays the next slot.
    The HTTP side only, so on one broker (the embedded one)."""
    with production(engine, monkeypatch, capsys, kind="embedded") as prod:
        sha = store_audio(prod.data_dir / "audio", wav_bytes(1.0, 659.0))
        path = prod.data_dir / "audio" / f"{sha}.wav"
        original = _corrupt(path)
        gap_s = BAD_AUDIO_RETRY_MS / 1000 + 12  # the retry, and time to download before the slot
        prod.schedule(["bad-audio-1", "fixed-audio-2"], sha=sha, held=False, gap_s=gap_s)
        versions = {a.uid: prod.reported_version(a.uid) for a in prod.agents}
        slot_over(prod, ["bad-audio-1"])
        path.write_bytes(original)
        wait_for(lambda: all(a.holds(sha) for a in prod.agents), "the fixed audio on every agent")
        slot_over(prod, ["fixed-audio-2"])
        prod.wait_ledger()
        assert {a.uid: prod.reported_version(a.uid) for a in prod.agents} == versions  # no new manifest
        outcomes = prod.outcomes()
        for agent in prod.agents:
            assert outcomes[(agent.uid, "bad-audio-1")] == "failed"
            assert outcomes[(agent.uid, "fixed-audio-2")] == "played"

"""An alert end to end with two real agents, a real broker (embedded amqtt, and Mosquitto when
configured), the real server over HTTP and the gateway:

* the alert is sent ("lead-in + message", a play-now repeated, and every targeted manifest);
* agent A plays it, is restarted mid-alert and resumes it from its manifest (its new process never
  got the command);
* agent B was offline at the start and comes back after the command's lifetime: the command reaches
  it expired, and it plays the alert from its manifest all the same;
* the stop silences both (command and manifest), and the board shows both played and confirmed the
  stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.models import User
from loa.accounts.principal import Principal
from loa.accounts.service import principal_for
from loa.agent.runtime import Agent
from loa.alerts import board as boards
from loa.alerts import service as alerts
from loa.app import create_app
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceCommand, PlayReceipt
from loa.protocol import itemids
from loa.protocol.topics import Topics
from loa.speech.audio.encode import AudioFormat, encode
from loa.speech.audio.pcm import Pcm
from loa.speech.audio.pipeline import level_jingle
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.speech.store import LocalAudioStore
from tests.fleet.harness import (
    ServerThread,
    broker,
    make_gateway,
    running,
    settle,
    wait_event,
    wait_until,
)
from tests.fleet.test_end_to_end import agent_config, make_settings
from tests.fleet.world import COMMUNE_A, IDS

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

COMMAND_TTL = timedelta(seconds=2)  # the alert's command lives this long here (30 minutes in service)


def message_asset(factory: sessionmaker[Session], audio_dir: Path) -> str:
    """One second of a 660 Hz warning tone standing in for a recorded message, as an uploaded MP3."""
    rate = 22_050
    t = np.arange(rate) / rate
    encoded = encode(level_jingle(Pcm((0.3 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32), rate)))
    stored = LocalAudioStore(audio_dir).put(encoded.data, "mp3")
    with factory() as s, s.begin():
        s.add(
            AudioAsset(
                sha256=stored.sha256,
                format=AudioFormat.MP3.value,
                size_bytes=stored.size_bytes,
                duration_ms=encoded.duration_ms,
                loudness_lufs=-16.0,
                true_peak_dbtp=-2.0,
                sample_rate=encoded.sample_rate,
                source_kind=AudioSourceKind.UPLOAD,
                original_filename="canh-bao-bao.mp3",
            )
        )
    return stored.sha256


def rounds(factory: sessionmaker[Session], uid: str, alert_id: int, outcome: str = "played") -> list[int]:
    """Round numbers of the alert this device reported with ``outcome``."""
    with factory() as s:
        ids = s.scalars(
            select(PlayReceipt.item_id)
            .join(Device, Device.id == PlayReceipt.device_id)
            .where(Device.uid == uid, PlayReceipt.outcome == outcome)
        )
        refs = [itemids.parse(i) for i in ids]
    return sorted(r.round for r in refs if r.alert_id == alert_id)


def operator(s: Session) -> Principal:
    return principal_for(s, s.scalars(select(User).where(User.username == "vanhanh.a")).one())


def test_alert_reaches_a_restarted_and_a_late_agent_and_the_stop_silences_both(
    tmp_path: Path, world_engine: Engine, broker_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "ALERT_TTL", COMMAND_TTL)
    asyncio.run(_scenario(tmp_path, world_engine, broker_kind))


async def _scenario(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics("t" + tmp_path.name[-10:].replace("-", "").lower().ljust(6, "x"))
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        app = create_app(settings, engine=engine)
        factory: sessionmaker[Session] = app.state.session_factory  # wired: commits recompile
        sha = message_asset(factory, settings.audio_dir)
        with factory() as s, s.begin():
            codes = {
                uid: fleet.issue_enrol_code(s, device=fleet.get_device(s, uid=uid))
                for uid in (IDS.a1, IDS.a2)
            }
        gateway = make_gateway(handle, engine, topics)

        def agent(name: str, uid: str) -> Agent:
            return Agent(agent_config(tmp_path, name, server_url, codes[uid]))

        with ServerThread(app) as server:
            server_url = server.url
            async with running(gateway.run, "gateway"):
                await wait_event(gateway.ready, "gateway ready")
                # B enrols and connects once (its broker session is kept), then goes away.
                b = agent("b", IDS.a2)
                async with running(b.run, "agent-b"):
                    await wait_until(b.connected.is_set, 15, "agent B connects")
                a = agent("a", IDS.a1)
                async with running(a.run, "agent-a"):
                    await wait_until(a.connected.is_set, 15, "agent A connects")
                    with factory() as s, s.begin():
                        alert = alerts.start_alert(
                            s,
                            principal=operator(s),
                            commune_codes=[COMMUNE_A],
                            audio_sha256=sha,
                            repeat_gap_s=1,
                            hazard="storm",
                            risk_level=1,
                            aired=alerts.AiredAudio(LocalAudioStore(settings.audio_dir)),
                        )
                        alert_id, aired_sha = alert.id, alert.aired_sha256
                    assert aired_sha is not None and aired_sha != sha  # chime + message, one file
                    await wait_until(lambda: 1 in rounds(factory, IDS.a1, alert_id), 30, "A plays round 1")
                before_restart = max(rounds(factory, IDS.a1, alert_id))

                # A restarts mid-alert: a new process, which never sees the command again.
                a = agent("a", IDS.a1)
                async with running(a.run, "agent-a-again"):
                    await wait_until(a.connected.is_set, 15, "agent A reconnects")
                    await wait_until(
                        lambda: max(rounds(factory, IDS.a1, alert_id)) > before_restart + 1,
                        30,
                        "A resumes the alert from its manifest",
                    )
                    assert not a.core.repeats._by_first  # nothing repeats from a command: the manifest does

                    # B comes back after the command's lifetime: the command is expired, the manifest is not.
                    b = agent("b", IDS.a2)
                    async with running(b.run, "agent-b-again"):
                        await wait_until(b.connected.is_set, 15, "agent B reconnects")
                        await wait_until(
                            lambda: bool(rounds(factory, IDS.a2, alert_id)), 30, "B plays the alert"
                        )
                        assert 1 not in rounds(factory, IDS.a2, alert_id)  # it joined later rounds

                        with factory() as s, s.begin():
                            alerts.stop_alert(s, principal=operator(s), alert_id=alert_id)

                        def silent(agent: Agent) -> bool:
                            playing = agent.core.playing
                            return playing is None or itemids.parse(playing.id).alert_id != alert_id

                        def carried(agent: Agent) -> bool:
                            manifest = agent.core.manifest
                            items = manifest.items if manifest is not None else ()
                            return any(itemids.parse(i.id).alert_id == alert_id for i in items)

                        await wait_until(lambda: silent(a) and silent(b), 15, "both silent after the stop")
                        await wait_until(
                            lambda: not carried(a) and not carried(b), 15, "manifests without it"
                        )

                        def confirmed() -> int:
                            with factory() as s:
                                alert_row = alerts.visible_alert(s, operator(s), alert_id)
                                return boards.build_board(s, alert_row).stopped_confirmed

                        await wait_until(lambda: confirmed() == 2, 15, "both confirm the stop")
                        played = {u: rounds(factory, u, alert_id) for u in (IDS.a1, IDS.a2)}
                        # Longer than a round and its gap (≈ 2.6 s + 1 s) of heartbeats: nothing comes round.
                        await settle(lambda: gateway.stats.statuses, 12, "heartbeats")
                        assert {u: rounds(factory, u, alert_id) for u in (IDS.a1, IDS.a2)} == played
                        assert silent(a) and silent(b)

    with factory() as s:
        board = boards.build_board(s, alerts.visible_alert(s, operator(s), alert_id))
        late = s.scalar(
            select(DeviceCommand.result)
            .join(Device, Device.id == DeviceCommand.device_id)
            .where(Device.uid == IDS.a2, DeviceCommand.kind == "play_now")
        )
    assert {r.uid: r.state for r in board.rows} == {
        IDS.a1: boards.DeviceState.PLAYED,
        IDS.a2: boards.DeviceState.PLAYED,
    }
    assert board.stopped_confirmed == 2 and board.time_to_s[99] is not None
    assert late in ("expired", None)  # the command reached B too late (or not at all): the manifest did it

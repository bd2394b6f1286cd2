"""Every alert that airs starts with the lead-in signal of its level, whichever path sent it: typed on
the form (``test_send_form``), auto-sent from CAP (the API and the polled feed, by the province's rule
``cap_auto_send_min_level`` / ``cap_auto_send_senders``), and an emergency pushed down by an upper
system (``tests/exchange/test_emergency_lead_in.py``). Checked on what the loudspeakers are sent: the
"play now" command and the signed manifests name one file, and that file, decoded, begins with the
signal's pitch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts.cap.service import CapPolicy
from loa.alerts.models import EmergencyAlert
from loa.db import make_session_factory
from loa.settings import Settings
from loa.speech.audio.decode import decode
from loa.speech.audio.encode import PROFILES, AudioFormat
from loa.speech.audio.pcm import Pcm
from loa.speech.models import AudioAsset
from loa.speech.store import LocalAudioStore
from tests.alerts.test_cap import XML, alerts_in, sample
from tests.alerts.test_cap_feed import PORT, feed_server
from tests.alerts.test_carried import alert_items, eventually, sessions_of
from tests.fleet.world import IDS, commands
from tests.support.auth import bearer

__all__ = ["feed_server"]
TRUSTED = "dai-kttv-quangngai@nchmf.gov.vn"  # the sender of the Quảng Ngãi samples
RATE = 22_050


def dominant_hz(pcm: Pcm, start_s: float, end_s: float) -> float:
    part = pcm.samples[int(start_s * pcm.sample_rate) : int(end_s * pcm.sample_rate)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
    return float(np.fft.rfftfreq(len(part), 1 / pcm.sample_rate)[int(np.argmax(spectrum))])


def decoded(session: Session, audio_dir: Path, sha256: str) -> Pcm:
    asset = session.scalars(select(AudioAsset).where(AudioAsset.sha256 == sha256)).one()
    extension = PROFILES[AudioFormat(asset.format)].extension
    with LocalAudioStore(audio_dir).open(sha256, extension) as handle:
        return decode(handle.read(), sample_rate=RATE)


def check_aired_with_lead_in(
    factory: sessionmaker[Session],
    audio_dir: Path,
    alert: EmergencyAlert,
    sent: list[str],
    signal_hz: tuple[float, float],
) -> None:
    """The alert has a "lead-in + message" file; it is what every "play now" named (``sent``: their
    audio hashes); the file starts with the signal (its first 150 ms at ``signal_hz``) and is the
    message plus the signal's length."""
    assert alert.aired_sha256 is not None, "no lead-in was rendered for this alert"
    assert alert.aired_sha256 != alert.audio_sha256
    assert sent and set(sent) == {alert.aired_sha256}
    with factory() as s:
        aired = decoded(s, audio_dir, alert.aired_sha256)
        message = decoded(s, audio_dir, alert.audio_sha256)
    low, high = signal_hz
    assert low < dominant_hz(aired, 0.02, 0.17) < high
    assert aired.duration_ms - message.duration_ms > 1500  # signal + 500 ms pause came first


def test_an_alert_auto_sent_from_cap_starts_with_its_levels_lead_in(
    web: TestClient, world_engine: Engine, settings: Settings
) -> None:
    web.app.state.cap_policy = CapPolicy(  # type: ignore[attr-defined]
        auto_send_min_level=4, auto_send_senders=frozenset({TRUSTED})
    )
    posted = web.post(
        "/api/v1/cap", content=sample("storm-ba-to.xml"), headers={**bearer(web, "quantri"), **XML}
    )
    assert posted.status_code == 202 and posted.json()["outcome"] == "active", posted.text
    (alert,) = alerts_in(world_engine)
    assert alert.risk_level == 4  # siren: a sweep from 600 Hz up
    sent = [str(args["audio_sha256"]) for _, kind, args in commands(world_engine) if kind == "play_now"]
    check_aired_with_lead_in(make_session_factory(world_engine), settings.audio_dir, alert, sent, (550, 800))
    # The manifests carry the same file in the alert's rounds.
    factory = sessions_of(web)
    eventually(lambda: bool(alert_items(factory, IDS.a1, alert.id)), "the alert's rounds in a1's manifest")
    assert {i.audio.sha256 for i in alert_items(factory, IDS.a1, alert.id)} == {alert.aired_sha256}


def test_an_alert_auto_sent_from_the_polled_cap_feed_starts_with_its_levels_lead_in(
    world_engine: Engine, feed_server: Path, settings: Settings
) -> None:
    """The gateway's periodic job (``loa.wiring``) with the province's auto-send rule."""
    from loa.wiring import wire

    (feed_server / "storm.xml").write_bytes(sample("storm-ba-to.xml"))
    configured = settings.model_copy(
        update={
            "cap_feed_url": f"http://127.0.0.1:{PORT}/storm.xml",
            "cap_feed_username": "quantri",
            "cap_auto_send_min_level": 4,
            "cap_auto_send_senders": TRUSTED,
            "alert_lead_ins": {4: "alarm"},  # the province's choice is honoured: three 1 kHz beeps
        }
    )
    (job,) = [p for p in wire(world_engine, configured).periodic if p.what == "CAP feed polling"]
    job.work()
    (alert,) = alerts_in(world_engine)
    assert alert.status == "active"
    sent = [str(args["audio_sha256"]) for _, kind, args in commands(world_engine) if kind == "play_now"]
    check_aired_with_lead_in(make_session_factory(world_engine), settings.audio_dir, alert, sent, (950, 1050))

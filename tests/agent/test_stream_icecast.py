"""Issue 14: the agent relays a real Icecast 2 mount (a local "VOV" fed at real-time pace by a source
client, as a station's encoder would) at its slot; Icecast's burst-on-connect hands it seconds of
audio at once, and the jitter buffer drops the excess so the tone still reaches the sink within the
issue's 2 s. It needs the Debian package ``icecast2`` (installed by the Makefile on CI, as root)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from loa.agent.player import now_ms
from loa.protocol import messages as m
from tests.agent.test_streams import manifest, new_agent, run, stream_files, tone_sounded_at
from tests.support.streams import ICECAST, Icecast, IcecastSource, StreamSlot, encode, free_port, tone_pcm

pytestmark = pytest.mark.skipif(
    not ICECAST.exists(), reason="icecast2 is not installed (apt-get install icecast2)"
)
TONE_AT_S = 6.0


def test_a_relay_of_an_icecast_mount_plays_at_its_slot_with_its_tone(tmp_path: Path) -> None:
    icecast = Icecast(free_port(18160, 18199)).start()
    try:
        chunks = encode(tone_pcm(20, tone_at_s=TONE_AT_S), "ogg")
        source = IcecastSource(chunks, icecast.port, "/vov1.ogg").start()
        try:
            agent = new_agent(tmp_path / "agent")
            t0 = now_ms() + 300
            url = f"http://127.0.0.1:{icecast.port}/vov1.ogg?token=tok"
            relay = StreamSlot("relay.vov1", start=2700, duration=6000, priority=400, url=url)
            (receipt,) = asyncio.run(run(agent, t0, [(0, manifest([relay]))], until=9200))
        finally:
            source.stop()
    finally:
        icecast.stop()
    assert receipt.kind is m.ReceiptKind.STREAM and receipt.outcome is m.Outcome.PLAYED
    assert receipt.interruptions == 0 and receipt.heard_ms is not None and receipt.heard_ms >= 5000
    ((row, path),) = stream_files(tmp_path / "agent")
    (onset,) = tone_sounded_at(row, path)
    latency = onset - (source.started_at + TONE_AT_S)
    assert 0 < latency < 2.0  # despite Icecast's burst of several seconds on connecting

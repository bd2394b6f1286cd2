"""Issue 14: a simulated loudspeaker plays stream items like the agent (the same core) and reads the
stream for real from a real HTTP stream server, at the pace the server sends it, so the server counts
it as a listener; a drop is reported, retried and reconnected; a URL the manifest does not carry is
never read."""

from __future__ import annotations

import asyncio

from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.sim.device import SimConfig, SimDevice, SimIdentity, SimStats, now_ms
from tests.sim.test_device_table import Recorder
from tests.support.device_table import DEVICE, PUBLIC, TOPICS
from tests.support.streams import StreamServer, StreamSlot, encode, free_port, signed_manifest, tone_pcm

PORTS = (18150, 18199)


def test_simulated_devices_listen_to_a_stream_item_for_real() -> None:
    chunks = encode(tone_pcm(6, tone_at_s=1.0), "mp3")
    server = StreamServer(chunks, free_port(*PORTS), content_type="audio/mpeg", drop_after_s=1.5).start()
    stats = SimStats()
    devices: list[SimDevice] = []

    async def run() -> None:
        config = SimConfig(
            host="127.0.0.1", port=1, topics=TOPICS, server_public_key=PUBLIC, stream_retry_max_s=1
        )
        t0 = now_ms() + 200
        body, sig = signed_manifest([StreamSlot("live.s", start=0, duration=4000, url=server.url())], t0)
        for _ in range(3):
            device = SimDevice(SimIdentity(DEVICE, "s"), config, stats)
            device.client = Recorder()  # type: ignore[assignment]
            device.feed(s.CONNECTED)
            device.feed(s.ManifestFetched(body, sig))
            devices.append(device)
        await asyncio.sleep(1.0)
        listening = len(server.connections)
        await asyncio.sleep((t0 + 4600 - now_ms()) / 1000)
        assert listening == 3  # three listeners the server really served

    try:
        asyncio.run(run())
    finally:
        server.stop()
    assert len(server.connections) == 4  # the first was dropped at 1.5 s and came back
    assert stats.stream_drops >= 1 and stats.stream_connects == 4
    assert stats.stream_bytes > 3 * 3 * 7000  # ~8 kB/s of MP3 read for ~3.5 s each
    receipts = [r for d in devices for r in d.receipts]
    assert [r.kind for r in receipts] == [m.ReceiptKind.STREAM] * 3
    assert all(r.outcome is m.Outcome.PLAYED for r in receipts)
    assert sorted(r.interruptions or 0 for r in receipts) == [0, 0, 1]
    dropped = next(r for r in receipts if r.interruptions)
    assert dropped.heard_ms is not None and dropped.heard_ms < min(
        r.heard_ms or 0 for r in receipts if r is not dropped
    )

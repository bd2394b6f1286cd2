"""The device scenario table (tests/support/device_table.py) through the simulator: its message
handling (the bytes a broker would deliver, group commands verified with the server key), its timers
(``Ticker``, 50 ms slots) and its core, on the wall clock. What it publishes is read back off the
wire. Rows about audio files and the time before the device existed do not apply (it has neither)."""

from __future__ import annotations

import asyncio

import pytest

from loa.protocol.device import signals as s
from loa.sim.device import SimConfig, SimDevice, SimIdentity, SimStats, now_ms
from tests.support.device_table import (
    BOOT_LEAD_MS,
    DEVICE,
    PLAY_NOW_MS,
    PUBLIC,
    RESEND_MS,
    TOPICS,
    AckAll,
    Observed,
    Scenario,
    Schedule,
    manifest_bytes,
    mismatches,
    observe_wire,
    scenarios_for,
    wire_of,
)

TOLERANCE_MS = 150  # the simulator's timers fire in 50 ms slots


class Recorder:
    """Stands in for the simulator's ``LiteClient``: keeps what the device publishes."""

    connected = True

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish_nowait(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload))

    async def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload))

    async def subscribe(self, filters: list[tuple[str, int]]) -> list[int]:
        return [1 for _ in filters]


async def run_sim(sc: Scenario) -> Observed:
    config = SimConfig(
        host="127.0.0.1",
        port=1,
        topics=TOPICS,
        play_s=PLAY_NOW_MS / 1000,
        resend_receipts_after_s=RESEND_MS / 1000,
        server_public_key=PUBLIC,
        change_status_delay_s=0.05,
    )
    device = SimDevice(SimIdentity(DEVICE, "s"), config, SimStats())
    wire = Recorder()
    device.client = wire  # type: ignore[assignment]
    t0 = now_ms() + BOOT_LEAD_MS
    device.feed(s.CONNECTED)
    for step in sorted(sc.steps, key=lambda st: st.at):
        await asyncio.sleep(max(0.0, (t0 + step.at - now_ms()) / 1000))
        if isinstance(step, Schedule):
            device.feed(s.ManifestFetched(*manifest_bytes(step, t0)))  # as its manifest fetch does
        else:
            device._on_message(*wire_of(step, now_ms(), wire.published))
    await asyncio.sleep(max(0.0, (t0 + sc.until - now_ms()) / 1000))
    receipts, results = observe_wire(wire.published, t0)
    assert [r.item_id for r in device.receipts] == [r.item for r in receipts]
    return Observed(receipts, results, len(device.core.pending_receipts()), device.volume)


@pytest.mark.parametrize("scenario", scenarios_for("sim"), ids=lambda sc: sc.name)
def test_the_simulator_does_what_the_table_says(scenario: Scenario) -> None:
    assert mismatches(scenario, asyncio.run(run_sim(scenario)), TOLERANCE_MS) == []


def test_acknowledged_receipts_are_counted_once() -> None:
    (scenario,) = [sc for sc in scenarios_for("sim") if any(isinstance(st, AckAll) for st in sc.steps)]
    stats = SimStats()

    async def run() -> None:
        config = SimConfig(host="127.0.0.1", port=1, topics=TOPICS, play_s=0.05, server_public_key=PUBLIC)
        device = SimDevice(SimIdentity(DEVICE, "s"), config, stats)
        device.client = Recorder()  # type: ignore[assignment]
        device.feed(s.CONNECTED)
        for step in scenario.steps:
            device._on_message(*wire_of(step, now_ms(), device.client.published))  # type: ignore[attr-defined]
            await asyncio.sleep(0.3)

    asyncio.run(run())
    assert stats.receipts_sent == 1 and stats.receipts_acked == 1  # the ack named it twice

"""A simulated loudspeaker repeats a "play now" with ``repeat_gap_s`` until a stop, each round with
its own receipt, as the agent does (the agent's own test: tests/fleet/test_agent_commands.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from loa.protocol import messages as m
from loa.protocol.topics import Topics
from loa.sim.device import SimConfig, SimDevice, SimIdentity, SimStats


def test_rounds_come_until_the_stop() -> None:
    async def scenario() -> list[str]:
        config = SimConfig(host="127.0.0.1", port=1, topics=Topics("t"), play_s=0.06)
        device = SimDevice(SimIdentity("loa-000000000001", "x"), config, SimStats())
        now = m.now_utc()
        device._on_command(
            m.PlayNow(
                id="c1",
                issued_at=now,
                expires_at=now + timedelta(minutes=5),
                args=m.PlayNowArgs(audio_sha256="a" * 64, item_id="lu", priority=900, repeat_gap_s=0),
            )
        )
        await asyncio.sleep(0.6)
        assert device.seq >= 3  # rounds played, each a receipt
        device._on_command(m.Stop(id="c2", issued_at=now, expires_at=now + timedelta(minutes=5)))
        after_stop = device.seq
        await asyncio.sleep(0.4)
        assert device.seq == after_stop and device.playing is None
        once = SimDevice(SimIdentity("loa-000000000002", "x"), config, SimStats())
        once._on_command(
            m.PlayNow(
                id="c3",
                issued_at=now,
                expires_at=now + timedelta(minutes=5),
                args=m.PlayNowArgs(audio_sha256="a" * 64, item_id="tb"),
            )
        )
        await asyncio.sleep(0.4)
        assert once.seq == 1  # without repeat_gap_s: once
        return [r.item_id for _, r in device.pending.values()]

    ids = asyncio.run(scenario())
    assert ids[:3] == ["lu", "lu.r2", "lu.r3"]
    assert len(ids) == len(set(ids))


def test_a_late_stop_ends_the_repetition_and_nothing_else() -> None:
    async def scenario() -> None:
        config = SimConfig(host="127.0.0.1", port=1, topics=Topics("t"), play_s=0.06)
        device = SimDevice(SimIdentity("loa-000000000003", "x"), config, SimStats())
        now = m.now_utc()
        args = m.PlayNowArgs(audio_sha256="a" * 64, item_id="lu", priority=900, repeat_gap_s=0)
        device._on_command(
            m.PlayNow(id="c1", issued_at=now, expires_at=now + timedelta(minutes=5), args=args)
        )
        await asyncio.sleep(0.3)
        long_ago = now - timedelta(hours=3)  # sent while the device was away; delivered now
        device._on_command(m.Stop(id="c2", issued_at=long_ago, expires_at=long_ago + timedelta(minutes=10)))
        assert device.stats.expired == 1 and device.repeating is None
        after = device.seq
        await asyncio.sleep(0.3)
        assert device.seq == after and device.playing is None

        # With nothing repeating, a late stop cuts nothing (a programme playing then goes on).
        quiet = SimDevice(
            SimIdentity("loa-000000000004", "x"), dataclasses.replace(config, play_s=5), SimStats()
        )
        quiet._on_command(
            m.PlayNow(
                id="c3",
                issued_at=now,
                expires_at=now + timedelta(minutes=5),
                args=m.PlayNowArgs(audio_sha256="b" * 64, item_id="ct"),
            )
        )
        quiet._on_command(m.Stop(id="c4", issued_at=long_ago, expires_at=long_ago + timedelta(minutes=10)))
        assert quiet.playing is not None and quiet.playing.item_id == "ct"

    asyncio.run(scenario())

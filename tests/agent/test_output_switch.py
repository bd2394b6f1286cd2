"""Issue 14.4: the agent turns an older system's amplifier or transmitter on before it plays and off
after, with a real command (a Python process appending to a marker file) or a file written 1/0; items
back to back do not toggle it; a failing switch is reported in the status and never stops the sound."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from loa.agent.player import now_ms
from loa.agent.switch import OutputSwitchConfig
from loa.protocol import messages as m
from tests.agent.test_streams import cache_clip, file_segments, manifest, new_agent, run, wav_clip
from tests.support.streams import StreamSlot


def marker_command(marker: Path, word: str, code: int = 0) -> list[str]:
    script = (
        f"import time; open({str(marker)!r}, 'a').write('{word} ' + repr(time.time()) + '\\n');"
        f" raise SystemExit({code})"
    )
    return [sys.executable, "-c", script]


def marks(marker: Path) -> list[tuple[str, float]]:
    lines = marker.read_text().splitlines() if marker.exists() else []
    return [(w, float(t)) for w, t in (line.split() for line in lines)]


def test_the_switch_is_on_before_the_first_item_and_off_after_the_last(tmp_path: Path) -> None:
    marker = tmp_path / "amp.log"
    switch = OutputSwitchConfig(
        on_command=marker_command(marker, "on"),
        off_command=marker_command(marker, "off"),
        warm_up_ms=600,
        hold_s=0.8,
    )
    agent = new_agent(tmp_path, output_switch=switch)
    sha, size = cache_clip(agent, wav_clip(0.6, 440))
    t0 = now_ms() + 300
    slots = [
        StreamSlot("p.a", start=1000, duration=600, priority=300, sha256=sha, size=size),
        StreamSlot("p.b", start=1900, duration=600, priority=300, sha256=sha, size=size),  # 300 ms later
    ]
    receipts = asyncio.run(run(agent, t0, [(0, manifest(slots))], until=3800))
    assert [r.outcome for r in receipts] == [m.Outcome.PLAYED, m.Outcome.PLAYED]
    (on, on_at), (off, off_at) = marks(marker)  # once on, once off: the gap did not toggle it
    assert (on, off) == ("on", "off")
    first = file_segments(tmp_path, "p.a")[0]["started_at"]
    last = file_segments(tmp_path, "p.b")[0]
    assert 0.3 <= first - on_at <= 0.9  # the warm-up, ahead of the planned start
    assert abs(first * 1000 - (t0 + 1000)) < 150  # and the item still on time
    assert off_at - (last["started_at"] + last["played_ms"] / 1000) >= 0.75  # after the hold time
    assert agent.status(m.StatusReason.HEARTBEAT).output_switch_error is None


def test_a_gpio_value_file_is_1_while_playing_and_0_after(tmp_path: Path) -> None:
    gpio = tmp_path / "gpio17-value"
    gpio.write_text("0")
    switch = OutputSwitchConfig(path=gpio, warm_up_ms=0, hold_s=0.3)
    agent = new_agent(tmp_path, output_switch=switch)
    sha, size = cache_clip(agent, wav_clip(1.0, 440))
    t0 = now_ms() + 300
    seen: list[str] = []

    async def look(agent: object, t0: int) -> None:
        seen.append(gpio.read_text())

    slot = StreamSlot("p.c", start=0, duration=1000, priority=300, sha256=sha, size=size)
    asyncio.run(run(agent, t0, [(0, manifest([slot])), (500, look)], until=1800))
    assert seen == ["1"] and gpio.read_text() == "0"


def test_a_failing_switch_is_reported_and_the_item_still_plays(tmp_path: Path) -> None:
    marker = tmp_path / "amp.log"
    switch = OutputSwitchConfig(
        on_command=marker_command(marker, "on", code=3),
        off_command=marker_command(marker, "off"),
        warm_up_ms=0,
        hold_s=30,
    )
    agent = new_agent(tmp_path, output_switch=switch)
    sha, size = cache_clip(agent, wav_clip(0.5, 440))
    t0 = now_ms() + 300
    statuses: list[m.Status] = []

    async def status(agent: object, t0: int) -> None:
        statuses.append(agent.status(m.StatusReason.HEARTBEAT))  # type: ignore[attr-defined]

    slot = StreamSlot("p.d", start=0, duration=500, priority=300, sha256=sha, size=size)
    started = time.time()
    (receipt,) = asyncio.run(run(agent, t0, [(0, manifest([slot])), (300, status)], until=900))
    assert receipt.outcome is m.Outcome.PLAYED
    assert [w for w, _ in marks(marker)] == ["on"] and marks(marker)[0][1] >= started
    (st,) = statuses
    assert st.output_switch_error is not None and "exited with 3" in st.output_switch_error


def test_the_switch_is_configured_one_way_only(tmp_path: Path) -> None:
    import pytest
    from pydantic import ValidationError

    from loa.agent.config import AgentConfig

    config = tmp_path / "agent.toml"
    config.write_text(
        'server_url = "https://loa.example.vn"\n[output_switch]\non_command = ["/usr/local/bin/amp", "on"]\n'
        'off_command = ["/usr/local/bin/amp", "off"]\nwarm_up_ms = 1500\nhold_s = 20\n'
    )
    loaded = AgentConfig.load(config).output_switch
    assert loaded is not None and loaded.on_command == ["/usr/local/bin/amp", "on"]
    for bad in ({"on_command": ["amp", "on"]}, {}, {"on_command": ["a"], "off_command": ["b"], "path": "/x"}):
        with pytest.raises(ValidationError):
            OutputSwitchConfig.model_validate(bad)

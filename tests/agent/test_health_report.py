"""The agent's health report (issue 18.3): uptime from /proc, the 4G modem from ModemManager's
``mmcli`` (the modem is outside the machine: a runner answers as ``mmcli -K`` does on a board with a
Quectel EC25 on Viettel), the month's data counter kept across restarts, the sound output's state and
the installed release — all in one status that parses as protocol v1."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from loa.agent import sysinfo
from loa.agent.config import AgentConfig
from loa.agent.fetch import DataBudget
from loa.agent.runtime import Agent
from loa.protocol import messages as m
from loa.protocol.topics import Channel

MMCLI_LIST = """modem-list.length   : 1
modem-list.value[1] : /org/freedesktop/ModemManager1/Modem/3
"""
MMCLI_MODEM = """modem.dbus-path                                 : /org/freedesktop/ModemManager1/Modem/3
modem.generic.manufacturer                      : QUALCOMM INCORPORATED
modem.generic.model                             : EC25
modem.generic.state                             : connected
modem.generic.signal-quality.value              : 67
modem.generic.signal-quality.recent             : yes
modem.3gpp.operator-code                        : 45204
modem.3gpp.operator-name                        : Viettel
modem.3gpp.registration-state                   : home
"""
MMCLI_SIGNAL = """modem.signal.refresh.rate                       : 30
modem.signal.cdma1x.rssi                        : --
modem.signal.gsm.rssi                           : --
modem.signal.umts.rssi                          : --
modem.signal.lte.rssi                           : -71.00
modem.signal.lte.rsrq                           : -9.00
modem.signal.lte.rsrp                           : -97.00
modem.signal.lte.snr                            : 11.40
"""


class FakeMmcli:
    """Answers as ``mmcli`` does for the modem index it listed; records what was asked."""

    def __init__(self, *, present: bool = True) -> None:
        self.present = present
        self.asked: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str | None:
        self.asked.append(list(argv))
        if not self.present:
            return None
        args = list(argv)
        if args == ["mmcli", "-L", "-K"]:
            return MMCLI_LIST
        if args == ["mmcli", "-m", "3", "-K"]:
            return MMCLI_MODEM
        if args == ["mmcli", "-m", "3", "--signal-get", "-K"]:
            return MMCLI_SIGNAL
        return None


def test_modem_operator_and_signal_are_read_from_mmcli() -> None:
    runner = FakeMmcli()
    found = sysinfo.modem(runner)
    assert found == sysinfo.ModemInfo(operator="Viettel", signal_dbm=-71.0, signal_percent=67)
    assert ["mmcli", "-m", "3", "--signal-get", "-K"] in runner.asked


def test_no_modem_manager_means_no_modem_facts() -> None:
    assert sysinfo.modem(FakeMmcli(present=False)) is None
    assert sysinfo.modem(lambda argv: "modem-list.length : 0\n") is None
    info = sysinfo.with_modem(m.NetworkInfo(kind="ethernet", interface="eth0"), None)
    assert info.signal_dbm is None and info.operator is None


def test_uptime_is_the_boards_not_the_agents(tmp_path: Path) -> None:
    real = sysinfo.uptime_s()
    assert real is not None and real > 0
    fake = tmp_path / "uptime"
    fake.write_text("93784.51 180000.10\n")
    assert sysinfo.uptime_s(fake) == 93784
    fake.write_text("garbage")
    assert sysinfo.uptime_s(fake) is None


def test_the_month_counter_survives_a_restart_and_the_budget_turns_tight(tmp_path: Path) -> None:
    path = tmp_path / "budget.json"
    budget = DataBudget(path, daily_bytes=1000)
    budget.spend(400)
    assert not budget.tight
    budget.spend(200)
    budget.save()
    again = DataBudget(path, daily_bytes=1000)
    assert (again.used, again.month_used) == (600, 600)
    assert again.tight  # more than half the day's budget: smaller audio from now on
    # A file from last month keeps nothing.
    path.write_text('{"day": "2001-01-01", "used": 5, "month": "2001-01", "month_used": 99}')
    old = DataBudget(path, daily_bytes=None)
    assert (old.used, old.month_used, old.tight) == (0, 0, False)
    assert str(date.today())[:7] != "2001-01"


def test_the_status_carries_every_health_fact(tmp_path: Path) -> None:
    config = AgentConfig(
        server_url="http://127.0.0.1:9",
        data_dir=tmp_path / "data",
        sink="null",
        daily_data_budget_mb=2,
        install_root=tmp_path / "opt",
    )
    agent = Agent(config)
    mmcli = FakeMmcli()
    agent.modem = sysinfo.ModemProbe(mmcli)
    agent.budget.spend(1_700_000)
    agent.output.failing = True
    asyncio.run(agent.modem.refresh())
    status = m.parse(Channel.STATUS, agent.status(m.StatusReason.HEARTBEAT).to_bytes())
    assert isinstance(status, m.Status)
    assert status.network is not None
    assert (status.network.operator, status.network.signal_dbm) == ("Viettel", -71.0)
    assert status.data_used_today_bytes == 1_700_000
    assert status.data_used_month_bytes == 1_700_000
    assert status.data_budget_bytes == 2_000_000
    assert status.output_state == "failing"
    assert status.agent_version  # the launcher's slot, else this code's version
    board = sysinfo.uptime_s()
    assert board is not None and abs(status.uptime_s - board) <= 2  # the board's, from /proc/uptime
    assert status.storage_total_bytes and status.storage_free_bytes is not None
    assert status.rolled_back_from is None
    # The modem is asked at most once a minute (three short commands), not at every heartbeat.
    asked = len(mmcli.asked)
    asyncio.run(agent.modem.refresh())
    assert len(mmcli.asked) == asked

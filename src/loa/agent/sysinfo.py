"""What the board can tell about itself: storage, temperature, uptime, network and the 4G modem
(ModemManager's ``mmcli``, when present). Missing facts are None."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from loa.protocol.messages import NetworkInfo

THERMAL_ROOT = Path("/sys/class/thermal")
NET_ROOT = Path("/sys/class/net")
UPTIME_FILE = Path("/proc/uptime")
MMCLI_TIMEOUT_S = 5.0
# What ``mmcli --signal-get`` reports, best first (dBm); ``modem.generic.signal-quality`` is a percent.
SIGNAL_KEYS = (
    "modem.signal.lte.rssi",
    "modem.signal.umts.rssi",
    "modem.signal.gsm.rssi",
    "modem.signal.5g.rssi",
)

# Runs a command and returns its output (None: not installed, failed or timed out). The modem is
# outside the machine: tests pass a runner that answers as ``mmcli`` would.
Runner = Callable[[Sequence[str]], str | None]


def storage(path: Path) -> tuple[int | None, int | None]:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None
    return usage.free, usage.total


def temperature_c(root: Path = THERMAL_ROOT) -> float | None:
    """Highest reading of the thermal zones (millidegrees in sysfs)."""
    readings = []
    for zone in sorted(root.glob("thermal_zone*/temp")):
        try:
            readings.append(int(zone.read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    plausible = [r for r in readings if -60 <= r <= 200]
    return max(plausible) if plausible else None


def network(root: Path = NET_ROOT) -> NetworkInfo:
    """The first interface that is up, classified by name (wwan/usb/ppp → 4g, wl → wifi, e → ethernet)."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return NetworkInfo()
    for name in names:
        if name == "lo":
            continue
        try:
            state = (root / name / "operstate").read_text().strip()
        except OSError:
            continue
        if state not in ("up", "unknown"):
            continue
        if name.startswith(("wwan", "usb", "ppp", "rmnet")):
            kind = "4g"
        elif name.startswith("wl"):
            kind = "wifi"
        elif name.startswith(("e", "en")):
            kind = "ethernet"
        else:
            kind = "unknown"
        return NetworkInfo(kind=kind, interface=name)
    return NetworkInfo()


def uptime_s(path: Path = UPTIME_FILE) -> int | None:
    """Seconds since the board booted (``/proc/uptime``), not since the agent started."""
    try:
        return int(float(path.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return None


def run_command(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=MMCLI_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_keyvalues(text: str) -> dict[str, str]:
    """``mmcli -K`` output: ``key : value`` lines; ``--`` (unknown) is left out."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key and value and value != "--":
            found[key] = value
    return found


@dataclass(frozen=True)
class ModemInfo:
    operator: str | None = None
    signal_dbm: float | None = None
    signal_percent: int | None = None


def modem(run: Runner = run_command) -> ModemInfo | None:
    """The first modem ModemManager knows: its operator and signal. None: no ``mmcli`` or no modem."""
    listing = run(["mmcli", "-L", "-K"])
    if listing is None:
        return None
    paths = [v for k, v in parse_keyvalues(listing).items() if k.startswith("modem-list.value")]
    if not paths:
        return None
    index = paths[0].rsplit("/", 1)[-1]
    if not index.isdigit():
        return None
    details = parse_keyvalues(run(["mmcli", "-m", index, "-K"]) or "")
    signal = parse_keyvalues(run(["mmcli", "-m", index, "--signal-get", "-K"]) or "")
    dbm = None
    for key in SIGNAL_KEYS:
        try:
            dbm = float(signal[key])
        except (KeyError, ValueError):
            continue
        if -150 <= dbm <= 0:
            break
        dbm = None
    try:
        percent: int | None = int(details.get("modem.generic.signal-quality.value", ""))
    except ValueError:
        percent = None
    operator = details.get("modem.3gpp.operator-name")
    return ModemInfo(operator=operator[:60] if operator else None, signal_dbm=dbm, signal_percent=percent)


class ModemProbe:
    """The modem's facts for the statuses, asked at most every ``every_s`` (in a worker thread)."""

    def __init__(self, run: Runner = run_command, *, every_s: float = 60.0) -> None:
        self.run = run
        self.every_s = every_s
        self.info: ModemInfo | None = None
        self._asked_at: float | None = None

    async def refresh(self) -> None:
        at = time.monotonic()
        if self._asked_at is not None and at - self._asked_at < self.every_s:
            return
        self._asked_at = at
        self.info = await asyncio.to_thread(modem, self.run)


def with_modem(info: NetworkInfo, found: ModemInfo | None) -> NetworkInfo:
    """The interface's facts completed by the modem's (signal, operator)."""
    if found is None:
        return info
    return info.model_copy(update={"signal_dbm": found.signal_dbm, "operator": found.operator})

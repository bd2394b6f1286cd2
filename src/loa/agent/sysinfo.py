"""What the board can tell about itself: storage, temperature, network. Missing facts are None."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from loa.protocol.messages import NetworkInfo

THERMAL_ROOT = Path("/sys/class/thermal")
NET_ROOT = Path("/sys/class/net")


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

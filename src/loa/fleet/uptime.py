"""Online fraction of a device over a window, from its state changes. Pure: no database.

``device_status_log`` holds one row per change (online / offline), never every heartbeat. The state
at the window's start is the last change before it; time before the first known change is not
counted (the device did not exist or was never heard), so a device added an hour ago that has been
online since shows 100 %, not 4 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from loa.vocab.numbers import percent_text


@dataclass(frozen=True)
class Uptime:
    online_s: float
    observed_s: float

    @property
    def fraction(self) -> float | None:
        return self.online_s / self.observed_s if self.observed_s > 0 else None

    @property
    def percent_label(self) -> str:
        fraction = self.fraction
        return "—" if fraction is None else percent_text(fraction * 100)


def online_time(changes: Iterable[tuple[datetime, bool]], *, start: datetime, end: datetime) -> Uptime:
    """``changes``: (at, online) in any order, all of them or at least the last one before ``start``."""
    ordered = sorted(changes, key=lambda c: c[0])
    state: bool | None = None
    cursor = start
    online_s = observed_s = 0.0
    for at, online in ordered:
        if at <= start:
            state = online
            continue
        if at >= end:
            break
        if state is not None:
            span = (at - cursor).total_seconds()
            observed_s += span
            online_s += span if state else 0.0
        cursor, state = at, online
    if state is not None and end > cursor:
        span = (end - cursor).total_seconds()
        observed_s += span
        online_s += span if state else 0.0
    return Uptime(online_s=online_s, observed_s=observed_s)


UPTIME_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("24 giờ qua", timedelta(hours=24)),
    ("7 ngày qua", timedelta(days=7)),
)

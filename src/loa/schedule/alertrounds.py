"""Emergency alerts in the manifest: each active alert becomes its rounds, laid out over the window.

An alert (``loa.alerts``) is sent as a "play now" with ``repeat_gap_s`` *and* carried by the signed
manifest of every device it targets, so that a loudspeaker that restarts, was offline when it was sent
or enrols during it still plays it, from its cache, until the manifest without it arrives (stopped) or
the alert's expiry (each round's ``not_after_at``). Round ``n`` starts at
``started_at + (n - 1) × (audio length + gap)``, at the emergency rung, with the item id the device's
own repetition of the command gives that round (``itemids.alert_round_item``): a device that got both
plays each round once (a "play now" reusing a manifest item's id replaces it), and its receipts name
the same items either way.

Rounds are laid out up to ``HORIZON`` ahead of the window's start (at most ``MAX_ROUNDS``): the periodic
recompilation (hourly) extends them long before they run out. The horizon is short on purpose: every
targeted device gets its own signed copy (a few hundred bytes per round), so an alert to ten thousand
loudspeakers stores ten thousand manifests. A loudspeaker cut off from the server for longer than the
horizon stops repeating the alert from its manifest when the rounds run out. No new wire field: a
device of any version plays them as ordinary manifest items (docs/protocol.md, "Emergency alerts").
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.protocol import itemids
from loa.protocol.priority import PreemptRule, Priority
from loa.schedule.contentindex import audio_url
from loa.schedule.snapshot import Announcement, AudioRef, Target, TargetKind
from loa.speech.models import AudioAsset

HORIZON = timedelta(hours=2)
MAX_ROUNDS = 120
ACTIVE = "active"  # ``loa.alerts.service.ACTIVE``


def round_starts(
    *,
    started_at: datetime,
    period: timedelta,
    duration: timedelta,
    start_at: datetime,
    end_at: datetime,
    max_rounds: int = MAX_ROUNDS,
) -> list[tuple[int, datetime]]:
    """(round number, start) of every round that sounds in ``[start_at, end_at)``: a round begun
    before ``start_at`` but not over yet is included (a device joining mid-round hears its rest)."""
    if period <= timedelta(0) or end_at <= start_at:
        return []
    first = 1
    if start_at - duration > started_at:
        first = (start_at - duration - started_at) // period + 1
    out: list[tuple[int, datetime]] = []
    number = first
    while len(out) < max_rounds:
        at = started_at + (number - 1) * period
        if at >= end_at:
            break
        if at + duration > start_at:
            out.append((number, at))
        number += 1
    return out


def _targets(alert: EmergencyAlert) -> tuple[Target, ...]:
    """The loudspeakers chosen by name, else every device of the communes (one enrolled during the
    alert included)."""
    chosen = json.loads(alert.target) if alert.target else {}
    uids = chosen.get("device_uids")
    if uids:
        return tuple(sorted(Target(TargetKind.DEVICE, str(u)) for u in uids))
    return tuple(sorted(Target(TargetKind.COMMUNE, str(c)) for c in json.loads(alert.commune_codes)))


def alert_announcements(session: Session, *, start_at: datetime, end_at: datetime) -> list[Announcement]:
    """The rounds of every alert active in the window, as one-off announcements with their own ids."""
    alerts = list(
        session.scalars(
            select(EmergencyAlert)
            .where(
                EmergencyAlert.status == ACTIVE,
                EmergencyAlert.stopped_at.is_(None),
                or_(EmergencyAlert.expires_at.is_(None), EmergencyAlert.expires_at > start_at),
            )
            .order_by(EmergencyAlert.id)
        )
    )
    if not alerts:
        return []
    shas = {a.aired_sha256 or a.audio_sha256 for a in alerts}
    assets = {
        sha: (size, duration)
        for sha, size, duration in session.execute(
            select(AudioAsset.sha256, AudioAsset.size_bytes, AudioAsset.duration_ms).where(
                AudioAsset.sha256.in_(sorted(shas))
            )
        )
    }
    out: list[Announcement] = []
    for alert in alerts:
        sha = alert.aired_sha256 or alert.audio_sha256
        found = assets.get(sha)
        if found is None or found[1] <= 0:
            continue
        size, duration_ms = found
        duration = timedelta(milliseconds=duration_ms)
        until = min(end_at, start_at + HORIZON)
        if alert.expires_at is not None:
            until = min(until, alert.expires_at)
        audio = AudioRef(audio_url(sha), duration_ms, sha, size)
        targets = _targets(alert)
        for number, at in round_starts(
            started_at=alert.started_at,
            period=duration + timedelta(seconds=alert.repeat_gap_s),
            duration=duration,
            start_at=start_at,
            end_at=until,
        ):
            out.append(
                Announcement(
                    id=f"alert{alert.id}-r{number}",
                    title=alert.title[:200],
                    start_at=at,
                    audio=audio,
                    targets=targets,
                    priority=int(Priority.EMERGENCY),
                    preempt_rule=PreemptRule.RESTART,
                    not_after_at=alert.expires_at,
                    item_id=itemids.alert_round_item(alert.id, number),
                )
            )
    return out

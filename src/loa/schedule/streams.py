"""Live broadcasts and relays (``loa.live``) as the compiler sees them: one-off stream announcements.

Each session becomes an ``Announcement`` whose audio is a stream (``AudioKind.STREAM``) at the live
rung (a person speaking) or the scheduled rung (a relay), aimed at the chosen communes and villages,
starting at its start and cut (``not_after_at``) at its planned end — or at its actual end once
stopped, so devices stop it there and resume what it interrupted. The compiler adds each device's
token to the URL (``loa.protocol.streams``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from loa.live.service import STREAM_PREEMPT, stream_slots
from loa.protocol.manifest import AudioKind
from loa.schedule.snapshot import Announcement, AudioRef, Target, TargetKind


def stream_announcements(session: Session, *, start_at: datetime, end_at: datetime) -> list[Announcement]:
    out = []
    for slot in stream_slots(session, start_at=start_at, end_at=end_at):
        duration_ms = int((slot.end_at - slot.start_at).total_seconds() * 1000)
        out.append(
            Announcement(
                id=slot.id,
                title=slot.title,
                start_at=slot.start_at,
                audio=AudioRef(url=slot.url, duration_ms=duration_ms, kind=AudioKind.STREAM),
                targets=tuple(sorted(Target(TargetKind(kind), code) for kind, code in slot.targets)),
                priority=slot.priority,
                preempt_rule=STREAM_PREEMPT,
                not_after_at=slot.end_at,
            )
        )
    return out

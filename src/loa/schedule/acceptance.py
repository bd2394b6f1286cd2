"""The operator's answer to the conflicts a scheduling change would cause: refused (409, nothing
written) unless accepted, ``keep`` keeps both airings (audited), ``proposal`` applies the compiler's
proposed shifts and checks again. Shared by programmes, slots and announcements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.schedule import checks
from loa.schedule import models as m
from loa.schedule.conflicts import Conflict as ScheduleConflict
from loa.schedule.proposals import apply_proposals


@dataclass(frozen=True)
class Outcome:
    """A scheduling change: what it produced, the conflicts the operator accepted, and warnings."""

    programme: m.Programme | None = None
    accepted_conflicts: tuple[ScheduleConflict, ...] = ()
    applied: tuple[str, ...] = ()  # Vietnamese descriptions of applied proposals
    warnings: tuple[str, ...] = field(default=())


def check_conflicts(
    session: Session,
    *,
    principal: Principal,
    subject: checks.Subject,
    accept: checks.Accept | None,
    now: datetime,
) -> tuple[tuple[ScheduleConflict, ...], tuple[str, ...]]:
    """Refuse (409) on same-priority conflicts unless the operator accepted them: ``keep`` keeps both,
    ``proposal`` applies the proposed shifts (then checks again). Returns (accepted, applied)."""
    session.flush()
    found = checks.find(session, subject, now=now)
    if not found:
        return (), ()
    if accept is None:
        raise checks.refuse(found)
    if accept is checks.Accept.KEEP:
        record(
            session,
            action="schedule.conflict_keep",
            actor=principal,
            target_type="programme" if subject.programmes else "announcement",
            target_id=",".join(str(i) for i in sorted(subject.programmes | subject.announcements))[:64],
            details={"conflicts": [c.message for c in found[:20]], "count": len(found)},
        )
        return tuple(found), ()
    applied: list[str] = []
    for _round in range(3):
        applied += apply_proposals(session, principal=principal, conflicts=found, now=now)
        session.flush()
        found = checks.find(session, subject, now=now)
        if not found:
            return (), tuple(applied)
    raise checks.refuse(found)

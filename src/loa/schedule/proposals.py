"""Apply the compiler's proposals ("move the later item to after the earlier one ends") when the
operator explicitly asked for it. Each applied shift is a normal, audited slot move or announcement
change, limited to what the operator may edit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.errors import InvalidInput
from loa.schedule import models as m
from loa.schedule.access import editable_announcement, editable_programme
from loa.schedule.conflicts import Conflict, format_local_vi
from loa.schedule.recurrence import to_local


def _ceil_minute(at: datetime) -> datetime:
    seconds = at.second + at.microsecond / 1e6
    return at.replace(second=0, microsecond=0) + timedelta(minutes=math.ceil(seconds / 60))


def _shift_announcement(session: Session, principal: Principal, ident: int, new_start_at: datetime) -> str:
    a = editable_announcement(session, principal=principal, announcement_id=ident)
    shift = new_start_at - a.start_at
    a.start_at = new_start_at
    if a.not_after_at is not None:
        a.not_after_at += shift
    record(
        session,
        action="schedule.announcement_move",
        actor=principal,
        target_type="announcement",
        target_id=a.id,
        area_id=a.area_id,
        details={"to": new_start_at.isoformat(), "reason": "proposal"},
    )
    return f"Đã dời thông báo «{a.title}» sang {format_local_vi(new_start_at)}."


def _shift_airing(session: Session, principal: Principal, block_id: str, new_start_at: datetime) -> str:
    programme_id, _, stamp = block_id.partition("@")
    try:
        airing_at = datetime.strptime(stamp, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        programme = editable_programme(session, principal=principal, programme_id=int(programme_id))
    except ValueError as err:
        raise InvalidInput("Đề xuất không hợp lệ.", code="proposal_invalid") from err
    airing_local = to_local(airing_at, programme.timezone)
    new_local = to_local(_ceil_minute(new_start_at), programme.timezone)
    row = session.scalar(
        select(m.Slot).where(
            m.Slot.programme_id == programme.id,
            or_(m.Slot.moved_to_local == airing_local, m.Slot.occurrence_local == airing_local),
        )
    )
    if row is None:
        row = m.Slot(programme_id=programme.id, occurrence_local=airing_local)
        session.add(row)
    row.status, row.moved_to_local = m.SlotStatus.MOVED, new_local
    row.updated_by_id = principal.user_id
    session.flush()
    key = f"{programme.id}-{row.occurrence_local:%Y%m%dT%H%M}"
    record(
        session,
        action="schedule.slot_move",
        actor=principal,
        target_type="slot",
        target_id=key,
        area_id=programme.area_id,
        details={
            "programme": programme.name,
            "from": airing_local.isoformat(),
            "to": new_local.isoformat(),
            "reason": "proposal",
        },
    )
    return f"Đã dời buổi phát «{programme.name}» sang {new_local:%H:%M ngày %d/%m/%Y}."


def apply_proposals(
    session: Session, *, principal: Principal, conflicts: Sequence[Conflict], now: datetime
) -> list[str]:
    applied: list[str] = []
    done: set[str] = set()
    for c in conflicts:
        proposal = c.proposed_resolution
        if proposal.block_id in done:
            continue
        done.add(proposal.block_id)
        if proposal.block_id.startswith("a:"):
            ident = proposal.block_id[2:].split("-", 1)[0]
            applied.append(_shift_announcement(session, principal, int(ident), proposal.new_start_at))
        else:
            applied.append(_shift_airing(session, principal, proposal.block_id, proposal.new_start_at))
    return applied

"""Programme use cases: create, edit, cancel, list; scope by the principal's areas. Keyword-only,
session first, never commit (the caller commits). Every change is written to the audit log.

Slots, running orders and announcements are in ``loa.schedule.slots`` and ``loa.schedule.announcements``;
they share the validation here; the scope lookups are in ``loa.schedule.access`` and the operator's
answer to conflicts (refuse, keep, apply the proposals) in ``loa.schedule.acceptance``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import NO_AREA, require, sees_path
from loa.errors import Conflict, InvalidInput
from loa.protocol.priority import PreemptRule
from loa.schedule import checks
from loa.schedule import models as m
from loa.schedule.acceptance import Outcome, check_conflicts
from loa.schedule.access import editable_programme
from loa.schedule.conflicts import Conflict as ScheduleConflict
from loa.schedule.dbsnapshot import programme_recurrence
from loa.schedule.recurrence import VIETNAM_TZ, Recurrence, occurrences, resolve_timezone, to_utc, validate
from loa.schedule.snapshot import TargetKind
from loa.schedule.targets import (
    ResolvedTarget,
    StoredTarget,
    TargetInput,
    common_area_id,
    describe,
    resolve_targets,
)
from loa.schedule.wording import describe as describe_recurrence_vi
from loa.topics.models import Topic
from loa.units.models import AdminUnit
from loa.vocab.ladder import check_priority, ladder_priority, rung_of

MAX_SLOT_MINUTES = 24 * 60
CHECK_HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class ProgrammeInput:
    """A programme as a person enters it. Times are local (Vietnam) wall-clock, naive."""

    name: str
    start_local: datetime
    slot_minutes: int
    targets: Sequence[TargetInput]
    rrule: str | None = None
    until_cancelled: bool = False
    timezone: str = VIETNAM_TZ
    except_dates: Sequence[date] = ()
    except_local: Sequence[datetime] = ()
    extra_local: Sequence[datetime] = ()
    skip_holidays: bool = False
    max_per_day: int | None = None  # a campaign's cap ("3 lần/ngày"), see ``Recurrence.max_per_day``
    priority: int | str = "normal"
    preempt_rule: str | None = None
    volume_percent: int = 100
    topic_code: str | None = None
    owner_organisation: str = ""
    description: str = ""


# --- scope ---


def stored_targets(session: Session, programme_id: int) -> list[StoredTarget]:
    rows = session.scalars(
        select(m.ProgrammeTarget)
        .where(m.ProgrammeTarget.programme_id == programme_id)
        .order_by(m.ProgrammeTarget.id)
    )
    return [StoredTarget(TargetKind(t.kind), t.ref_id, t.language) for t in rows]


def programme_targets(session: Session, programme_id: int) -> list[ResolvedTarget]:
    return describe(session, stored_targets(session, programme_id))


# --- validation ---


def clean_priority(raw: int | str) -> int:
    if isinstance(raw, str) and not raw.strip().lstrip("-").isdigit():
        return int(ladder_priority(raw.strip()))
    return check_priority(int(raw))


def clean_preempt(raw: str | None, priority: int) -> PreemptRule:
    if raw in (None, ""):
        return rung_of(priority).default_preempt_rule
    try:
        return PreemptRule(str(raw))
    except ValueError as err:
        raise InvalidInput(
            "Cách xử lý khi bị ngắt không hợp lệ (resume, restart hoặc skip).", code="preempt_rule_invalid"
        ) from err


def clean_recurrence(data: ProgrammeInput) -> Recurrence:
    """Check what a person entered; every refusal is ``InvalidInput`` in Vietnamese."""
    resolve_timezone(data.timezone)
    if data.start_local.tzinfo is not None:
        raise InvalidInput("Giờ bắt đầu phải là giờ địa phương.", code="start_invalid")
    if data.start_local.second or data.start_local.microsecond:
        raise InvalidInput("Giờ bắt đầu chỉ tính đến phút.", code="start_invalid")
    rule = (data.rrule or "").strip() or None
    recurrence = Recurrence(
        start_local=data.start_local,
        rule=rule,
        timezone=data.timezone,
        except_local=tuple(sorted(set(data.except_local))),
        except_dates=tuple(sorted(set(data.except_dates))),
        extra_local=tuple(sorted(set(data.extra_local))),
        skip_holidays=data.skip_holidays,
        max_per_day=data.max_per_day,
    )
    # malformed rule, unknown timezone, a rule that never occurs, a cap outside 1–MAX_PER_DAY
    validate(recurrence)
    if not recurrence.bounded and not data.until_cancelled:
        raise InvalidInput(
            "Lịch lặp lại không có điểm kết thúc (chưa có ngày kết thúc hay số lần phát). Hãy đặt ngày "
            "kết thúc, hoặc chọn «phát đến khi hủy» nếu chương trình phát liên tục.",
            code="rrule_unbounded",
        )
    if rule is not None and data.until_cancelled and recurrence.bounded:
        raise InvalidInput(
            "Lịch lặp lại đã có ngày kết thúc (hoặc số lần phát) nên không thể chọn «phát đến khi hủy».",
            code="rrule_bounded",
        )
    return recurrence


def _check_fields(data: ProgrammeInput) -> tuple[str, int, int, PreemptRule]:
    name = " ".join(data.name.split())
    if not name or len(name) > 200:
        raise InvalidInput("Tên chương trình là bắt buộc (tối đa 200 ký tự).", code="name_invalid")
    if not 1 <= data.slot_minutes <= MAX_SLOT_MINUTES:
        raise InvalidInput("Độ dài khung giờ phải từ 1 phút đến 24 giờ.", code="slot_length_invalid")
    if not 0 <= data.volume_percent <= 100:
        raise InvalidInput("Âm lượng phải từ 0 đến 100%.", code="volume_invalid")
    if len(data.owner_organisation) > 200 or len(data.description) > 5000:
        raise InvalidInput("Tên đơn vị hoặc mô tả quá dài.", code="text_too_long")
    priority = clean_priority(data.priority)
    return name, data.slot_minutes * 60_000, priority, clean_preempt(data.preempt_rule, priority)


def _topic_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    topic = session.scalar(select(Topic.id).where(Topic.code == code))
    if topic is None:
        raise InvalidInput(f"Chủ đề «{code}» không có trong danh mục.", code="topic_unknown")
    return topic


def _self_overlap(recurrence: Recurrence, slot_ms: int, after: datetime) -> None:
    first = occurrences(recurrence, after, after + timedelta(days=62))[:50]
    for a, b in itertools.pairwise(first):
        if b - a < timedelta(milliseconds=slot_ms):
            raise InvalidInput(
                "Khung giờ dài hơn khoảng cách giữa hai lần phát liên tiếp: các buổi phát sẽ chồng lên nhau.",
                code="slot_overlaps_itself",
            )


# --- conflicts ---


def airing_spans(
    session: Session, programme: m.Programme, *, after: datetime, limit: int = checks.MAX_CHECKED_AIRINGS
) -> list[tuple[datetime, datetime]]:
    """UTC spans of the next airings (with overrides), for conflict checks."""
    slots = list(session.scalars(select(m.Slot).where(m.Slot.programme_id == programme.id)))
    recurrence = programme_recurrence(programme, slots)
    length = timedelta(milliseconds=programme.slot_duration_ms)
    spans: list[tuple[datetime, datetime]] = []
    horizon = after
    while len(spans) < limit and horizon < after + CHECK_HORIZON:
        chunk_end = horizon + timedelta(days=31)
        for at in occurrences(recurrence, horizon, chunk_end):
            spans.append((at, at + length))
            if len(spans) >= limit:
                break
        horizon = chunk_end
        if not recurrence.bounded and len(spans) >= limit:
            break
    return spans


# --- programmes ---


def _write(
    session: Session, programme: m.Programme, data: ProgrammeInput, targets: list[ResolvedTarget]
) -> Recurrence:
    recurrence = clean_recurrence(data)
    name, slot_ms, priority, preempt = _check_fields(data)
    programme.name = name
    programme.description = data.description.strip()
    programme.owner_organisation = data.owner_organisation.strip()
    programme.topic_id = _topic_id(session, data.topic_code)
    programme.area_id = common_area_id(session, targets)
    programme.start_local = recurrence.start_local
    programme.rrule = recurrence.rule
    programme.until_cancelled = data.until_cancelled and not recurrence.bounded
    programme.timezone = recurrence.timezone
    programme.except_dates = [d.isoformat() for d in recurrence.except_dates]
    programme.except_local = [d.isoformat() for d in recurrence.except_local]
    programme.extra_local = [d.isoformat() for d in recurrence.extra_local]
    programme.skip_holidays = recurrence.skip_holidays
    programme.max_per_day = recurrence.max_per_day
    programme.slot_duration_ms = slot_ms
    programme.priority = priority
    programme.preempt_rule = preempt.value
    programme.volume_percent = data.volume_percent
    return recurrence


def _replace_targets(session: Session, programme: m.Programme, targets: list[ResolvedTarget]) -> None:
    session.execute(delete(m.ProgrammeTarget).where(m.ProgrammeTarget.programme_id == programme.id))
    session.add_all(
        m.ProgrammeTarget(programme_id=programme.id, kind=t.kind.value, ref_id=t.ref_id, language=t.language)
        for t in targets
    )


def _audit_details(programme: m.Programme, targets: list[ResolvedTarget]) -> dict[str, object]:
    """What the audit page shows (``places`` in words) and what machines read (``targets``, ``rrule``:
    ``loa.accounts.audit.MACHINE_DETAILS``)."""
    return {
        "name": programme.name,
        "start_local": programme.start_local.isoformat(),
        "recurrence": describe_recurrence(programme),
        "rrule": programme.rrule,
        "slot_minutes": programme.slot_duration_ms // 60_000,
        "priority": programme.priority,
        "places": [t.label for t in targets],
        "targets": [f"{t.kind.value}:{t.code}:{t.language}" for t in targets],
    }


def _check_airings(
    session: Session,
    programme: m.Programme,
    *,
    principal: Principal,
    accept: checks.Accept | None,
    now: datetime,
) -> tuple[tuple[ScheduleConflict, ...], tuple[str, ...]]:
    """The conflicts of the programme's next airings (from now, or from its start if later)."""
    spans = airing_spans(
        session, programme, after=max(now, to_utc(programme.start_local, programme.timezone))
    )
    return check_conflicts(
        session,
        principal=principal,
        subject=checks.Subject(programmes=frozenset({programme.id}), spans=tuple(spans)),
        accept=accept,
        now=now,
    )


def create_programme(
    session: Session,
    *,
    principal: Principal,
    data: ProgrammeInput,
    accept: checks.Accept | None = None,
    now: datetime,
) -> Outcome:
    require(principal, Permission.OPERATE_STATION)
    targets = resolve_targets(session, data.targets, principal=principal)
    programme = m.Programme(owner_user_id=principal.user_id, created_by_id=principal.user_id, created_at=now)
    recurrence = _write(session, programme, data, targets)
    _self_overlap(recurrence, programme.slot_duration_ms, to_utc(recurrence.start_local, recurrence.timezone))
    session.add(programme)
    session.flush()
    _replace_targets(session, programme, targets)
    accepted, applied = _check_airings(session, programme, principal=principal, accept=accept, now=now)
    record(
        session,
        action="schedule.programme_create",
        actor=principal,
        target_type="programme",
        target_id=programme.id,
        area_id=programme.area_id,
        details=_audit_details(programme, targets),
    )
    return Outcome(programme, accepted, applied)


def update_programme(
    session: Session,
    *,
    principal: Principal,
    programme_id: int,
    data: ProgrammeInput,
    expected_version: int | None = None,
    accept: checks.Accept | None = None,
    now: datetime,
) -> Outcome:
    programme = editable_programme(session, principal=principal, programme_id=programme_id)
    if not programme.active:
        raise Conflict("Chương trình đã bị hủy, không sửa được.", code="programme_cancelled")
    if expected_version is not None and expected_version != programme.version:
        raise Conflict(
            "Chương trình đã được người khác sửa. Hãy tải lại rồi sửa tiếp.",
            code="edit_conflict",
            details={"current_version": programme.version, "your_version": expected_version},
        )
    targets = resolve_targets(session, data.targets, principal=principal)
    before = _audit_details(programme, programme_targets(session, programme.id))
    recurrence = _write(session, programme, data, targets)
    _self_overlap(
        recurrence, programme.slot_duration_ms, max(now, to_utc(recurrence.start_local, recurrence.timezone))
    )
    programme.version += 1
    programme.updated_at = now
    _replace_targets(session, programme, targets)
    accepted, applied = _check_airings(session, programme, principal=principal, accept=accept, now=now)
    record(
        session,
        action="schedule.programme_update",
        actor=principal,
        target_type="programme",
        target_id=programme.id,
        area_id=programme.area_id,
        details={"before": before, "after": _audit_details(programme, targets)},
    )
    return Outcome(programme, accepted, applied)


def cancel_programme(
    session: Session, *, principal: Principal, programme_id: int, now: datetime
) -> m.Programme:
    """Stop a programme ("until cancelled"): it leaves every future manifest; its history stays."""
    programme = editable_programme(session, principal=principal, programme_id=programme_id)
    if programme.active:
        programme.active = False
        programme.cancelled_at = now
        programme.version += 1
        programme.updated_at = now
        session.flush()
        record(
            session,
            action="schedule.programme_cancel",
            actor=principal,
            target_type="programme",
            target_id=programme.id,
            area_id=programme.area_id,
            details={"name": programme.name},
        )
    return programme


def list_programmes(
    session: Session, *, principal: Principal, include_cancelled: bool = False
) -> list[m.Programme]:
    require(principal, Permission.VIEW)
    query = select(m.Programme, AdminUnit.path).outerjoin(AdminUnit, AdminUnit.id == m.Programme.area_id)
    if not include_cancelled:
        query = query.where(m.Programme.active.is_(True))
    rows = session.execute(query.order_by(m.Programme.name, m.Programme.id)).all()
    return [p for p, path in rows if sees_path(principal, path or NO_AREA)]


def describe_recurrence(programme: m.Programme) -> str:
    """When the programme airs, in Vietnamese (its slot overrides are shown with the slots, not here)."""
    return describe_recurrence_vi(programme_recurrence(programme), until_cancelled=programme.until_cancelled)

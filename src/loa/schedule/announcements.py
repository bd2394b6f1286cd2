"""One-off announcements (thông báo): a bulletin or a recording at a set time, or as soon as possible.
Broadcasting needs the ``broadcast`` permission in every targeted area; each one is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path, require, sees_path
from loa.content.audio_scope import reachable_asset
from loa.content.models import Bulletin
from loa.content.service import can_view as can_view_bulletin
from loa.errors import InvalidInput
from loa.protocol.priority import Priority
from loa.schedule import checks
from loa.schedule import models as m
from loa.schedule.acceptance import Outcome, check_conflicts
from loa.schedule.access import editable_announcement
from loa.schedule.contentindex import ContentIndex, airable_revision
from loa.schedule.service import clean_preempt, clean_priority
from loa.schedule.targets import TargetInput, common_area_id, resolve_targets
from loa.vocab.ladder import ladder_priority

ASAP_LEAD = timedelta(seconds=15)  # time for the state message and the download
ASAP_EXPIRY = timedelta(hours=1)  # a device that comes back later does not play it late


NO_AUDIO = "Nội dung thông báo chưa có âm thanh để phát."


@dataclass(frozen=True)
class AnnouncementInput:
    title: str
    targets: Sequence[TargetInput]
    start_at: datetime | None = None  # aware; ignored when ``asap``
    asap: bool = False
    bulletin_id: int | None = None
    audio_sha256: str | None = None
    priority: int | str | None = None  # default: the bulletin's priority, else "ưu tiên"
    preempt_rule: str | None = None
    not_after_minutes: int | None = None
    volume_percent: int = 100


def _duration_ms(session: Session, a: m.Announcement, languages: set[str]) -> int:
    index = ContentIndex(
        session, {a.bulletin_id} if a.bulletin_id else set(), {a.audio_sha256} if a.audio_sha256 else set()
    )
    lengths = []
    for language in languages:
        if a.bulletin_id is not None:
            found = index.bulletin_audio(a.bulletin_id, language)
            if found is not None:
                lengths.append(found[1].duration_ms or 0)
        else:
            audio = index.audio(a.audio_sha256)
            if audio is not None:
                lengths.append(audio.duration_ms or 0)
    if not lengths:
        raise InvalidInput(NO_AUDIO, code="audio_missing")
    return max(lengths)


def _airable_bulletin(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    """The bulletin to announce: one the principal may see, with a revision that may air."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or not can_view_bulletin(
        principal, area_path(session, bulletin.area_id), bulletin.status
    ):
        raise InvalidInput("Không tìm thấy bản tin.", code="bulletin_unknown")
    if airable_revision(bulletin) is None:
        raise InvalidInput(
            f"Bản tin «{bulletin.title}» chưa được duyệt hoặc đã bị thu hồi.",
            code="bulletin_not_approved",
        )
    return bulletin


def _start_at(data: AnnouncementInput, now: datetime) -> datetime:
    """When it airs: soon enough for the download ("phát ngay"), or the time chosen (not past)."""
    if data.asap:
        return now + ASAP_LEAD
    if data.start_at is None or data.start_at.tzinfo is None:
        raise InvalidInput("Hãy chọn giờ phát (hoặc «phát ngay»).", code="start_missing")
    if data.start_at < now - timedelta(minutes=1):
        raise InvalidInput("Giờ phát đã qua.", code="start_in_past")
    return data.start_at


def _priority(data: AnnouncementInput, bulletin: Bulletin | None) -> int:
    """The rung asked for; else the bulletin's; else "ưu tiên"."""
    if data.priority is not None:
        return clean_priority(data.priority)
    if bulletin is not None:
        return int(ladder_priority(bulletin.priority.value))
    return int(Priority.PRIORITY_BULLETIN)


def _not_after(data: AnnouncementInput, start_at: datetime) -> datetime | None:
    """After this a device that comes back late does not play it (an hour by default when "phát ngay")."""
    if data.not_after_minutes is not None:
        if not 1 <= data.not_after_minutes <= 7 * 24 * 60:
            raise InvalidInput("Hạn phát phải từ 1 phút đến 7 ngày sau giờ phát.", code="not_after_invalid")
        return start_at + timedelta(minutes=data.not_after_minutes)
    return start_at + ASAP_EXPIRY if data.asap else None


def create_announcement(
    session: Session,
    *,
    principal: Principal,
    data: AnnouncementInput,
    accept: checks.Accept | None = None,
    now: datetime,
) -> tuple[m.Announcement, Outcome]:
    require(principal, Permission.BROADCAST)
    title = " ".join(data.title.split())
    targets = resolve_targets(session, data.targets, principal=principal)
    bulletin = None
    if data.bulletin_id is not None:
        bulletin = _airable_bulletin(session, principal, data.bulletin_id)
        title = title or bulletin.title
    elif not data.audio_sha256:
        raise InvalidInput("Hãy chọn bản tin hoặc bản ghi âm thanh để phát.", code="content_missing")
    elif reachable_asset(session, principal, data.audio_sha256) is None:  # missing, or another area's
        raise InvalidInput(NO_AUDIO, code="audio_missing")
    if not title or len(title) > 300:
        raise InvalidInput("Tiêu đề thông báo là bắt buộc (tối đa 300 ký tự).", code="title_invalid")
    start_at = _start_at(data, now)
    priority = _priority(data, bulletin)
    if not 0 <= data.volume_percent <= 100:
        raise InvalidInput("Âm lượng phải từ 0 đến 100%.", code="volume_invalid")
    not_after = _not_after(data, start_at)
    a = m.Announcement(
        title=title,
        bulletin_id=bulletin.id if bulletin is not None else None,
        audio_sha256=None if bulletin is not None else (data.audio_sha256 or "").strip().lower(),
        start_at=start_at,
        not_after_at=not_after,
        asap=data.asap,
        priority=priority,
        preempt_rule=clean_preempt(data.preempt_rule, priority).value,
        volume_percent=data.volume_percent,
        area_id=common_area_id(session, targets),
        created_by_id=principal.user_id or None,  # 0: a connected system (no user row)
        created_at=now,
    )
    session.add(a)
    session.flush()
    session.add_all(
        m.AnnouncementTarget(announcement_id=a.id, kind=t.kind.value, ref_id=t.ref_id, language=t.language)
        for t in targets
    )
    session.flush()
    duration = timedelta(milliseconds=_duration_ms(session, a, {t.language for t in targets}))
    accepted, applied = check_conflicts(
        session,
        principal=principal,
        subject=checks.Subject(announcements=frozenset({a.id}), spans=((start_at, start_at + duration),)),
        accept=accept,
        now=now,
    )
    record(
        session,
        action="schedule.announcement_create",
        actor=principal,
        target_type="announcement",
        target_id=a.id,
        area_id=a.area_id,
        details={
            "title": a.title,
            "start_at": a.start_at.isoformat(),
            "asap": a.asap,
            "priority": a.priority,
            "bulletin_id": a.bulletin_id,
            "targets": [f"{t.kind.value}:{t.code}:{t.language}" for t in targets],
        },
    )
    return a, Outcome(None, accepted, applied)


def cancel_announcement(
    session: Session, *, principal: Principal, announcement_id: int, now: datetime
) -> m.Announcement:
    a = editable_announcement(session, principal=principal, announcement_id=announcement_id)
    if a.status is not m.AnnouncementStatus.CANCELLED:
        a.status, a.cancelled_at = m.AnnouncementStatus.CANCELLED, now
        session.flush()
        record(
            session,
            action="schedule.announcement_cancel",
            actor=principal,
            target_type="announcement",
            target_id=a.id,
            area_id=a.area_id,
            details={"title": a.title},
        )
    return a


def list_announcements(
    session: Session, *, principal: Principal, from_at: datetime, to_at: datetime
) -> list[m.Announcement]:
    require(principal, Permission.VIEW)
    rows = session.scalars(
        select(m.Announcement)
        .where(m.Announcement.start_at >= from_at, m.Announcement.start_at < to_at)
        .order_by(m.Announcement.start_at, m.Announcement.id)
    )
    return [a for a in rows if sees_path(principal, area_path(session, a.area_id))]

"""Use cases of live broadcasts and relays. The caller owns the transaction.

Going on air and stopping change what devices must play: each marks the ``STREAMS_CHANGED`` change
(``loa.db.changes``); the entry points' wiring recompiles the manifests it reaches and sends those
devices a ``sync`` so they fetch the new manifest at once (``loa.schedule.hooks.streams_changed``).
A stopped session stays in the manifests with its end (``not_after_at``) at the stop: the device cuts
it there and the ladder resumes what it interrupted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require, visible_unit
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import Conflict, InvalidInput, NotFound
from loa.live.models import StreamKind, StreamSession, StreamStatus
from loa.live.relay_url import check_url
from loa.protocol import streams
from loa.protocol.priority import PreemptRule, Priority
from loa.units.models import AdminUnit, UnitKind

STREAMS_CHANGED = "stream_sessions"  # the change announced when a session goes on air, ends or moves
LIVE_PRIORITY = Priority.LIVE
RELAY_PRIORITY = Priority.SCHEDULED  # a relay is a programme of the station's day
STREAM_PREEMPT = PreemptRule.RESUME  # after an interruption a stream is joined again, live
MAX_LIVE = timedelta(hours=3)  # the planned end of a live session: it normally stops long before
MAX_RELAY = timedelta(hours=12)
_COMMUNE_KINDS = frozenset({UnitKind.COMMUNE, UnitKind.WARD, UnitKind.SPECIAL_ZONE})
_VILLAGE_KINDS = frozenset({UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP})
NOT_FOUND = "Không tìm thấy buổi phát trong phạm vi của bạn."


@dataclass(frozen=True)
class StreamSlot:
    """What the schedule compiles: one stream item for the devices of ``targets``."""

    id: str  # "live-12": the announcement id in the snapshot, the item id on devices
    title: str
    url: str  # without a token (each device gets its own)
    start_at: datetime
    end_at: datetime  # planned end, or the actual end once stopped: devices cut there
    priority: int
    targets: tuple[tuple[str, str], ...]  # ("commune" | "village", unit code)


def _targets(
    session: Session, principal: Principal, codes: Sequence[str]
) -> tuple[AdminUnit, list[dict[str, str]]]:
    """The chosen communes and villages (in scope), and the commune whose station carries the stream."""
    if not codes:
        raise InvalidInput("Chưa chọn xã hoặc thôn nào để phát.", code="no_targets")
    units = [visible_unit(session, principal, code=code) for code in dict.fromkeys(c.strip() for c in codes)]
    targets: list[dict[str, str]] = []
    for unit in units:
        if unit.kind in _COMMUNE_KINDS:
            targets.append({"kind": "commune", "code": unit.code})
        elif unit.kind in _VILLAGE_KINDS:
            targets.append({"kind": "village", "code": unit.code})
        else:
            raise InvalidInput(
                f"«{unit.name}» không phải xã, phường hay thôn: chỉ phát trực tiếp tới xã hoặc thôn.",
                code="target_kind",
            )
    first = units[0]
    station = first if first.kind in _COMMUNE_KINDS else session.get(AdminUnit, first.parent_id)
    if station is None:
        raise InvalidInput(f"«{first.name}» không thuộc xã nào.", code="target_kind")
    return station, targets


def _stream_url(base_url: str, mount: str) -> str:
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise InvalidInput(
            "Địa chỉ máy chủ phát luồng phải bắt đầu bằng http:// hoặc https://.", code="stream_url"
        )
    return f"{base}/{mount}"


def _on_air(session: Session, mount: str) -> StreamSession | None:
    return session.scalar(
        select(StreamSession).where(
            StreamSession.mount == mount, StreamSession.status == StreamStatus.ON_AIR.value
        )
    )


def _audit(
    session: Session, row: StreamSession, action: str, *, actor: Principal | None, details: dict[str, object]
) -> None:
    record(
        session,
        action=action,
        actor=actor,
        actor_name=None if actor is not None else "hệ thống",
        target_type="stream_session",
        target_id=row.id,
        area_id=row.commune_id,
        details={"title": row.title, "kind": row.kind, "mount": row.mount, "targets": row.targets, **details},
    )


def start_live(
    session: Session,
    *,
    principal: Principal,
    codes: Sequence[str],
    title: str,
    stream_base_url: str,
    now: datetime | None = None,
) -> StreamSession:
    """Go on air now to the chosen communes/villages, at the live rung. The source (browser, encoder)
    feeds the station's live mount; devices open it from their manifests."""
    require(principal, Permission.BROADCAST)
    now = now or utcnow()
    station, targets = _targets(session, principal, codes)
    mount = streams.live_mount(station.code)
    busy = _on_air(session, mount)
    if busy is not None:
        raise Conflict(
            f"Đài của {station.name} đang phát trực tiếp «{busy.title}». Hãy dừng buổi đó trước.",
            code="live_busy",
        )
    row = StreamSession(
        kind=StreamKind.LIVE.value,
        status=StreamStatus.ON_AIR.value,
        title=(title or "").strip()[:200] or f"Phát trực tiếp — {station.name}",
        commune_id=station.id,
        mount=mount,
        stream_url=_stream_url(stream_base_url, mount),
        targets=targets,
        start_at=now,
        end_at=now + MAX_LIVE,
        started_at=now,
        status_message="",
        end_reason="",
        max_listeners=0,
        created_by_id=principal.user_id,
    )
    session.add(row)
    session.flush()
    _audit(session, row, "live.start", actor=principal, details={"started_at": now.isoformat()})
    mark_changed(session, STREAMS_CHANGED, row.id)
    return row


def get_session(session: Session, *, principal: Principal, stream_id: int) -> StreamSession:
    row = session.scalar(
        select(StreamSession)
        .join(AdminUnit, AdminUnit.id == StreamSession.commune_id)
        .where(StreamSession.id == stream_id, in_scope(principal, AdminUnit.path))
    )
    if row is None:
        raise NotFound(NOT_FOUND, code="stream_not_found")
    return row


def finish(
    session: Session,
    row: StreamSession,
    *,
    actor: Principal | None,
    reason: str,
    status: StreamStatus = StreamStatus.ENDED,
    message: str = "",
    now: datetime | None = None,
) -> StreamSession:
    """End a session (stopped by a person, its source gone, its slot over, or failed). Idempotent."""
    if row.status not in (StreamStatus.ON_AIR.value, StreamStatus.SCHEDULED.value):
        return row
    now = now or utcnow()
    was_on_air = row.status == StreamStatus.ON_AIR.value
    row.status = status.value
    row.ended_at = max(now, row.start_at) if was_on_air else row.start_at
    row.end_reason = reason
    row.status_message = message[:300]
    duration_s = int((row.ended_at - (row.started_at or row.start_at)).total_seconds()) if was_on_air else 0
    action = {StreamStatus.FAILED: "fail", StreamStatus.CANCELLED: "cancel"}.get(status, "stop")
    _audit(
        session,
        row,
        f"{row.kind}.{action}",
        actor=actor,
        details={"reason": reason, "duration_s": duration_s, "message": row.status_message},
    )
    session.flush()
    mark_changed(session, STREAMS_CHANGED, row.id)
    return row


def stop(
    session: Session, *, principal: Principal, stream_id: int, now: datetime | None = None
) -> StreamSession:
    require(principal, Permission.BROADCAST)
    row = get_session(session, principal=principal, stream_id=stream_id)
    status = StreamStatus.CANCELLED if row.status == StreamStatus.SCHEDULED.value else StreamStatus.ENDED
    return finish(session, row, actor=principal, reason="operator_stop", status=status, now=now)


def schedule_relay(
    session: Session,
    *,
    principal: Principal,
    codes: Sequence[str],
    title: str,
    source_url: str,
    start_at: datetime,
    end_at: datetime,
    stream_base_url: str,
    allowed_hosts: Collection[str] = (),
    now: datetime | None = None,
) -> StreamSession:
    """A relay of an outside station (VOV1, the province's station) from ``start_at`` to ``end_at``.
    Loa pulls ``source_url`` into the station's relay mount at the slot; devices get only Loa URLs.
    ``source_url`` must be http(s) and not point into a private network unless its host is in
    ``allowed_hosts`` (``LOA_RELAY_ALLOWED_HOSTS``; ``loa.live.relay_url``): refused here, in Vietnamese,
    and checked again when the puller connects."""
    require(principal, Permission.BROADCAST)
    now = now or utcnow()
    check_url(source_url, allowed=allowed_hosts, strict=False)
    if start_at.tzinfo is None or end_at.tzinfo is None:
        raise InvalidInput("Giờ tiếp sóng phải có múi giờ.", code="relay_time")
    if end_at <= start_at or end_at - start_at > MAX_RELAY:
        raise InvalidInput("Giờ kết thúc phải sau giờ bắt đầu, tối đa 12 giờ.", code="relay_time")
    if end_at <= now:
        raise InvalidInput("Khung giờ tiếp sóng đã qua.", code="relay_time")
    station, targets = _targets(session, principal, codes)
    mount = streams.relay_mount(station.code)
    overlapping = session.scalar(
        select(StreamSession).where(
            StreamSession.mount == mount,
            StreamSession.status.in_([StreamStatus.SCHEDULED.value, StreamStatus.ON_AIR.value]),
            StreamSession.start_at < end_at,
            StreamSession.end_at > start_at,
        )
    )
    if overlapping is not None:
        raise Conflict(f"Khung giờ này trùng buổi tiếp sóng «{overlapping.title}».", code="relay_overlap")
    row = StreamSession(
        kind=StreamKind.RELAY.value,
        status=StreamStatus.SCHEDULED.value,
        title=(title or "").strip()[:200] or "Tiếp sóng",
        commune_id=station.id,
        mount=mount,
        stream_url=_stream_url(stream_base_url, mount),
        source_url=source_url.strip()[:500],
        targets=targets,
        start_at=start_at,
        end_at=end_at,
        status_message="",
        end_reason="",
        max_listeners=0,
        created_by_id=principal.user_id,
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        row,
        "relay.schedule",
        actor=principal,
        details={
            "source_url": row.source_url,
            "start_at": start_at.isoformat(),
            "end_at": end_at.isoformat(),
        },
    )
    mark_changed(session, STREAMS_CHANGED, row.id)
    return row


def stream_slots(session: Session, *, start_at: datetime, end_at: datetime) -> list[StreamSlot]:
    """Every session that devices may have to play in ``[start_at, end_at)``: on air, waiting for its
    slot, or ended inside the window (kept so devices cut it at its end)."""
    rows = session.scalars(
        select(StreamSession)
        .where(
            StreamSession.start_at < end_at,
            or_(
                StreamSession.status.in_([StreamStatus.ON_AIR.value, StreamStatus.SCHEDULED.value]),
                StreamSession.ended_at > start_at,
            ),
            StreamSession.end_at > start_at,
        )
        .order_by(StreamSession.id)
    )
    out = []
    for row in rows:
        end = row.ended_at if row.ended_at is not None else row.end_at
        if end <= row.start_at:
            continue  # never went on air: nothing for devices
        out.append(
            StreamSlot(
                id=f"{row.kind}-{row.id}",
                title=row.title,
                url=row.stream_url,
                start_at=row.start_at,
                end_at=end,
                priority=LIVE_PRIORITY if row.kind == StreamKind.LIVE.value else RELAY_PRIORITY,
                targets=tuple((t["kind"], t["code"]) for t in row.targets),
            )
        )
    return out


def due_relays(session: Session, *, now: datetime) -> list[StreamSession]:
    """Relays whose slot has come (to start pulling) — and on-air ones past their end (to stop)."""
    return list(
        session.scalars(
            select(StreamSession)
            .where(
                StreamSession.kind == StreamKind.RELAY.value,
                or_(
                    (StreamSession.status == StreamStatus.SCHEDULED.value) & (StreamSession.start_at <= now),
                    (StreamSession.status == StreamStatus.ON_AIR.value) & (StreamSession.end_at <= now),
                ),
            )
            .order_by(StreamSession.start_at)
        )
    )


def mark_on_air(session: Session, row: StreamSession, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    row.status = StreamStatus.ON_AIR.value
    row.started_at = now
    _audit(session, row, f"{row.kind}.on_air", actor=None, details={"started_at": now.isoformat()})
    session.flush()


def note_listeners(session: Session, row: StreamSession, count: int) -> None:
    if count > row.max_listeners:
        row.max_listeners = count


def sessions_list(session: Session, *, principal: Principal, limit: int = 50) -> list[StreamSession]:
    return list(
        session.scalars(
            select(StreamSession)
            .join(AdminUnit, AdminUnit.id == StreamSession.commune_id)
            .where(in_scope(principal, AdminUnit.path))
            .order_by(StreamSession.id.desc())
            .limit(limit)
        )
    )


def source_sessions(session: Session, *, mount: str) -> StreamSession | None:
    """The session a source on ``mount`` feeds now (None: nobody is on air there)."""
    return _on_air(session, mount)

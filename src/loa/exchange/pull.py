"""What a higher system reads from us, limited to its areas (``paths``): stations, loudspeaker clusters
and their status, bulletins, what the clusters are set to play, play receipts and a period's figures.
The same read models fill what the connector pushes upward (``loa.exchange.connector``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from loa.content.catalog import Status
from loa.content.models import Bulletin
from loa.errors import InvalidInput
from loa.exchange.codes import former_codes
from loa.exchange.models import InboxItem
from loa.exchange.wire import (
    BulletinOut,
    ClusterOut,
    ClusterStatusOut,
    CommuneFigures,
    PlayOut,
    PlayPage,
    ScheduleItemOut,
    StationOut,
    StatisticsOut,
)
from loa.feedback.stats import counts as feedback_counts
from loa.fleet.models import Device, DeviceManifest, PlayReceipt, ReceiptOutcome
from loa.protocol.manifest import ManifestError, decode_manifest
from loa.schedule.titles import item_titles
from loa.units.models import AdminUnit, Station

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_PERIOD_DAYS = 400
MAX_PAGE = 1000


def within(paths: Sequence[str]) -> ColumnElement[bool]:
    """``AdminUnit.path`` inside one of the paths (nothing when there are none)."""
    if not paths:
        return false()
    return or_(*(AdminUnit.path.startswith(p, autoescape=True) for p in paths))


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Vietnam time, as UTC instants; a period is refused when too long."""
    if end < start:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="period_reversed")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"Khoảng thời gian tối đa {MAX_PERIOD_DAYS} ngày.", code="period_too_long")
    first = datetime.combine(start, time(), VIETNAM).astimezone(UTC)
    return first, datetime.combine(end + timedelta(days=1), time(), VIETNAM).astimezone(UTC)


def stations(session: Session, paths: Sequence[str]) -> list[StationOut]:
    rows = session.execute(
        select(Station, AdminUnit)
        .join(AdminUnit, AdminUnit.id == Station.commune_id)
        .where(within(paths))
        .order_by(AdminUnit.code, Station.name)
    ).all()
    former = former_codes(session, {u.id for _, u in rows})
    return [
        StationOut(
            id=s.id,
            name=s.name,
            technology=s.technology,
            commune_code=u.code,
            commune_name=u.name,
            former_codes=former.get(u.id, []),
            address=s.address,
            latitude=s.latitude,
            longitude=s.longitude,
            active=s.active,
        )
        for s, u in rows
    ]


def _devices(session: Session, paths: Sequence[str]) -> list[tuple[Device, AdminUnit]]:
    return [
        (d, u)
        for d, u in session.execute(
            select(Device, AdminUnit)
            .join(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(Device.active.is_(True), within(paths))
            .order_by(AdminUnit.code, Device.uid)
        )
    ]


def clusters(session: Session, paths: Sequence[str]) -> list[ClusterOut]:
    rows = _devices(session, paths)
    former = former_codes(session, {u.id for _, u in rows})
    return [
        ClusterOut(
            id=d.uid,
            name=d.name,
            commune_code=u.code,
            commune_name=u.name,
            former_codes=former.get(u.id, []),
            village=d.village,
            station_id=d.station_id,
            latitude=d.latitude,
            longitude=d.longitude,
        )
        for d, u in rows
    ]


def cluster_status(session: Session, paths: Sequence[str]) -> list[ClusterStatusOut]:
    return [
        ClusterStatusOut(
            id=d.uid,
            online=d.online,
            last_seen_at=d.last_seen_at,
            volume=d.volume,
            playing=d.current_title,
            priority=d.current_priority,
            manifest_version=d.manifest_version,
            manifest_error=d.manifest_error,
            firmware=d.firmware,
            network=d.network_kind,
        )
        for d, _u in _devices(session, paths)
    ]


def bulletins(session: Session, paths: Sequence[str], start: date, end: date) -> list[BulletinOut]:
    """Approved and published bulletins of the areas (and of the levels above them) updated in the period."""
    first, last = day_bounds(start, end)
    above = {"/" + "/".join(p.strip("/").split("/")[:i]) + "/" for p in paths for i in range(1, p.count("/"))}
    rows = session.execute(
        select(Bulletin, AdminUnit)
        .join(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(
            or_(within(paths), AdminUnit.path.in_(sorted(above))),
            Bulletin.status.in_([Status.APPROVED, Status.PUBLISHED]),
            Bulletin.updated_at >= first,
            Bulletin.updated_at < last,
        )
        .order_by(Bulletin.updated_at.desc())
        .limit(MAX_PAGE)
    ).all()
    return [
        BulletinOut(
            id=b.id,
            title=b.title,
            kind=b.kind.value,
            priority=b.priority.value,
            status=b.status.value,
            area_code=u.code,
            topics=[t.code for t in b.topics],
            source=b.source_reference or b.organisation,
            published_at=b.published_at,
            updated_at=b.updated_at,
        )
        for b, u in rows
    ]


def schedules(
    session: Session, paths: Sequence[str], start: datetime, end: datetime
) -> list[ScheduleItemOut]:
    """What each cluster holds to play between ``start`` and ``end`` (its current signed manifest)."""
    out: list[ScheduleItemOut] = []
    for device, _unit in _devices(session, paths):
        row = session.scalar(
            select(DeviceManifest)
            .where(DeviceManifest.device_id == device.id)
            .order_by(DeviceManifest.version.desc())
            .limit(1)
        )
        if row is None:
            continue
        try:
            manifest = decode_manifest(row.body)
        except ManifestError:
            continue
        for item in manifest.items:
            if item.start_at < end and item.start_at + timedelta(milliseconds=item.duration_ms) > start:
                out.append(
                    ScheduleItemOut(
                        cluster=device.uid,
                        item_id=item.id,
                        title=item.title,
                        start_at=item.start_at,
                        duration_ms=item.duration_ms,
                        priority=item.priority,
                    )
                )
    return sorted(out, key=lambda i: (i.start_at, i.cluster))


def play_rows(
    session: Session, paths: Sequence[str], *, after: int, limit: int = 500
) -> list[tuple[int, PlayOut]]:
    """Play receipts of the areas' clusters with an id above ``after``, in id order, with their ids."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = session.execute(
        select(PlayReceipt, Device.uid, AdminUnit.code)
        .join(Device, Device.id == PlayReceipt.device_id)
        .join(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(PlayReceipt.id > after, within(paths))
        .order_by(PlayReceipt.id)
        .limit(limit)
    ).all()
    titles = item_titles(session, {r.item_id for r, _, _ in rows})
    return [
        (
            r.id,
            PlayOut(
                key=f"{uid}:{r.receipt_id}",
                device=uid,
                commune_code=code,
                item_id=r.item_id,
                title=titles.get(r.item_id, ""),
                started_at=r.started_at,
                ended_at=r.ended_at,
                outcome=r.outcome.value,
            ),
        )
        for r, uid, code in rows
    ]


def plays(session: Session, paths: Sequence[str], *, after: int, limit: int = 500) -> PlayPage:
    """A page of play receipts (a cursor: pass ``next_cursor`` as ``after``)."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = play_rows(session, paths, after=after, limit=limit)
    return PlayPage(plays=[p for _, p in rows], next_cursor=rows[-1][0] if len(rows) == limit else None)


def statistics(session: Session, paths: Sequence[str], start: date, end: date) -> StatisticsOut:
    first, last = day_bounds(start, end)
    communes = {
        u.id: u
        for u in session.scalars(
            select(AdminUnit).join(Device, Device.commune_id == AdminUnit.id).where(within(paths)).distinct()
        )
    }
    counted: dict[int, dict[str, int]] = {
        cid: {
            "clusters": 0,
            "online": 0,
            "played": 0,
            "preempted": 0,
            "failed": 0,
            "played_ms": 0,
            "above": 0,
        }
        for cid in communes
    }
    for commune_id, online, n in session.execute(
        select(Device.commune_id, Device.online, func.count())
        .where(Device.active.is_(True), Device.commune_id.in_(list(communes)))
        .group_by(Device.commune_id, Device.online)
    ):
        if commune_id is None:
            continue
        counted[commune_id]["clusters"] += int(n)
        if online:
            counted[commune_id]["online"] += int(n)
    for commune_id, outcome, started, ended in session.execute(
        select(Device.commune_id, PlayReceipt.outcome, PlayReceipt.started_at, PlayReceipt.ended_at)
        .join(Device, Device.id == PlayReceipt.device_id)
        .where(
            Device.commune_id.in_(list(communes)),
            PlayReceipt.started_at >= first,
            PlayReceipt.started_at < last,
        )
    ):
        if commune_id is None:
            continue
        figures = counted[commune_id]
        figures[outcome.value] += 1
        if outcome is ReceiptOutcome.PLAYED:
            figures["played_ms"] += max(0, int((ended - started).total_seconds() * 1000))
    codes = {u.code: u.id for u in communes.values()}
    for item_codes in session.scalars(
        select(InboxItem.commune_codes).where(InboxItem.received_at >= first, InboxItem.received_at < last)
    ):
        for code in item_codes:
            if code in codes:
                counted[codes[code]]["above"] += 1
    feedback = feedback_counts(session, prefixes=paths, start=first, end=last)
    return StatisticsOut(
        start=start.isoformat(),
        end=end.isoformat(),
        communes=[
            CommuneFigures(
                code=u.code,
                name=u.name,
                clusters=counted[u.id]["clusters"],
                online=counted[u.id]["online"],
                played=counted[u.id]["played"],
                preempted=counted[u.id]["preempted"],
                failed=counted[u.id]["failed"],
                played_ms=counted[u.id]["played_ms"],
                from_above=counted[u.id]["above"],
            )
            for u in sorted(communes.values(), key=lambda u: u.code)
        ],
        feedback_received=feedback.received,
        feedback_answered=feedback.answered,
        feedback_on_time=feedback.on_time,
    )

"""Read models for people: a station's calendar (every airing and announcement that reaches it) and a
programme's calendar. What one loudspeaker was to play and did on a day: ``loa.schedule.deviceday``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path, in_scope, require
from loa.errors import InvalidInput, NotFound
from loa.fleet.models import Device, DeviceGroup, DeviceGroupMember
from loa.schedule import models as m
from loa.schedule.recurrence import to_local, to_utc
from loa.schedule.slots import MAX_RANGE_DAYS, programme_slots
from loa.schedule.snapshot import Target, TargetKind
from loa.schedule.targets import StoredTarget, load_tokens
from loa.units.models import AdminUnit, Station, UnitKind
from loa.vocab.ladder import rung_of


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    kind: str  # "slot" | "announcement"
    key: str  # slot key or announcement id
    title: str
    start_at: datetime
    end_at: datetime
    status: str  # scheduled | moved | cancelled
    priority: int
    programme_id: int | None
    editable: bool
    overfull: bool = False
    item_count: int = 0
    uses_fallback: bool = False  # an airing with nothing of its own: its fallback playlist fills it

    @property
    def start_local(self) -> datetime:
        return to_local(self.start_at)

    @property
    def end_local(self) -> datetime:
        return to_local(self.end_at)

    @property
    def rung_label(self) -> str:
        return rung_of(self.priority).label

    @property
    def colour(self) -> str:
        return rung_of(self.priority).colour


def day_range(from_date: date, to_date: date) -> tuple[datetime, datetime]:
    if to_date < from_date:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", code="range_invalid")
    if (to_date - from_date).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"Chỉ xem tối đa {MAX_RANGE_DAYS} ngày một lần.", code="range_too_long")
    return to_utc(datetime.combine(from_date, time())), to_utc(
        datetime.combine(to_date + timedelta(days=1), time())
    )


def visible_station(session: Session, *, principal: Principal, station_id: int) -> Station:
    require(principal, Permission.VIEW)
    station = session.get(Station, station_id)
    # Another area's station is answered like a missing one: its id reveals nothing.
    if station is None or not principal.can_access_path(area_path(session, station.commune_id)):
        raise NotFound("Không tìm thấy đài truyền thanh.", code="station_not_found")
    return station


def visible_stations(session: Session, *, principal: Principal) -> list[Station]:
    return list(
        session.scalars(
            select(Station)
            .join(AdminUnit, AdminUnit.id == Station.commune_id)
            .where(in_scope(principal, AdminUnit.path))
            .order_by(Station.name)
        )
    )


def station_reach(session: Session, station: Station) -> set[Target]:
    """Every target that reaches at least one loudspeaker of the station."""
    commune = session.get(AdminUnit, station.commune_id)
    tokens = {Target(TargetKind.STATION, str(station.id))}
    if commune is not None:
        tokens.add(Target(TargetKind.COMMUNE, commune.code))
        codes = [c for c in commune.path.split("/") if c]
        if codes:
            tokens.add(Target(TargetKind.PROVINCE, codes[0]))
        for code in session.scalars(
            select(AdminUnit.code).where(
                AdminUnit.parent_id == commune.id,
                AdminUnit.kind.in_((UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)),
            )
        ):
            tokens.add(Target(TargetKind.VILLAGE, code))
        for gid in session.scalars(select(DeviceGroup.id).where(DeviceGroup.commune_id == commune.id)):
            tokens.add(Target(TargetKind.GROUP, str(gid)))
    devices = list(
        session.execute(select(Device.id, Device.uid).where(Device.station_id == station.id)).all()
    )
    tokens.update(Target(TargetKind.DEVICE, uid) for _, uid in devices)
    if devices:
        for gid in session.scalars(
            select(DeviceGroupMember.group_id).where(DeviceGroupMember.device_id.in_([d for d, _ in devices]))
        ):
            tokens.add(Target(TargetKind.GROUP, str(gid)))
    return tokens


def _targets_by_owner(
    session: Session, model: type[m.ProgrammeTarget] | type[m.AnnouncementTarget], owner: str
) -> dict[int, set[Target]]:
    rows: list[m.ProgrammeTarget | m.AnnouncementTarget] = list(session.scalars(select(model)))
    stored = [(int(getattr(r, owner)), StoredTarget(TargetKind(r.kind), r.ref_id, r.language)) for r in rows]
    tokens = load_tokens(session, [s for _, s in stored])
    out: dict[int, set[Target]] = defaultdict(set)
    for owner_id, s in stored:
        token = tokens.get((s.kind, s.ref_id))
        if token is not None:
            out[owner_id].add(token)
    return out


def station_events(
    session: Session, *, principal: Principal, station_id: int, start_at: datetime, end_at: datetime
) -> tuple[Station, list[CalendarEvent]]:
    station = visible_station(session, principal=principal, station_id=station_id)
    reach = station_reach(session, station)
    ptargets = _targets_by_owner(session, m.ProgrammeTarget, "programme_id")
    programmes = [
        p
        for p in session.scalars(
            select(m.Programme).where(m.Programme.active.is_(True)).order_by(m.Programme.id)
        )
        if ptargets.get(p.id, set()) & reach
    ]
    events = programme_events(
        session, principal=principal, programmes=programmes, start_at=start_at, end_at=end_at
    )
    atargets = _targets_by_owner(session, m.AnnouncementTarget, "announcement_id")
    for a in session.scalars(
        select(m.Announcement).where(m.Announcement.start_at >= start_at, m.Announcement.start_at < end_at)
    ):
        if atargets.get(a.id, set()) & reach:
            events.append(announcement_event(session, principal, a))
    return station, sorted(events, key=lambda e: (e.start_at, e.title))


def programme_events(
    session: Session,
    *,
    principal: Principal,
    programmes: list[m.Programme],
    start_at: datetime,
    end_at: datetime,
) -> list[CalendarEvent]:
    out = []
    for p in programmes:
        path = area_path(session, p.area_id)
        editable = principal.has(Permission.OPERATE_STATION) and principal.can_access_path(path)
        for s in programme_slots(session, p, start_at, end_at):
            out.append(
                CalendarEvent(
                    uid=f"slot-{s.key}@loa",
                    kind="slot",
                    key=s.key,
                    title=p.name,
                    start_at=s.start_at,
                    end_at=s.end_at,
                    status=s.status.value,
                    priority=p.priority,
                    programme_id=p.id,
                    editable=editable and s.status is not m.SlotStatus.CANCELLED,
                    overfull=s.overfull,
                    item_count=s.item_count,
                    uses_fallback=s.uses_fallback,
                )
            )
    return out


def announcement_event(session: Session, principal: Principal, a: m.Announcement) -> CalendarEvent:
    end = a.not_after_at or a.start_at + timedelta(minutes=5)
    return CalendarEvent(
        uid=f"announcement-{a.id}@loa",
        kind="announcement",
        key=str(a.id),
        title=a.title,
        start_at=a.start_at,
        end_at=min(end, a.start_at + timedelta(hours=1)),
        status="cancelled" if a.status is m.AnnouncementStatus.CANCELLED else "scheduled",
        priority=a.priority,
        programme_id=None,
        editable=False,
    )


# --- one loudspeaker, one day ---


def device_path(session: Session, device: Device) -> str:
    commune_id = device.commune_id
    if commune_id is None and device.station_id is not None:
        commune_id = session.scalar(select(Station.commune_id).where(Station.id == device.station_id))
    return area_path(session, commune_id)


def visible_devices(session: Session, *, principal: Principal, station_id: int | None = None) -> list[Device]:
    query = select(Device).where(Device.active.is_(True)).order_by(Device.name)
    if station_id is not None:
        query = query.where(Device.station_id == station_id)
    return [d for d in session.scalars(query) if principal.can_access_path(device_path(session, d))]

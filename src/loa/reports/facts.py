"""The counts behind the radio figures while they are gathered: per commune and day, per bulletin and
per programme (``Facts``), the clusters with their commune and targets, the kinds and topics of the
bulletins met, and the period's bounds. Filled by ``loa.reports.scheduled`` (what the schedule
planned) and ``loa.reports.receipts`` (what the loudspeakers reported)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.areas.models import Station
from loa.content.catalog import BulletinKind
from loa.content.models import Bulletin, bulletin_topics
from loa.fleet.models import Device
from loa.protocol.itemids import ItemRef
from loa.reports.airtime import Tally
from loa.schedule.dbsnapshot import load_memberships
from loa.schedule.recurrence import VIETNAM_TZ, to_utc
from loa.schedule.snapshot import Target
from loa.vocab.period import Period

VIETNAM_UTC_OFFSET_HOURS = 7  # Vietnam keeps UTC+7 all year (no daylight saving)


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's first local midnight and the local midnight after its last day, in UTC."""
    start = to_utc(datetime.combine(period.start, time()), VIETNAM_TZ)
    end = to_utc(datetime.combine(period.end + timedelta(days=1), time()), VIETNAM_TZ)
    return start, end


@dataclass(frozen=True)
class DeviceRef:
    id: int
    commune_id: int | None
    created_at: datetime
    tokens: tuple[Target, ...]


def load_devices(session: Session) -> list[DeviceRef]:
    """Active loudspeaker clusters with their commune (their own, else their station's) and targets."""
    memberships, ids = load_memberships(session)
    rows = session.execute(
        select(Device.id, func.coalesce(Device.commune_id, Station.commune_id), Device.created_at)
        .outerjoin(Station, Station.id == Device.station_id)
        .where(Device.active.is_(True))
    ).all()
    info = {device_id: (commune_id, created_at) for device_id, commune_id, created_at in rows}
    out = []
    for membership in memberships:
        device_id = ids[membership.device_id]
        commune_id, created_at = info[device_id]
        out.append(DeviceRef(device_id, commune_id, created_at, membership.tokens()))
    return out


@dataclass
class BulletinFacts:
    scheduled_airings: int = 0
    tally: Tally = field(default_factory=Tally)
    first_scheduled: date | None = None
    first_played: date | None = None


@dataclass
class ProgrammeFacts:
    scheduled_airings: dict[str, date] = field(default_factory=dict)  # airing stamp → local day
    played_airings: dict[str, date] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    news: list[int] = field(default_factory=list)  # per scheduled airing
    articles: list[int] = field(default_factory=list)


@dataclass
class Facts:
    """Everything counted for one area, period and topic."""

    commune_days: dict[tuple[int, date], Tally] = field(default_factory=lambda: defaultdict(Tally))
    bulletins: dict[int, BulletinFacts] = field(default_factory=lambda: defaultdict(BulletinFacts))
    programmes: dict[int, ProgrammeFacts] = field(default_factory=lambda: defaultdict(ProgrammeFacts))
    receipts: bool = False
    # Item ids of the running-order lines scheduled (as the manifest names them) with what they
    # name: receipts are expected to carry them (``loa.reports.receipts.expected_items``).
    expected_items: dict[str, ItemRef] = field(default_factory=dict)


class BulletinIndex:
    """Kinds, topics and titles of the bulletins met while counting: those of running orders and
    announcements are loaded through a subquery (no list of ids travels to the database); the few a
    receipt names beyond them, by id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.kinds: dict[int, BulletinKind] = {}
        self.topics: dict[int, set[int]] = defaultdict(set)

    def load_where(self, ids: Any) -> None:
        """``ids``: a SELECT of bulletin ids. One query for kinds and topics, on the table (no ORM
        row processing: a province-year's running orders name tens of thousands of bulletins)."""
        b, bt = Bulletin.__table__, bulletin_topics
        kinds, topics = self.kinds, self.topics
        for bulletin_id, kind, topic_id in self.session.execute(
            select(b.c.id, b.c.kind, bt.c.topic_id)
            .outerjoin(bt, bt.c.bulletin_id == b.c.id)
            .where(b.c.id.in_(ids))
        ).all():
            kinds[bulletin_id] = kind
            if topic_id is not None:
                topics[bulletin_id].add(topic_id)

    def load(self, ids: Iterable[int]) -> None:
        wanted = sorted(set(ids) - set(self.kinds))
        for start in range(0, len(wanted), 1000):
            self.load_where(wanted[start : start + 1000])

    def matches(self, bulletin_id: int | None, topic_id: int | None, fallback_topic: int | None) -> bool:
        if topic_id is None:
            return True
        if bulletin_id is None:
            return fallback_topic == topic_id
        return topic_id in self.topics.get(bulletin_id, ())

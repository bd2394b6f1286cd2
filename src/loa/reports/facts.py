"""The counts behind the radio figures while they are gathered: per commune and day, per bulletin and
per programme (``Facts``), the clusters with their commune and targets, the kinds and topics of the
bulletins met, and the period's bounds. Filled by ``loa.reports.scheduled`` (what the schedule
planned) and ``loa.reports.receipts`` (what the loudspeakers reported)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.content.catalog import BulletinKind
from loa.content.models import Bulletin, Rendition, bulletin_topics
from loa.protocol.itemids import ItemRef
from loa.reports.airtime import Tally
from loa.speech.models import AudioAsset
from loa.vocab.period import Period

VIETNAM_UTC_OFFSET_HOURS = 7  # Vietnam keeps UTC+7 all year (no daylight saving)
VIETNAM_OFFSET = timezone(timedelta(hours=VIETNAM_UTC_OFFSET_HOURS))


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's first local midnight and the local midnight after its last day, in UTC."""
    start = datetime.combine(period.start, time(), VIETNAM_OFFSET).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(), VIETNAM_OFFSET).astimezone(UTC)
    return start, end


def local_day(at: datetime) -> date:
    """The day in Vietnam of an aware instant."""
    return at.astimezone(VIETNAM_OFFSET).date()


@dataclass(frozen=True)
class DeviceRef:
    """A loudspeaker cluster as the reports count it: its commune and when it came into being."""

    id: int
    commune_id: int | None
    created_at: datetime


@dataclass
class BulletinFacts:
    scheduled_airings: int = 0
    tally: Tally = field(default_factory=Tally)
    first_scheduled: date | None = None
    first_played: date | None = None


# The kinds a programme's composition is counted in ("mỗi chuyên mục 3-5 tin, 6-7 bài viết"), in
# the order the document names them; a composition is a tuple of counts in this order.
MIX_KINDS: tuple[BulletinKind, ...] = (
    BulletinKind.NEWS,
    BulletinKind.ARTICLE,
    BulletinKind.REPORTAGE,
    BulletinKind.ANNOUNCEMENT,
    BulletinKind.SEGMENT,
)
Mix = tuple[int, ...]


def mix_of(bulletin_ids: Iterable[int | None], kinds: Mapping[int, BulletinKind]) -> Mix:
    """How many of ``bulletin_ids`` are of each kind of ``MIX_KINDS`` (recordings count in none)."""
    counts = [0] * len(MIX_KINDS)
    for b in bulletin_ids:
        kind = kinds.get(b) if b is not None else None
        if kind is not None:
            counts[MIX_KINDS.index(kind)] += 1
    return tuple(counts)


@dataclass
class ProgrammeFacts:
    scheduled_airings: dict[str, date] = field(default_factory=dict)  # airing stamp → local day
    due_airings: int = 0  # of them, those whose time had come by the report's moment
    played_airings: dict[str, date] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    planned_mix: list[Mix] = field(default_factory=list)  # per scheduled airing: its running order
    # Coverage: clusters each due airing aimed at, and played receipts of each of its lines.
    reached: dict[str, int] = field(default_factory=dict)  # airing stamp → clusters
    line_plays: dict[str, int] = field(default_factory=dict)  # item id → played receipts
    line_airing: dict[str, str] = field(default_factory=dict)  # item id → airing stamp
    line_bulletin: dict[str, int] = field(default_factory=dict)  # item id → the bulletin it read

    def aired_mix(self, kinds: Mapping[int, BulletinKind]) -> list[Mix]:
        """Per aired airing, the lines some cluster played to their end, by kind: what the airing
        was, on the evidence (a line cut or failed everywhere was not broadcast)."""
        lines: dict[str, list[int]] = defaultdict(list)
        for item_id, plays in self.line_plays.items():
            bulletin_id = self.line_bulletin.get(item_id)
            if plays and bulletin_id is not None:
                lines[self.line_airing[item_id]].append(bulletin_id)
        return [mix_of(lines.get(stamp, ()), kinds) for stamp in self.played_airings]

    def airing_coverage(self) -> tuple[int, int]:
        """(clusters that played, clusters aimed at), summed over the due airings. A cluster plays an
        airing's lines in turn, so the line played by the most clusters says how many played it."""
        most: dict[str, int] = {}
        for item_id, plays in self.line_plays.items():
            stamp = self.line_airing[item_id]
            if plays > most.get(stamp, 0):
                most[stamp] = plays
        played = sum(min(n, self.reached.get(stamp, n)) for stamp, n in most.items())
        return played, sum(self.reached.values())


@dataclass
class Facts:
    """Everything counted for one area, period and topic, as of ``now`` (the report's moment)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    commune_days: dict[tuple[int, date], Tally] = field(default_factory=lambda: defaultdict(Tally))
    bulletins: dict[int, BulletinFacts] = field(default_factory=lambda: defaultdict(BulletinFacts))
    programmes: dict[int, ProgrammeFacts] = field(default_factory=lambda: defaultdict(ProgrammeFacts))
    receipts: bool = False
    # Receipts dated after the report's moment (a device clock ahead): not evidence, not counted.
    future_receipts: int = 0
    # Item ids of the running-order lines scheduled (as the manifest names them) with what they
    # name: receipts are expected to carry them (``loa.reports.credit.expected_items``).
    expected_items: dict[str, ItemRef] = field(default_factory=dict)
    # Planned announcements (planned airings: ``ProgrammeFacts.scheduled_airings``): receipts naming
    # them are of the plan.
    planned_announcements: set[int] = field(default_factory=set)


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

    def of_audio(self, shas: set[str]) -> dict[str, int]:
        """The bulletin each audio file is the reading of (a rendition's audio, or a copy made from
        it, e.g. its Opus encoding); the oldest bulletin when several read the very same audio."""
        if not shas:
            return {}
        r = Rendition.__table__.c
        copy, master = AudioAsset.__table__.alias("copy"), AudioAsset.__table__.alias("master")
        found: dict[str, int] = {}
        wanted = sorted(shas)
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            direct = select(r.audio_sha256.label("sha"), r.bulletin_id).where(r.audio_sha256.in_(chunk))
            copies = (
                select(copy.c.sha256.label("sha"), r.bulletin_id)
                .join(master, master.c.id == copy.c.rendition_of_id)
                .join(Rendition.__table__, r.audio_sha256 == master.c.sha256)
                .where(copy.c.sha256.in_(chunk))
            )
            union = direct.union_all(copies).subquery()
            for sha, bulletin_id in self.session.execute(
                select(union.c.sha, func.min(union.c.bulletin_id)).group_by(union.c.sha)
            ).all():
                found[sha] = bulletin_id
        return found

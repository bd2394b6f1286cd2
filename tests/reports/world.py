"""A small radio world for the statistics tests, built through the models (and the fleet's own
receipt ingest), on the area tree of ``tests.activities.areas``:

    Xã Ba Tơ (new_x, former district Ba Tơ)  clusters X1, X2
    Xã Ba Vì (new_y, former district Ba Tơ)  cluster Y1
    Xã Sơn Kỳ (Z, former district Sơn Hà)    cluster Z1

Period: 04–06/03/2024 (Vietnam time). Programme P (CCHC, 07:00 daily, communes X and Y): default
running order B1 (tin) + B2 (bài); on 05/03 its own running order B1, B2, B5; 06/03 cancelled.
Programme Q (y tế, 18:00 daily, commune Z): B3. Announcement N (05/03): B4 to a village without
clusters. The expected figures are worked out in ``test_radio_statistics``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.activities.kinds import PortalKind, RadioKind
from loa.activities.models import PortalPost, RadioItem
from loa.content.catalog import BulletinKind, Priority, Status
from loa.content.models import Attachment, Bulletin, BulletinRevision
from loa.content.service import snapshot
from loa.fleet.ingest import write_events
from loa.fleet.models import Device
from loa.protocol import messages as msg
from loa.schedule import models as m
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.topics.models import Topic
from loa.units.models import AdminUnit, UnitKind
from loa.vocab.period import Period
from loa.vocab.text import fold
from tests.activities.areas import Tree, build_tree

PERIOD = Period.custom(date(2024, 3, 4), date(2024, 3, 6))
INSTALLED = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 3, 8, tzinfo=UTC)  # the reports' moment: the period is all past


@dataclass
class World:
    tree: Tree
    z: AdminUnit
    bulletins: dict[str, Bulletin]
    devices: dict[str, Device]
    programmes: dict[str, m.Programme]
    manual_radio: dict[str, RadioItem]
    manual_portal: dict[str, PortalPost]
    duplicates: int


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def topic(session: Session, code: str) -> Topic:
    found = session.scalar(select(Topic).where(Topic.code == code))
    assert found is not None
    return found


def asset(session: Session, name: str, seconds: int) -> str:
    session.add(
        AudioAsset(
            sha256=sha(name),
            format="mp3",
            size_bytes=seconds * 8000,
            duration_ms=seconds * 1000,
            loudness_lufs=-16.0,
            true_peak_dbtp=-1.5,
            sample_rate=22050,
            source_kind=AudioSourceKind.UPLOAD,
        )
    )
    return sha(name)


def bulletin(
    session: Session,
    kind: BulletinKind,
    title: str,
    area: AdminUnit,
    topics: list[Topic],
    *,
    published_at: datetime | None = None,
    photos: int = 0,
) -> Bulletin:
    b = Bulletin(
        kind=kind,
        title=title,
        priority=Priority.NORMAL,
        area_id=area.id,
        version=1,
        status=Status.PUBLISHED if published_at else Status.APPROVED,
        approved_revision_no=1,
        published_revision_no=1 if published_at else None,
        published_at=published_at,
        topics=topics,
        attachments=[
            Attachment(
                sha256=sha(f"{title}-{i}"), content_type="image/jpeg", size_bytes=1000, width=10, height=10
            )
            for i in range(photos)
        ],
    )
    session.add(b)
    session.flush()
    # A well-formed bulletin has its approved revision (what the schedule airs and the API shows).
    session.add(
        BulletinRevision(
            bulletin_id=b.id, number=1, snapshot=snapshot(b), sealed_at=INSTALLED, approved_at=INSTALLED
        )
    )
    return b


def device(session: Session, uid: str, commune: AdminUnit) -> Device:
    d = Device(uid=uid, name=f"Cụm loa {uid}", commune_id=commune.id, created_at=INSTALLED)
    session.add(d)
    session.flush()
    return d


def programme(
    session: Session,
    name: str,
    start_local: datetime,
    topic_id: int,
    area: AdminUnit,
    communes: list[AdminUnit],
) -> m.Programme:
    p = m.Programme(
        name=name,
        topic_id=topic_id,
        area_id=area.id,
        start_local=start_local,
        rrule="FREQ=DAILY",
        until_cancelled=True,
        slot_duration_ms=30 * 60_000,
    )
    session.add(p)
    session.flush()
    session.add_all(m.ProgrammeTarget(programme_id=p.id, kind="commune", ref_id=c.id) for c in communes)
    return p


def running_order(
    session: Session, p: m.Programme, items: list[Bulletin], slot: m.Slot | None = None
) -> None:
    session.add_all(
        m.RunningOrderItem(
            programme_id=p.id,
            slot_id=slot.id if slot else None,
            position=i,
            kind=m.ItemKind.BULLETIN,
            bulletin_id=b.id,
        )
        for i, b in enumerate(items)
    )


def receipt(
    item_id: str, audio: str, started_at: datetime, seconds: int, outcome: msg.Outcome, n: int
) -> msg.Receipt:
    return msg.Receipt(
        receipt_id=f"r{n:04d}",
        seq=n,
        item_id=item_id,
        audio_sha256=audio,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=seconds),
        outcome=outcome,
    )


def send(session: Session, uid: str, receipts: list[msg.Receipt]) -> int:
    """Deliver a batch through the fleet's ingest; returns the duplicates it dropped."""
    at = datetime(2024, 3, 7, tzinfo=UTC)
    batch = msg.ReceiptBatch(sent_at=at, receipts=receipts)
    return write_events(session, events=[(uid, at, batch)]).receipts_duplicate


def build_world(session: Session) -> World:
    tree = build_tree(session)
    z = AdminUnit(
        code="21500",
        kind=UnitKind.COMMUNE,
        name="Xã Sơn Kỳ",
        name_folded=fold("Xã Sơn Kỳ"),
        parent_id=tree.province.id,
        path=f"{tree.province.path}21500/",
        former_district_id=tree.other_district.id,
    )
    session.add(z)
    session.flush()
    cchc, health = topic(session, "cchc"), topic(session, "y-te")
    a1, a2, a3, a5 = (asset(session, n, s) for n, s in (("b1", 60), ("b2", 120), ("b3", 90), ("b5", 30)))
    b = {
        "B1": bulletin(
            session, BulletinKind.NEWS, "Tin dịch vụ công", tree.new_x, [cchc],
            published_at=datetime(2024, 3, 4, 3, tzinfo=UTC), photos=2,
        ),
        "B2": bulletin(
            session, BulletinKind.ARTICLE, "Bài một cửa", tree.district, [cchc],
            published_at=datetime(2024, 3, 5, 3, tzinfo=UTC),
        ),
        "B3": bulletin(session, BulletinKind.NEWS, "Tin tiêm chủng", tree.new_y, [health]),
        "B4": bulletin(session, BulletinKind.ARTICLE, "Bài chữ ký số", tree.new_y, [cchc]),
        "B5": bulletin(session, BulletinKind.NEWS, "Tin hồ sơ trực tuyến", tree.new_x, [cchc]),
    }  # fmt: skip
    devices = {
        "X1": device(session, "loa-x1", tree.new_x),
        "X2": device(session, "loa-x2", tree.new_x),
        "Y1": device(session, "loa-y1", tree.new_y),
        "Z1": device(session, "loa-z1", z),
    }
    p = programme(
        session, "Chuyên mục CCHC", datetime(2024, 3, 1, 7), cchc.id, tree.province, [tree.new_x, tree.new_y]
    )
    running_order(session, p, [b["B1"], b["B2"]])
    own = m.Slot(programme_id=p.id, occurrence_local=datetime(2024, 3, 5, 7), own_running_order=True)
    cancelled = m.Slot(
        programme_id=p.id, occurrence_local=datetime(2024, 3, 6, 7), status=m.SlotStatus.CANCELLED
    )
    session.add_all([own, cancelled])
    session.flush()
    running_order(session, p, [b["B1"], b["B2"], b["B5"]], own)
    q = programme(session, "Bản tin y tế", datetime(2024, 3, 1, 18), health.id, z, [z])
    running_order(session, q, [b["B3"]])
    n = m.Announcement(
        title="Thông báo chữ ký số",
        bulletin_id=b["B4"].id,
        start_at=datetime(2024, 3, 5, 2, tzinfo=UTC),
        area_id=tree.new_x.id,
    )
    session.add(n)
    session.flush()
    session.add(m.AnnouncementTarget(announcement_id=n.id, kind="village", ref_id=tree.village_x.id))
    session.flush()

    played, preempted, failed = msg.Outcome.PLAYED, msg.Outcome.PREEMPTED, msg.Outcome.FAILED
    d4, d5 = datetime(2024, 3, 4, 0, tzinfo=UTC), datetime(2024, 3, 5, 0, tzinfo=UTC)

    def p_item(day: datetime, key: str) -> str:
        return f"p.{p.id}.{day:%Y%m%dT%H%MZ}.{b[key].id}"

    x1_first = [
        receipt(p_item(d4, "B1"), a1, d4, 75, played, 1),  # ran 75 s: counted as the audio's 60 s
        receipt(p_item(d4, "B2"), a2, d4 + timedelta(seconds=60), 120, played, 2),
    ]
    duplicates = send(session, "loa-x1", x1_first)
    duplicates += send(session, "loa-x1", [*x1_first, receipt(p_item(d5, "B1"), a1, d5, 60, played, 3)])
    send(
        session,
        "loa-x1",
        [
            receipt(p_item(d5, "B2"), a2, d5 + timedelta(seconds=60), 120, played, 4),
            receipt(p_item(d5, "B5"), a5, d5 + timedelta(seconds=180), 5, failed, 5),
        ],
    )
    send(
        session,
        "loa-x2",
        [
            receipt(p_item(d4, "B1"), a1, d4, 60, played, 1),
            receipt(p_item(d4, "B2"), a2, d4 + timedelta(seconds=60), 30, preempted, 2),
        ],
    )
    send(
        session,
        "loa-y1",
        [
            receipt(p_item(d4, "B1"), a1, d4, 60, played, 1),
            receipt(p_item(d4, "B2"), a2, d4 + timedelta(seconds=60), 1, failed, 2),
            receipt(p_item(d5, "B1"), a1, d5, 60, played, 3),
            receipt(p_item(d5, "B2"), a2, d5 + timedelta(seconds=60), 120, played, 4),
            receipt(p_item(d5, "B5"), a5, d5 + timedelta(seconds=180), 10, preempted, 5),
        ],
    )
    q4, q5 = datetime(2024, 3, 4, 11, tzinfo=UTC), datetime(2024, 3, 5, 11, tzinfo=UTC)
    send(
        session,
        "loa-z1",
        [
            receipt(f"p.{q.id}.{q4:%Y%m%dT%H%MZ}.{b['B3'].id}", a3, q4, 90, played, 1),
            receipt(f"p.{q.id}.{q5:%Y%m%dT%H%MZ}.{b['B3'].id}", a3, q5, 90, played, 2),
        ],
    )
    x, y = tree.new_x.id, tree.new_y.id
    manual_radio = {
        "M1": RadioItem(kind=RadioKind.NEWS, count=10, aired_on=date(2024, 3, 5), area_id=x, topics=[cchc]),
        "M2": RadioItem(kind=RadioKind.ARTICLE, count=3, aired_on=date(2024, 3, 4), area_id=x, topics=[cchc]),
        "M3": RadioItem(
            kind=RadioKind.PROGRAMME, count=1, aired_on=date(2024, 3, 6), area_id=z.id, topics=[health]
        ),
    }
    manual_portal = {
        "P1": PortalPost(
            kind=PortalKind.ARTICLE, count=1, posted_on=date(2024, 3, 5), area_id=tree.district.id,
            bulletin_id=b["B2"].id, topics=[cchc],
        ),
        "P2": PortalPost(kind=PortalKind.PHOTO, count=5, posted_on=date(2024, 3, 6), area_id=x, topics=[cchc]),  # noqa: E501
        "P3": PortalPost(
            kind=PortalKind.NEWS, count=1, posted_on=date(2024, 3, 6), area_id=y,
            bulletin_id=b["B3"].id, topics=[health],
        ),
    }  # fmt: skip
    session.add_all([*manual_radio.values(), *manual_portal.values()])
    session.flush()
    return World(tree, z, b, devices, {"P": p, "Q": q}, manual_radio, manual_portal, duplicates)

"""A loudspeaker's day page tells the truth: "Đã phát đủ" only with a played receipt, the schedule's
prediction shown as a prediction, nothing before the loudspeaker existed, and what it played outside
its schedule ("play now" and its repeats) by title, on a real database through the fleet's ingest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from loa.fleet import commands
from loa.fleet.ingest import write_events
from loa.protocol import messages as msg
from loa.protocol.itemids import command_item, programme_item, round_item
from loa.schedule import deviceday
from loa.schedule import models as m
from loa.schedule.deviceday import Evidence
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset
from tests.support.auth import login_web

DAY = date(2024, 3, 3)
AIRING = datetime(2024, 3, 3, 0, tzinfo=UTC)  # 07:00 in Vietnam
NOW = datetime(2024, 3, 6, tzinfo=UTC)


def _programme(session: Session, world: World, lines: list[int]) -> m.Programme:
    p = m.Programme(
        name="Bản tin sáng",
        area_id=world.unit(session, BA_TO).id,
        start_local=datetime(2024, 3, 1, 7),
        rrule="FREQ=DAILY",
        until_cancelled=True,
        slot_duration_ms=30 * 60_000,
    )
    session.add(p)
    session.flush()
    session.add(m.ProgrammeTarget(programme_id=p.id, kind="commune", ref_id=world.unit(session, BA_TO).id))
    session.add_all(
        m.RunningOrderItem(programme_id=p.id, position=i, kind=m.ItemKind.BULLETIN, bulletin_id=b)
        for i, b in enumerate(lines)
    )
    session.flush()
    return p


def _receipt(
    n: int, item_id: str, audio: str, at: datetime, seconds: int, outcome: msg.Outcome
) -> msg.Receipt:
    return msg.Receipt(
        receipt_id=f"r{n}",
        seq=n,
        item_id=item_id,
        audio_sha256=audio,
        started_at=at,
        ended_at=at + timedelta(seconds=seconds),
        outcome=outcome,
    )


def _world(session: Session, world: World) -> tuple[str, str, str]:
    """Returns the ids of the two lines of 03/03 and of the play-now command's item."""
    news_audio, article_audio = audio_asset(session, "tin", 60), audio_asset(session, "bai", 120)
    news = approved_bulletin(session, world, "Tin đường giao thông", {"vi": news_audio})
    article = approved_bulletin(session, world, "Bài dịch vụ công", {"vi": article_audio})
    p = _programme(session, world, [news.id, article.id])
    loudspeaker = world.device(session, "loa-bt-01")
    loudspeaker.created_at = datetime(2024, 3, 2, 2, tzinfo=UTC)  # 09:00 on 02/03: after that day's airing
    loudspeaker.enrolled_at = None
    world.device(session, "loa-bt-02").created_at = datetime(2024, 1, 1, tzinfo=UTC)
    issued = commands.send_commands(
        session,
        principal=world.operator,
        device_uids=["loa-bt-01"],
        kind="play_now",
        args={"audio_sha256": news_audio, "title": "Tin đường giao thông"},
    )
    session.flush()
    first = programme_item(str(p.id), AIRING, str(news.id))
    second = programme_item(str(p.id), AIRING, str(article.id))
    play_now = command_item(issued[0].id)
    played, cut = msg.Outcome.PLAYED, msg.Outcome.PREEMPTED
    batch = msg.ReceiptBatch(
        sent_at=NOW,
        receipts=[
            _receipt(1, first, news_audio, AIRING, 60, played),
            _receipt(2, second, article_audio, AIRING + timedelta(minutes=1), 30, cut),
            _receipt(3, play_now, news_audio, AIRING + timedelta(hours=3), 60, played),
            _receipt(
                4, round_item(play_now, 2), news_audio, AIRING + timedelta(hours=3, minutes=2), 60, played
            ),
        ],
    )
    write_events(session, events=[("loa-bt-01", NOW, batch)])
    session.commit()
    return first, second, play_now


def _rows(session: Session, world: World, day: date) -> list[tuple[str, Evidence, str]]:
    found = deviceday.device_day(session, principal=world.operator, uid="loa-bt-01", day=day, now=NOW)
    return [(r.title, r.evidence, r.planned_label) for r in found.rows]


def test_played_only_with_a_played_receipt(session: Session, world: World) -> None:
    _world(session, world)
    assert _rows(session, world, DAY) == [
        ("Tin đường giao thông", Evidence.PLAYED, "Dự kiến phát đủ"),
        ("Bài dịch vụ công", Evidence.PARTIAL, "Dự kiến phát đủ"),
        ("Tin đường giao thông", Evidence.PLAYED, "Ngoài lịch phát"),  # play now, at 10:00
        ("Tin đường giao thông (lần 2)", Evidence.PLAYED, "Ngoài lịch phát"),
    ]
    # The next day has no receipt: the prediction stays a prediction.
    assert {e for _, e, _ in _rows(session, world, date(2024, 3, 4))} == {Evidence.MISSING}
    # A day to come: nothing played yet.
    later = deviceday.device_day(
        session, principal=world.operator, uid="loa-bt-01", day=date(2024, 3, 7), now=NOW
    )
    assert {r.evidence for r in later.rows} == {Evidence.UPCOMING}


def test_nothing_before_the_loudspeaker_existed(session: Session, world: World) -> None:
    _world(session, world)
    found = deviceday.device_day(
        session, principal=world.operator, uid="loa-bt-01", day=date(2024, 3, 2), now=NOW
    )
    assert found.rows == ()
    assert any("không phải nhiệm vụ của loa" in n for n in found.notices)
    # Another loudspeaker registered long before has that airing as its duty, without a receipt.
    other = deviceday.device_day(
        session, principal=world.operator, uid="loa-bt-02", day=date(2024, 3, 2), now=NOW
    )
    assert [r.evidence for r in other.rows] == [Evidence.MISSING, Evidence.MISSING]


def test_the_page_says_played_only_where_a_receipt_says_so(
    client: TestClient, session: Session, world: World
) -> None:
    first, _, play_now = _world(session, world)
    login_web(client, "canbo.bato")
    page = client.get(f"/schedule/devices/loa-bt-01?date={DAY.isoformat()}")
    assert page.status_code == 200
    html = page.text
    assert html.count("<td>Đã phát đủ</td>") == 3  # the line and the two rounds of the play now
    assert "<td>Phát dở (bị ngắt)</td>" in html and "bị ngắt sau 30 giây" in html
    assert "Tin đường giao thông (lần 2)" in html
    assert first not in html and play_now not in html  # titles, never item ids
    quiet = client.get("/schedule/devices/loa-bt-01?date=2024-03-04").text
    assert "<td>Đã phát đủ</td>" not in quiet and "<td>Chưa có biên nhận</td>" in quiet

"""Feedback figures: received, answered, answered on time (the deadline fixed when an item arrives), in
the reports' channel sections and section I's wording, and in the exchange statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.service import principal_for
from loa.exchange import pull
from loa.feedback import service
from loa.feedback.media import Attachments
from loa.feedback.models import FeedbackChannel
from loa.feedback.stats import counts
from loa.reports.data import Organisation, ReportData
from loa.reports.statistics import collect_channels
from loa.reports.wording import feedback_blocks
from loa.vocab.period import Period
from tests.exchange.world import BA_TO, BA_VI, unit

LIMITS = service.Limits(per_hour=100, per_day=100, answer_days=10)


def _send(session: Session, commune: str, at: datetime, n: int) -> int:
    item, _code = service.submit(
        session,
        commune=unit(session, commune),
        data=service.Submission(text=f"Phản ánh số {n} về đường giao thông nông thôn."),
        attachments=Attachments(),
        source=f"source-{n}",
        challenge_nonce=None,
        channel=FeedbackChannel.WEB,
        limits=LIMITS,
        now=at,
    )
    return item.id


def test_received_answered_and_on_time_in_a_period(world: Session) -> None:
    officer = principal_for(world, world.scalars(select(User).where(User.username == "vanhanh.bato")).one())
    march = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    on_time = _send(world, BA_TO, march, 1)
    late = _send(world, BA_TO, march + timedelta(days=1), 2)
    _send(world, BA_TO, march + timedelta(days=2), 3)  # not answered yet
    _send(world, BA_VI, march, 4)  # another commune
    _send(world, BA_TO, datetime(2026, 4, 2, 2, 0, tzinfo=UTC), 5)  # another month
    service.reply(world, principal=officer, item_id=on_time, text="Đã sửa.", now=march + timedelta(days=9))
    service.reply(world, principal=officer, item_id=late, text="Đã sửa.", now=march + timedelta(days=12))
    world.commit()

    ba_to = unit(world, BA_TO)
    found = counts(
        world,
        prefixes=[ba_to.path],
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert (found.received, found.answered, found.on_time) == (3, 2, 1)

    admin = principal_for(world, world.scalars(select(User).where(User.username == "quantri")).one())
    _area, sections = collect_channels(world, principal=admin, period=Period.month(2026, 3), area_id=ba_to.id)
    section = next(s for s in sections if s.key == "feedback")
    assert [(f.key, f.value) for f in section.figures] == [
        ("feedback.received", 3),
        ("feedback.answered", 2),
        ("feedback.on_time", 1),
    ]
    assert section.figure("feedback.on_time").row_ids == (f"YK{on_time}",)  # type: ignore[union-attr]
    assert [r.get("on_time") for r in section.rows] == ["có", "không", "không"]
    _area, quiet = collect_channels(world, principal=admin, period=Period.month(2026, 1), area_id=ba_to.id)
    assert "feedback" not in {s.key for s in quiet}  # a report without feedback is unchanged

    data = ReportData(
        period=Period.month(2026, 3),
        organisation=Organisation("UBND XÃ BA TƠ", "UBND XÃ BA TƠ", "Ba Tơ"),
        topic=None,
        area_name="Xã Ba Tơ",
        channels=sections,
        issued_on=date(2026, 4, 2),
    )
    [block] = feedback_blocks(data)
    assert "đã tiếp nhận 03 ý kiến" in block.text and "trong đó 01 ý kiến trả lời đúng hạn" in block.text

    figures = pull.statistics(world, [ba_to.path], date(2026, 3, 1), date(2026, 3, 31))
    assert (figures.feedback_received, figures.feedback_answered, figures.feedback_on_time) == (3, 2, 1)

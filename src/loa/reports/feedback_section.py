"""The feedback figures of a report (Decree 49/2024/NĐ-CP: receiving and answering citizens' feedback):
received in the period, answered, answered on time, each with the items behind it. Read through
``loa.feedback.stats``, the one seam of that domain; "on time" is its definition (docs/feedback.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from loa.feedback.stats import counts
from loa.reports.airtime import SYSTEM
from loa.reports.data import ChannelSection, DetailRow, Figure
from loa.reports.wording import CHANNEL_TITLES, FEEDBACK
from loa.vocab.cells import Column
from loa.vocab.period import Period

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
ROW_PREFIX = "YK"  # detail row ids: "YK12" is feedback item 12
COLUMNS = (
    Column("commune", "Xã, phường", width=24),
    Column("received", "Ngày nhận", "date", 12),
    Column("due", "Hạn trả lời", "date", 12),
    Column("answered", "Ngày trả lời", "date", 12),
    Column("on_time", "Đúng hạn", width=10),
)


def feedback_section(
    session: Session, *, period: Period, prefixes: Sequence[str], topic_id: int | None = None
) -> ChannelSection:
    start = datetime.combine(period.start, time(), VIETNAM)
    end = datetime.combine(period.end + timedelta(days=1), time(), VIETNAM)
    found = counts(session, prefixes=prefixes, start=start, end=end, topic_id=topic_id)

    def day(value: datetime | None) -> str | None:
        return value.astimezone(VIETNAM).date().isoformat() if value else None

    rows = tuple(
        DetailRow(
            f"{ROW_PREFIX}{r.id}",
            {
                "commune": r.commune,
                "received": day(r.received_at),
                "due": day(r.due_at),
                "answered": day(r.answered_at),
                "on_time": "có" if r.on_time else "không",
            },
        )
        for r in found.rows
    )
    ids = {r.id: f"{ROW_PREFIX}{r.id}" for r in found.rows}
    figures = (
        Figure(
            f"{FEEDBACK}.received", "Ý kiến nhận được", found.received, "ý kiến", tuple(ids.values()), SYSTEM
        ),
        Figure(
            f"{FEEDBACK}.answered",
            "Đã trả lời",
            found.answered,
            "ý kiến",
            tuple(ids[r.id] for r in found.rows if r.answered),
            SYSTEM,
        ),
        Figure(
            f"{FEEDBACK}.on_time",
            "Trả lời đúng hạn",
            found.on_time,
            "ý kiến",
            tuple(ids[r.id] for r in found.rows if r.on_time),
            SYSTEM,
        ),
    )
    return ChannelSection(FEEDBACK, CHANNEL_TITLES[FEEDBACK], figures, COLUMNS, rows)

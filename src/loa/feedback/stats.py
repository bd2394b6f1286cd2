"""Figures of citizens' feedback for a period and some areas: received, answered, answered on time.

"On time" means answered no later than the item's ``due_at``, fixed when it arrived from the setting
``feedback_answer_days`` (an assumption: see docs/feedback.md). An item received in the period counts
as answered when its answer exists now (a report drawn up later sees answers given after the period's
end: it says what became of the period's feedback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from loa.feedback.models import Feedback
from loa.units.models import AdminUnit


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    commune: str
    topic_id: int | None
    received_at: datetime
    due_at: datetime
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def on_time(self) -> bool:
        return self.answered_at is not None and self.answered_at <= self.due_at


@dataclass(frozen=True)
class FeedbackCounts:
    rows: tuple[FeedbackRow, ...]

    @property
    def received(self) -> int:
        return len(self.rows)

    @property
    def answered(self) -> int:
        return sum(1 for r in self.rows if r.answered)

    @property
    def on_time(self) -> int:
        return sum(1 for r in self.rows if r.on_time)


def counts(
    session: Session,
    *,
    prefixes: Sequence[str],
    start: datetime,
    end: datetime,
    topic_id: int | None = None,
) -> FeedbackCounts:
    """Items received in [start, end) in communes under ``prefixes`` (area paths)."""
    inside = or_(*(AdminUnit.path.startswith(p, autoescape=True) for p in prefixes)) if prefixes else false()
    stmt = (
        select(
            Feedback.id,
            AdminUnit.name,
            Feedback.topic_id,
            Feedback.received_at,
            Feedback.due_at,
            Feedback.answered_at,
        )
        .join(AdminUnit, AdminUnit.id == Feedback.commune_id)
        .where(inside, Feedback.received_at >= start, Feedback.received_at < end)
        .order_by(Feedback.received_at, Feedback.id)
    )
    if topic_id is not None:
        stmt = stmt.where(Feedback.topic_id == topic_id)
    return FeedbackCounts(tuple(FeedbackRow(*row) for row in session.execute(stmt)))

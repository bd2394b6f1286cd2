"""Stored summaries of closed months (``loa.reports.summary``) give exactly the figures the receipts
give, on SQLite and PostgreSQL: over several months, with duplicates, partial and failed plays, a play
across a month's last local midnight, a cluster in another commune; after a late receipt (the month
turns dirty, the report reads its receipts, maintenance summarises it again); after a cluster moved."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.fleet.models import Device, ReceiptSummary, ReceiptSummaryMonth
from loa.protocol import messages as msg
from loa.protocol.itemids import programme_item
from loa.reports import summary
from loa.reports.service import ReportRequest, build_report_data
from loa.reports.statistics import Gathered, gather, sections_of
from loa.vocab.period import Period
from tests.reports.test_evidence import YEAR, Town, build_town
from tests.reports.world import device, send

NOW = datetime(2024, 5, 10, 3, tzinfo=UTC)  # April closed on 3 May (two days of grace)
PLAYED, PREEMPTED, FAILED = msg.Outcome.PLAYED, msg.Outcome.PREEMPTED, msg.Outcome.FAILED


def _airing(p_id: int, local: datetime, line_id: int) -> tuple[str, datetime]:
    at = (local - timedelta(hours=7)).replace(tzinfo=UTC)
    return programme_item(str(p_id), at, str(line_id)), at


def _history(session: Session, town: Town) -> Device:
    """January to April 2024 on Ba Tơ's loudspeakers and one in Xã Y."""
    other = device(session, "loa-y-01", town.tree.new_y)
    other.created_at = datetime(2023, 12, 1, tzinfo=UTC)
    session.flush()
    daily, news, article = town.bulletins["daily"], town.bulletins["news"], town.bulletins["article"]
    sent: list[tuple[Device, str, datetime, msg.Outcome]] = []
    for month in (1, 2, 3, 4):
        for day in (1, 9, 17, 28):
            item, at = _airing(town.daily.id, datetime(2024, month, day, 6), daily.id)
            for i, d in enumerate(town.devices):
                outcome = PLAYED if (i + day + month) % 5 else (PREEMPTED if i % 2 else FAILED)
                sent.append((d, item, at + timedelta(seconds=i), outcome))
            sent.append((other, item, at, PLAYED))
        # The monthly programme, third Monday at 07:00: the news on some, the article cut on others.
        third_monday = {1: 15, 2: 19, 3: 18, 4: 15}[month]
        n_item, n_at = _airing(town.cchc.id, datetime(2024, month, third_monday, 7), news.id)
        a_item, a_at = _airing(town.cchc.id, datetime(2024, month, third_monday, 7, 2), article.id)
        for i, d in enumerate(town.devices[: 3 + month]):
            sent.append((d, n_item, n_at, PLAYED))
            sent.append((d, a_item, a_at, PREEMPTED if i % 3 == 0 else PLAYED))
    # Heard at 00:30 on 1 February, local time: a February play although 31 January in UTC.
    late_night, _ = _airing(town.daily.id, datetime(2024, 1, 31, 6), daily.id)
    sent.append((town.devices[0], late_night, datetime(2024, 1, 31, 17, 30, tzinfo=UTC), PLAYED))
    town.send(sent, session)
    town.sent -= 40  # the last forty again: duplicates the ingest drops
    town.send(sent[-40:], session)
    session.commit()
    return other


def _both(session: Session, town: Town, period: Period, area_id: int) -> tuple[Gathered, Gathered]:
    """The figures from the summaries and from the receipts alone, same moment."""
    now = datetime(2024, 12, 31, 16, tzinfo=UTC)
    session.rollback()
    fast = gather(session, principal=town.admin, period=period, area_id=area_id, now=now)
    session.rollback()
    with summary.raw_receipts():
        raw = gather(session, principal=town.admin, period=period, area_id=area_id, now=now)
    session.rollback()
    return fast, raw


def _assert_same(session: Session, town: Town) -> None:
    periods = (YEAR, Period.custom(date(2024, 1, 20), date(2024, 3, 25)), Period.month(2024, 2))
    for period in periods:
        for area in (town.tree.province.id, town.tree.new_x.id, town.tree.district.id):
            fast, raw = _both(session, town, period, area)
            assert fast == raw
            assert sections_of(fast) == sections_of(raw)


def _played(g: Gathered) -> int:
    return g.system.airtime.total.played


def test_summaries_give_the_receipts_figures(engine: Engine, session: Session) -> None:
    town = build_town(session)
    other = _history(session, town)
    sessions = make_session_factory(engine)
    before = _both(session, town, YEAR, town.tree.province.id)[1]
    assert _played(before) > 0

    done = summary.summarise_closed_months(sessions, now=NOW)
    assert [s.month for s in done] == [date(2024, m, 1) for m in (1, 2, 3, 4)]
    assert all(not s.was_dirty for s in done) and done[0].groups > 0
    assert session.scalar(select(func.count()).select_from(ReceiptSummary)) == sum(s.groups for s in done)
    assert summary.months_to_summarise(session, now=NOW) == []  # May is not closed yet
    session.rollback()
    assert summary.valid_months(session.connection(), [date(2024, m, 1) for m in range(1, 6)]) == {
        date(2024, m, 1) for m in (1, 2, 3, 4)
    }
    _assert_same(session, town)
    fast = _both(session, town, YEAR, town.tree.province.id)[0]
    assert fast == before
    audits = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reports.receipt_summary").order_by(AuditEvent.id)
    ).all()
    assert [a.details["month"] for a in audits] == ["01/2024", "02/2024", "03/2024", "04/2024"]

    # A late receipt for February: the month is dirty, the report reads its receipts.
    item, at = _airing(town.daily.id, datetime(2024, 2, 20, 6), town.bulletins["daily"].id)
    town.send([(town.devices[1], item, at, PLAYED)], session)
    session.commit()
    assert session.get(ReceiptSummaryMonth, date(2024, 2, 1)).dirty  # type: ignore[union-attr]
    fast, raw = _both(session, town, YEAR, town.tree.province.id)
    assert fast == raw and _played(fast) == _played(before) + 1
    _assert_same(session, town)

    # Maintenance makes February again, and only February.
    assert summary.months_to_summarise(session, now=NOW) == [date(2024, 2, 1)]
    session.rollback()
    again = summary.summarise_closed_months(sessions, now=NOW)
    assert [(s.month, s.was_dirty) for s in again] == [(date(2024, 2, 1), True)]
    session.rollback()
    assert date(2024, 2, 1) in summary.valid_months(session.connection(), [date(2024, 2, 1)])
    _assert_same(session, town)

    # A cluster moved to another commune: its months are read from the receipts until made again.
    moved = session.get(Device, other.id)
    assert moved is not None
    moved.commune_id = town.tree.new_x.id
    session.commit()
    assert summary.valid_months(session.connection(), [date(2024, m, 1) for m in (1, 2, 3, 4)]) == set()
    _assert_same(session, town)
    session.rollback()
    assert len(summary.summarise_closed_months(sessions, now=NOW)) == 4
    _assert_same(session, town)


def test_the_report_document_is_the_same(engine: Engine, session: Session) -> None:
    town = build_town(session)
    _history(session, town)
    summary.summarise_closed_months(make_session_factory(engine), now=NOW)
    request = ReportRequest(period=YEAR, area_id=town.tree.new_x.id, issued_on=date(2025, 1, 5))
    now = datetime(2025, 1, 5, tzinfo=UTC)
    session.rollback()
    fast = build_report_data(session, principal=town.admin, request=request, now=now)
    session.rollback()
    with summary.raw_receipts():
        raw = build_report_data(session, principal=town.admin, request=request, now=now)
    assert fast == raw


def test_a_month_not_closed_is_not_summarised(session: Session) -> None:
    with pytest.raises(ValueError, match="not closed"):
        summary.summarise_month(session, date(2024, 5, 1), now=NOW)


def test_a_receipt_recorded_while_summarising_marks_the_month_dirty(engine: Engine, session: Session) -> None:
    """The summariser holds February's row: a late February receipt recorded meanwhile waits for it,
    then marks February dirty (the summary, read before the receipt was committed, lacks it)."""
    town = build_town(session)
    _history(session, town)
    uid, audio = town.devices[2].uid, town.audio["daily"]
    item, at = _airing(town.daily.id, datetime(2024, 2, 21, 6), town.bulletins["daily"].id)
    late = msg.Receipt(
        receipt_id="late-1", seq=1, item_id=item, audio_sha256=audio, started_at=at,
        ended_at=at + timedelta(seconds=60), outcome=PLAYED,
    )  # fmt: skip
    session.rollback()
    sessions = make_session_factory(engine)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            with sessions() as other, other.begin():
                send(other, uid, [late])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    with sessions() as summariser, summariser.begin():
        summary.summarise_month(summariser, date(2024, 2, 1), now=NOW)
        worker = threading.Thread(target=record)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "the late receipt waits for the summariser"
    worker.join()
    assert not errors
    assert session.get(ReceiptSummaryMonth, date(2024, 2, 1)).dirty  # type: ignore[union-attr]
    fast, raw = _both(session, town, YEAR, town.tree.province.id)
    assert fast == raw
    assert summary.months_to_summarise(session, now=NOW)[:2] == [date(2024, 1, 1), date(2024, 2, 1)]

"""The receipt aggregate started ahead (``start_receipt_rows``) returns exactly what the inline
aggregate returns, in the report's snapshot; where no snapshot can be shared (a connection in
autocommit) it falls back to the report's own session."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.reports.facts import period_bounds
from loa.reports.receipts import receipt_rows, start_receipt_rows
from loa.units.models import AdminUnit, UnitKind
from tests.reports.world import PERIOD, build_world


def _communes(session: Session) -> list[int]:
    return sorted(session.scalars(select(AdminUnit.id).where(AdminUnit.kind == UnitKind.COMMUNE)))


def test_started_ahead_equals_inline_and_sees_the_reports_snapshot(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        build_world(session)
        session.commit()
    start_at, end_at = period_bounds(PERIOD)
    with factory() as session:
        communes = _communes(session)
        inline = receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes)
        assert inline, "the world has receipts in the period"
        fetch = start_receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes)
        assert sorted(map(tuple, fetch())) == sorted(map(tuple, inline))
        assert start_receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=[])() == []


def test_without_a_transaction_to_share_it_runs_in_the_reports_session(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        build_world(session)
        session.commit()
    start_at, end_at = period_bounds(PERIOD)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with Session(autocommit) as session:
        communes = _communes(session)
        inline = receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes)
        fetch = start_receipt_rows(session, start_at=start_at, end_at=end_at, commune_ids=communes)
        assert sorted(map(tuple, fetch())) == sorted(map(tuple, inline)) and inline
    if engine.dialect.name == "postgresql":  # SQLite never starts it ahead
        assert "ran again in the report's own session" in caplog.text

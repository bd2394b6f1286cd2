"""Hours on air cap each played receipt to its audio's length. A loudspeaker plays only audio the
server made and signed, and the store never forgets a file: a receipt naming audio the store does not
hold (forged, for an item the device was given) has no length to be capped to and adds no time — it
once added its whole span (here thirty days) to the hours on air. Its play is still counted. SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet.ingest import write_events
from loa.protocol import messages as m
from loa.reports.receipts import receipt_rows
from tests.conftest import Backend
from tests.fleet.world import IDS, SHA, add_asset, device, seed_fleet_world


@pytest.fixture
def world_engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("fleet-world", seed=seed_fleet_world) as eng:
        yield eng


def test_a_receipt_naming_audio_not_in_the_store_adds_no_time(world_engine: Engine) -> None:
    add_asset(world_engine)  # 65 s
    at = utcnow() - timedelta(hours=2)

    def played(rid: str, item: str, sha: str, span: timedelta) -> m.Receipt:
        return m.Receipt(
            receipt_id=rid, seq=0, item_id=item, audio_sha256=sha, started_at=at, ended_at=at + span,
            outcome=m.Outcome.PLAYED,
        )  # fmt: skip

    receipts = [
        played("k1", "known", SHA, timedelta(days=30)),  # capped to its audio: 65 s
        played("u1", "unknown", "ab" * 32, timedelta(days=30)),
    ]
    factory = make_session_factory(world_engine)
    with factory() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), m.ReceiptBatch(sent_at=m.now_utc(), receipts=receipts))])
    with factory() as s:
        commune = device(s, IDS.a1).commune_id
        assert commune is not None
        window = {"start_at": utcnow() - timedelta(days=1), "end_at": utcnow()}
        rows = {row.item_id: row for row in receipt_rows(s, **window, commune_ids=[commune])}
    assert rows["known"].played == 1 and rows["known"].played_ms == 65_000
    assert rows["unknown"].played == 1 and rows["unknown"].played_ms == 0

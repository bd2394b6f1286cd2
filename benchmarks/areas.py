"""Importing the whole country's administrative units into a fresh SQLite database.

Figures: first import (3,355 units), a re-import that changes nothing, the history import (696 former
districts, ~3,700 lineage rows), and a diacritic-insensitive search over the imported units. The
baseline is reading the source package alone, so the ratio shows what the database work costs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Result, median_seconds
from loa.accounts.principal import Principal, Role
from loa.areas import sources
from loa.areas.importer import import_units
from loa.areas.service import search
from loa.db import make_engine, make_session_factory
from loa.db.migrate import upgrade

ADMIN = Principal(user_id=0, username="bench", display_name="bench", role=Role.ADMIN)


def _fresh_import(root: Path, counter: list[int], with_history: bool) -> float:
    """Seconds to import into a freshly migrated database (the migration is not counted)."""
    counter[0] += 1
    engine = make_engine(f"sqlite:///{root / f'areas-{counter[0]}.sqlite3'}")
    upgrade(engine)
    factory = make_session_factory(engine)
    start = time.perf_counter()
    with factory() as s, s.begin():
        import_units(s, with_history=with_history)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        counter = [0]
        baseline = median_seconds(lambda: sources.current_units(), repeat=5)
        yield Result("areas.read_source_s", baseline, "s")
        first = statistics.median(_fresh_import(root, counter, False) for _ in range(3))
        yield Result("areas.import_country_sqlite_s", first, "s", target=3.0)
        yield Result("areas.import_vs_reading_source_ratio", first / baseline, "x")
        history = statistics.median(_fresh_import(root, counter, True) for _ in range(3))
        yield Result("areas.import_country_with_history_sqlite_s", history, "s", target=3.0)

        engine = make_engine(f"sqlite:///{root / f'areas-{counter[0]}.sqlite3'}")
        factory = make_session_factory(engine)

        def reimport() -> None:
            with factory() as s, s.begin():
                import_units(s, with_history=True)

        yield Result("areas.reimport_unchanged_sqlite_s", median_seconds(reimport, repeat=3), "s", target=3.0)

        def find() -> None:
            with factory() as s:
                assert any(u.code == "21484" for u in search(s, "ba to", ADMIN))

        yield Result("areas.search_ms", median_seconds(find, repeat=20) * 1000, "ms", target=50.0)
        engine.dispose()

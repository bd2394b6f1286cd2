"""The one result shape every benchmark prints, and a median timer."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from loa.db import make_engine
from loa.db.migrate import upgrade


@dataclass(frozen=True)
class Result:
    bench: str
    value: float
    unit: str
    target: float | None = None
    better: Literal["lower", "higher"] = "lower"

    def as_dict(self) -> dict[str, object]:
        return {
            "bench": self.bench,
            "value": round(self.value, 6),
            "unit": self.unit,
            "target": self.target,
            "better": self.better,
        }


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall-clock seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


POSTGRES_URL = os.environ.get("LOA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database made for one benchmark and dropped afterwards."""
    name = f"loa_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

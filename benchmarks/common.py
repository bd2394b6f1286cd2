"""The one result shape every benchmark prints, and a median timer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Self

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


# --- helper processes (a benchmark's devices or gateway on their own core) ----------------------
#
# The child prints ``READY …`` once, then answers each request line on stdin with one JSON line, and
# stops on ``QUIT`` or end of input.


class ChildProcess:
    """The parent's side of a helper process."""

    def __init__(self, proc: asyncio.subprocess.Process, ready: str) -> None:
        self.proc = proc
        self.ready = ready  # the READY line, for what the child reports with it

    @classmethod
    async def spawn(cls, args: list[str], *, what: str, ready_timeout_s: float) -> Self:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26
        )
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), ready_timeout_s)).decode()
        if not line.startswith("READY"):
            raise RuntimeError(f"{what} failed: {line!r}")
        return cls(proc, line.strip())

    async def ask(self, request: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(request.encode() + b"\n")
        await self.proc.stdin.drain()
        return json.loads(await self.proc.stdout.readline())

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"QUIT\n")
            await self.proc.stdin.drain()
            await asyncio.wait_for(self.proc.wait(), 20)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def announce_ready(detail: str = "") -> None:
    """The child's first line."""
    sys.stdout.write(f"READY {detail}".rstrip() + "\n")
    sys.stdout.flush()


async def serve_requests(answer: Callable[[str], object]) -> None:
    """The child's loop: one JSON line per request line until ``QUIT`` or end of input."""
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if not line or line == "QUIT":
            return
        sys.stdout.write(json.dumps(answer(line)) + "\n")
        sys.stdout.flush()

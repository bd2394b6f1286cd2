"""Waking the gateway when the outbox gets work, instead of waiting for its next poll.

A transaction that queues a command or a manifest calls ``announce(session)``. When it commits:

* in this process, the process's doorbell rings (``loa.wiring`` subscribes it to the ``outbox``
  change; the embedded setup runs the web app and the gateway in one process, and the gateway
  process's own recompilations queue manifests too); a running gateway holds a wake-up on it;
* on PostgreSQL, ``NOTIFY loa_outbox`` is delivered to every session that listens (a gateway in
  another process or on another machine; see ``listen``). PostgreSQL sends a notification only when
  its transaction commits, so a rolled-back command wakes nobody.

The gateway still polls (``GatewayConfig.outbox_interval_s``): a lost wake-up only costs time.

Several gateways (``loa gateway run`` on several machines) drain the same outbox: ``claim_drain`` lets
one at a time collect, publish and mark rows sent (a PostgreSQL advisory lock, released by PostgreSQL
itself if that gateway dies; on SQLite, a lock file beside the database), so a command is published
once. A gateway killed between publishing and marking leaves rows that are published again by the
next drain: the device drops a command id it already ran (``loa.protocol``'s command ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loa.db.changes import mark_changed

log = logging.getLogger(__name__)

CHANNEL = "loa_outbox"
DRAIN_LOCK_KEY = 0x6C6F615F6F7574  # "loa_out": the advisory lock one draining gateway holds
OUTBOX = "outbox"  # the change announced (``loa.db.changes``)
_NOTIFIED = "loa.outbox.notified"


def announce(session: Session) -> None:
    """Wake the gateway when this transaction commits."""
    mark_changed(session, OUTBOX, True)
    if session.get_bind().dialect.name != "postgresql":
        return
    # One NOTIFY per transaction: remembered by the transaction object itself, so a session that
    # goes on to a new transaction notifies again.
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_NOTIFIED) is transaction:
        return
    session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info[_NOTIFIED] = session.get_transaction()


async def listen(database_url: str, wake: Callable[[], None], *, retry_s: float = 5.0) -> None:
    """Call ``wake`` for every ``NOTIFY loa_outbox`` (PostgreSQL only; returns at once otherwise).
    Reconnects after a failure; runs until cancelled."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    failing = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if failing:
                    log.info("listening for outbox notifications again")
                failing = False
                wake()  # whatever was queued while we were not listening
                async for _ in conn.notifies():
                    wake()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if not failing:
                log.warning("outbox notifications unavailable (polling only): %s", err)
            failing = True
        await asyncio.sleep(retry_s)


@dataclass
class DrainClaim:
    """The right to drain the outbox until ``release``; ``held`` False: another gateway drains."""

    held: bool
    _conn: Any = None
    _file: IO[bytes] | None = None

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                if self.held:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": DRAIN_LOCK_KEY})
                self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
        self.held = False


def claim_drain(engine: Engine) -> DrainClaim:
    """Try to become the one gateway draining the outbox now (never waits)."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": DRAIN_LOCK_KEY}))
            conn.commit()
        except Exception:
            conn.close()
            raise
        claim = DrainClaim(held, _conn=conn)
        if not held:
            claim.release()
        return claim
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return DrainClaim(True)  # one process only
    import fcntl

    handle = open(f"{database}.outbox-lock", "ab")  # noqa: SIM115 - held until release()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return DrainClaim(False)
    return DrainClaim(True, _file=handle)

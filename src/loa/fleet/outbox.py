"""Waking the gateway when the outbox gets work, instead of waiting for its next poll.

A transaction that queues a command or a manifest calls ``announce(session)``. When it commits:

* in this process, the process's doorbell rings (``loa.wiring`` subscribes it to the ``outbox``
  change; the embedded setup runs the web app and the gateway in one process, and the gateway
  process's own recompilations queue manifests too); a running gateway holds a wake-up on it;
* on PostgreSQL, ``NOTIFY loa_outbox`` is delivered to every session that listens (a gateway in
  another process or on another machine; see ``listen``). PostgreSQL sends a notification only when
  its transaction commits, so a rolled-back command wakes nobody.

The gateway still polls (``GatewayConfig.outbox_interval_s``): a lost wake-up only costs time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loa.db.changes import mark_changed

log = logging.getLogger(__name__)

CHANNEL = "loa_outbox"
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

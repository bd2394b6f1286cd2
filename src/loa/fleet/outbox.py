"""Waking the gateway when the outbox gets work, instead of waiting for its next poll.

A transaction that queues a command or a manifest calls ``announce(session)``. When it commits:

* in this process, every registered listener is called (the embedded setup runs the web app and the
  gateway in one process);
* on PostgreSQL, ``NOTIFY loa_outbox`` is delivered to every session that listens (a gateway in
  another process or on another machine; see ``listen``). PostgreSQL sends a notification only when
  its transaction commits, so a rolled-back command wakes nobody.

The gateway still polls (``GatewayConfig.outbox_interval_s``): a lost wake-up only costs time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "loa_outbox"
_ANNOUNCED = "loa_outbox_announced"
_listeners: set[Callable[[], None]] = set()
_lock = threading.Lock()


def add_listener(callback: Callable[[], None]) -> None:
    """``callback`` runs in the committing thread: it must be quick and thread-safe."""
    with _lock:
        _listeners.add(callback)


def remove_listener(callback: Callable[[], None]) -> None:
    with _lock:
        _listeners.discard(callback)


def announce(session: Session) -> None:
    """Wake the gateway when this transaction commits."""
    if session.info.get(_ANNOUNCED):
        return
    session.info[_ANNOUNCED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_ANNOUNCED, False):
        return
    with _lock:
        callbacks = list(_listeners)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a listener must never break the committing request
            log.exception("outbox listener failed")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_ANNOUNCED, None)


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

"""What an entry point hands the parts of its process (made by ``loa.wiring.wire``; never built
elsewhere): the session factory with every change handler subscribed, the doorbell that wakes the
process's waiters after a commit, and the periodic work a long-running service runs beside itself.

Domains take these as parameters; only the composition modules (``app``, ``cli``, ``wiring``) know
what is subscribed to what.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class Doorbell:
    """Rung after a commit that queued work for someone in this process (e.g. the gateway's outbox);
    whoever waits for that work holds a wake-up on it while it runs. Thread-safe: commits happen in
    request threads, the waiters run on event loops."""

    def __init__(self) -> None:
        self._wakes: set[Callable[[], None]] = set()
        self._lock = threading.Lock()

    def hold(self, wake: Callable[[], None]) -> None:
        """``wake`` runs in the committing thread: it must be quick and thread-safe."""
        with self._lock:
            self._wakes.add(wake)

    def release(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._wakes.discard(wake)

    def ring(self) -> None:
        with self._lock:
            wakes = list(self._wakes)
        for wake in wakes:
            try:
                wake()
            except Exception:  # a waiter must never break the committing request
                log.exception("doorbell wake-up failed")


@dataclass(frozen=True)
class Periodic:
    """Work repeated every ``interval_s`` beside a long-running service, in a worker thread; it
    opens its own session and commits."""

    what: str  # for the log: "periodic manifest recompilation"
    interval_s: float
    work: Callable[[], None]


@dataclass(frozen=True)
class Process:
    sessions: sessionmaker[Session]
    doorbell: Doorbell = field(default_factory=Doorbell)
    periodic: tuple[Periodic, ...] = ()

"""Cross-domain change notices: the one way a domain reacts to another's change.

A domain marks what it changed (``mark_changed(session, "bulletin", 42)``) without knowing who cares;
``loa.wiring`` — and only it — subscribes handlers on the session factory of each process:

* ``on_commit(factory, topic, handler)``: ``handler(session, keys)`` runs inside the transaction, just
  before it commits, and may write: its work commits or rolls back with the change itself. So content
  never imports scheduling, yet a bulletin withdrawn after scheduling leaves every future manifest in
  the same commit. A change a handler announces is delivered in the same commit too (a finished
  reading attached to a bulletin recompiles its schedule). ``isolated=True`` runs the handler in a
  savepoint and logs its failure instead of failing the commit (for work that must not undo the
  change that triggered it).
* ``after_commit(factory, topic, callback)``: ``callback(keys)`` runs once the transaction has
  committed, in the committing thread; it must be quick and must not use the session (it wakes
  someone: the gateway's outbox). A failure is logged, never raised.

A savepoint's commit is not the commit: handlers run once, for the outermost transaction. A rollback
forgets the marks.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)

CHANGES_KEY = "loa.changes"
DELIVERED_KEY = "loa.changes.delivered"
MAX_ROUNDS = 10  # handlers announcing changes that announce changes…: a loop is a bug, not a wait

Handler = Callable[[Session, set[Any]], None]
Callback = Callable[[set[Any]], None]


def mark_changed(session: Session, topic: str, key: Hashable) -> None:
    """Record that ``key`` of kind ``topic`` changed in this session's transaction."""
    changes: dict[str, set[Any]] = session.info.setdefault(CHANGES_KEY, {})
    changes.setdefault(topic, set()).add(key)


def pending_changes(session: Session, topic: str) -> set[Any]:
    changes: dict[str, set[Any]] = session.info.get(CHANGES_KEY, {})
    return set(changes.get(topic, set()))


def on_commit(
    factory: sessionmaker[Session], topic: str, handler: Handler, *, isolated: bool = False
) -> None:
    """Call ``handler(session, keys)`` before each commit that marked ``topic`` (see the module)."""
    _subscribers(factory).before.setdefault(topic, []).append((handler, isolated))


def after_commit(factory: sessionmaker[Session], topic: str, callback: Callback) -> None:
    """Call ``callback(keys)`` after each commit that marked ``topic`` (see the module)."""
    _subscribers(factory).after.setdefault(topic, []).append(callback)


@dataclass
class _Subscribers:
    """The handlers of one session factory, delivered by three listeners registered once."""

    before: dict[str, list[tuple[Handler, bool]]] = field(default_factory=dict)
    after: dict[str, list[Callback]] = field(default_factory=dict)

    def before_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        changes: dict[str, set[Any]] = session.info.get(CHANGES_KEY, {})
        delivered: dict[str, set[Any]] = session.info.setdefault(DELIVERED_KEY, {})
        for _ in range(MAX_ROUNDS):
            due = [topic for topic in self.before if changes.get(topic)]
            if not due:
                return
            for topic in due:
                keys = changes.pop(topic, set())
                delivered.setdefault(topic, set()).update(keys)
                for handler, isolated in self.before[topic]:
                    _call(session, handler, keys, isolated=isolated)
        raise RuntimeError(f"change handlers still announcing changes after {MAX_ROUNDS} rounds")

    def after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        committed: dict[str, set[Any]] = session.info.pop(DELIVERED_KEY, {})
        for topic, keys in session.info.pop(CHANGES_KEY, {}).items():
            committed.setdefault(topic, set()).update(keys)
        for topic, callbacks in self.after.items():
            if not committed.get(topic):
                continue
            for callback in callbacks:
                try:
                    callback(set(committed[topic]))
                except Exception:  # the commit happened: a late listener must not undo the request
                    log.exception("after-commit handler for %r failed", topic)

    def after_soft_rollback(self, session: Session, previous: SessionTransaction) -> None:
        # Marks made inside a rolled-back savepoint are kept: the handler then finds nothing to do
        # (handlers recompute from the database), which is cheaper than tracking marks per savepoint.
        if previous.nested:
            return
        session.info.pop(CHANGES_KEY, None)
        session.info.pop(DELIVERED_KEY, None)


def _call(session: Session, handler: Handler, keys: set[Any], *, isolated: bool) -> None:
    if not isolated:
        handler(session, keys)
        return
    try:
        with session.begin_nested():
            handler(session, keys)
    except Exception:
        log.exception("change handler %r failed; the change itself commits", handler)


# Keyed by the factory an entry point made: its subscribers live (and die) with it.
_registry: weakref.WeakKeyDictionary[sessionmaker[Session], _Subscribers] = weakref.WeakKeyDictionary()


def _subscribers(factory: sessionmaker[Session]) -> _Subscribers:
    subscribers = _registry.get(factory)
    if subscribers is None:
        subscribers = _registry[factory] = _Subscribers()
        event.listen(factory, "before_commit", subscribers.before_commit)
        event.listen(factory, "after_commit", subscribers.after_commit)
        event.listen(factory, "after_soft_rollback", subscribers.after_soft_rollback)
    return subscribers

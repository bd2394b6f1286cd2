"""Cross-domain change notices, delivered inside the same transaction just before it commits.

A domain marks what it changed (``mark_changed(session, "bulletin", 42)``) without knowing who cares;
the entry points (``create_app``, the CLI) subscribe handlers on their session factory
(``on_commit(factory, "bulletin", handler)``). So content never imports scheduling, yet a bulletin
withdrawn after scheduling leaves every future manifest in the same commit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

CHANGES_KEY = "loa.changes"

Handler = Callable[[Session, set[Any]], None]


def mark_changed(session: Session, topic: str, key: Hashable) -> None:
    """Record that ``key`` of kind ``topic`` changed in this session's transaction."""
    changes: dict[str, set[Any]] = session.info.setdefault(CHANGES_KEY, {})
    changes.setdefault(topic, set()).add(key)


def pending_changes(session: Session, topic: str) -> set[Any]:
    changes: dict[str, set[Any]] = session.info.get(CHANGES_KEY, {})
    return set(changes.get(topic, set()))


def on_commit(factory: sessionmaker[Session], topic: str, handler: Handler) -> None:
    """Call ``handler(session, keys)`` before each commit that marked ``topic``; the handler may write
    (it runs inside the transaction, so its work commits or rolls back with the change itself)."""

    def _before_commit(session: Session) -> None:
        changes: dict[str, set[Any]] = session.info.get(CHANGES_KEY, {})
        keys = changes.pop(topic, None)
        if keys:
            handler(session, keys)

    def _after_rollback(session: Session) -> None:
        session.info.pop(CHANGES_KEY, None)

    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_soft_rollback", lambda session, _tx: _after_rollback(session))

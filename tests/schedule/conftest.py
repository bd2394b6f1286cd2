"""Database fixtures of the scheduling service tests (the pure tests here need none)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import Backend
from tests.schedule.world import World, load_world, seed_world


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    """A database cloned from a template that already holds the commune world."""
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def world(session: Session) -> World:
    world = load_world(session)
    session.commit()
    return world

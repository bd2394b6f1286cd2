from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from loa.app import create_app
from loa.settings import Settings
from tests.conftest import Backend
from tests.fleet.harness import broker_kinds
from tests.fleet.world import seed_fleet_world


@pytest.fixture(params=broker_kinds())
def broker_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def world_engine(backend: Backend) -> Iterator[Engine]:
    """Two communes, their people and three devices (cloned from a template built once per run)."""
    with backend.database("fleet-world", seed=seed_fleet_world) as eng:
        yield eng


@pytest.fixture
def web(settings: Settings, world_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=world_engine)) as client:
        yield client

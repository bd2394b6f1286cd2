"""The scope walk's world: the whole country's units and three communes' records (``world.py``), built
once per run per database backend and copied per test; its photos live in one data folder per run."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.settings import Settings
from tests.conftest import Backend
from tests.scope.world import seed_scope_world


@pytest.fixture(scope="session")
def scope_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scope-data")


@pytest.fixture
def settings(scope_data_dir: Path) -> Settings:
    return Settings(demo=True, data_dir=scope_data_dir, secret_key="test-secret-key-0123456789abcdef")  # type: ignore[arg-type]


@pytest.fixture
def engine(backend: Backend, scope_data_dir: Path) -> Iterator[Engine]:
    with backend.database("scope-world", seed=partial(seed_scope_world, data_dir=scope_data_dir)) as eng:
        yield eng

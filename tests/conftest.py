"""Shared fixtures. Database tests run on every backend this machine offers: SQLite always,
PostgreSQL when ``LOA_TEST_POSTGRES_URL`` is set (CI sets it and ``LOA_TEST_REQUIRE_SERVICES=1``, so an
unreachable server fails the run instead of skipping)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.app import create_app
from loa.db import make_session_factory
from loa.settings import Settings
from tests.support.databases import (
    POSTGRES_ENV,
    PostgresBackend,
    SqliteBackend,
    postgres_reachable,
    services_required,
)

Backend = SqliteBackend | PostgresBackend


# Modules that listen on fixed ports or port ranges: under pytest-xdist they all run in one worker, one at a
# time, so two workers never race for a port.
FIXED_PORT_MODULES = frozenset(
    {
        "tests/agent/test_stream_icecast.py",
        "tests/alerts/test_cap_feed.py",
        "tests/alerts/test_leadin_paths.py",
        "tests/fleet/test_stream_end_to_end.py",
        "tests/live/test_icecast.py",
        "tests/live/test_relay_pull.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if Path(str(item.path)).relative_to(root).as_posix() in FIXED_PORT_MODULES:
            item.add_marker(pytest.mark.xdist_group("fixed-ports"))


def _backend_names() -> list[str]:
    names = ["sqlite"]
    if os.environ.get(POSTGRES_ENV):
        names.append("postgres")
    return names


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteBackend]:
    yield SqliteBackend(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[PostgresBackend]:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url or not postgres_reachable(url):
        if services_required():
            pytest.fail(f"PostgreSQL required but not reachable at {url!r}")
        pytest.skip("PostgreSQL not configured (set LOA_TEST_POSTGRES_URL)")
    backend = PostgresBackend(url)
    yield backend
    backend.close()


@pytest.fixture(params=_backend_names())
def backend(request: pytest.FixtureRequest) -> Backend:
    """The database backend under test; parametrises every DB test over SQLite and PostgreSQL."""
    name: str = request.param
    fixture: Backend = request.getfixturevalue(f"{name}_backend")
    return fixture


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    """A freshly migrated, empty database."""
    with backend.database() as eng:
        yield eng


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    factory = make_session_factory(engine)
    with factory() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(demo=True, data_dir=tmp_path / "data", secret_key="test-secret-key-0123456789abcdef")  # type: ignore[arg-type]


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def seed_areas(session: Session) -> None:
    """All 34 provinces and 3,321 communes, plus former districts and lineage (loa.areas importer)."""
    from loa.areas.importer import import_units

    import_units(session, with_history=True)


@pytest.fixture
def areas_engine(backend: Backend) -> Iterator[Engine]:
    """A migrated database with the whole country's units imported (built once per run, then copied)."""
    with backend.database("areas", seed=seed_areas) as eng:
        yield eng

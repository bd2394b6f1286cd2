"""The scope walk's world: the whole country's units and three communes' records (``world.py``), built
once per run per database backend. The walk only reads, so one copy of it, one app and the signed-in
clients serve every route of a backend (module scope); its photos live in one data folder per run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from loa.app import create_app
from loa.db import make_session_factory
from loa.settings import Settings
from tests.conftest import Backend, _backend_names
from tests.scope.world import USERS, Commune, load_communes, seed_scope_world
from tests.support.auth import login_web


@pytest.fixture(scope="session")
def scope_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scope-data")


@pytest.fixture(scope="module", params=_backend_names())
def world_engine(request: pytest.FixtureRequest, scope_data_dir: Path) -> Iterator[Engine]:
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    with backend.database("scope-world", seed=partial(seed_scope_world, data_dir=scope_data_dir)) as eng:
        yield eng


@pytest.fixture(scope="module")
def communes(world_engine: Engine) -> dict[str, Commune]:
    with make_session_factory(world_engine)() as session:
        return load_communes(session)


@pytest.fixture(scope="module")
def signed_in(world_engine: Engine, scope_data_dir: Path) -> Iterator[dict[str, TestClient]]:
    """A TestClient per person of the world, signed in through the login form."""
    settings = Settings(demo=True, data_dir=scope_data_dir, secret_key="test-secret-key-0123456789abcdef")  # type: ignore[arg-type]
    app = create_app(settings, engine=world_engine)
    with ExitStack() as stack:
        clients: dict[str, TestClient] = {}
        for user in USERS:
            clients[user] = stack.enter_context(TestClient(app))
            login_web(clients[user], user)
        yield clients

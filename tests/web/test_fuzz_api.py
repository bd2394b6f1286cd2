"""Issue 20.9: a bounded, derandomised schemathesis run over every operation of the OpenAPI schema, as
a signed-in administrator of the embedded SQLite app: whatever it sends, no answer is a server error.
Deterministic (fixed by ``derandomize``) and bounded (``max_examples`` per operation), so it stays in
the suite; the known findings (huge ids, ``null`` lists, lone surrogates) have their own tests in
``test_odd_input.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import Engine

from loa.accounts.auth import issue_token
from loa.accounts.principal import Role
from loa.accounts.service import get_user_by_username, principal_for
from loa.app import create_app
from loa.db import make_session_factory
from loa.exchange import peers
from loa.exchange.api_gate import KEY_HEADER
from loa.exchange.models import PeerRelation
from loa.settings import Settings
from tests.activities.areas import build_tree
from tests.support.auth import make_user
from tests.support.databases import SqliteBackend

MAX_EXAMPLES = 30  # per operation, half valid and half invalid requests: about 3,000 calls


@pytest.fixture
def fuzzed(sqlite_backend: SqliteBackend, tmp_path: Path) -> Iterator[tuple[schemathesis.BaseSchema, Admin]]:
    with sqlite_backend.database() as engine:
        secret = "test-secret-key-0123456789abcdef"
        with make_session_factory(engine)() as session:
            build_tree(session)
            admin = principal_for(session, make_user(session, "quantri", Role.ADMIN))
            # The exchange API (another system's key, scoped to Ba Tơ) is fuzzed too, not only refused.
            peer = peers.create_peer(
                session,
                principal=admin,
                name="Hệ thống cấp tỉnh",
                relation=PeerRelation.UPPER,
                area_codes=["21484"],
                rate_limit_per_min=100_000,
                secret_key=secret,
            )
            exchange_key = peers.issue_key(session, principal=admin, peer_id=peer.id).token
            session.commit()
        settings_ = Settings(demo=True, data_dir=tmp_path / "data", secret_key=secret)
        app = create_app(settings_, engine=engine)
        yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), Admin(app, engine, exchange_key)


class Admin:
    """The fuzzing administrator's bearer header. The run may change this very account (a new
    password, revoked tokens, a lower role): after a call that succeeded on ``/users`` or ``/auth``,
    the account is put back directly in the database with a new token."""

    def __init__(self, app: FastAPI, engine: Engine, exchange_key: str) -> None:
        self.client, self.engine = TestClient(app, raise_server_exceptions=False), engine
        self.exchange_key = exchange_key
        self.headers: dict[str, str] = {}
        self.restore()

    def send(self, case: schemathesis.Case[Any]) -> httpx.Response:
        """The case as an HTTP request through a client that answers 500 rather than raising. JSON is
        written with ASCII escapes, as a client would send a lone surrogate ("\\ud800")."""
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=self.headers)
        kwargs.pop("cookies", None)
        if "json" in kwargs:
            kwargs["content"] = json.dumps(kwargs.pop("json")).encode()
        if isinstance(kwargs.get("data"), bytes | str):
            kwargs["content"] = kwargs.pop("data")
        response: httpx.Response = self.client.request(**kwargs)
        return response

    def after(self, path: str, status: int) -> None:
        if status < 400 and path.startswith(("/api/v1/users", "/api/v1/auth")):
            self.restore()

    def restore(self) -> None:
        """Active administrator with a new token, issued directly: the run's guesses at
        ``/auth/token`` may have throttled signing in as this account."""
        with make_session_factory(self.engine)() as session:
            user = get_user_by_username(session, "quantri")
            user.active, user.role = True, Role.ADMIN
            issued = issue_token(session, user=user, ttl_s=3600)
            session.commit()
        self.headers = {"Authorization": f"Bearer {issued.token}", KEY_HEADER: self.exchange_key}


pytestmark = pytest.mark.slow

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_server_error(fuzzed: tuple[schemathesis.BaseSchema, Admin]) -> None:
    """Every operation in turn; server errors are collected (not raised, so nothing is shrunk) and
    listed together."""
    api_schema, admin = fuzzed
    failures: list[str] = []
    statuses: dict[int, int] = {}
    calls = 0
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        cases = st.one_of(*[operation.as_strategy(mode) for mode in GenerationMode])

        @given(case=cases)
        @SETTINGS
        def call(case: schemathesis.Case[Any]) -> None:
            nonlocal calls
            calls += 1
            response = admin.send(case)
            admin.after(case.formatted_path, response.status_code)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: {case.body!r:.200}"
                )

        call()
    # The run reached the application, not only the sign-in check (the device and SMS operations,
    # which take other credentials, do answer 401).
    assert calls > 2000 and sum(n for status, n in statuses.items() if status < 300) > 150, statuses
    assert not failures, "\n".join(failures)

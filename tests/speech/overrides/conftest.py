"""A small world for per-area abbreviation readings: one province, two communes and the people who
edit them (seeded once per backend, then copied)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.settings import Settings
from loa.speech.engines import EngineRegistry
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.jobs import ThreadJobRunner
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore
from loa.units.models import AdminUnit, UnitKind
from loa.wiring import wire
from tests.conftest import Backend
from tests.support.auth import make_user

PROVINCE, COMMUNE_A, COMMUNE_B = "51", "21484", "21490"
PEOPLE: tuple[tuple[str, Role, str | None], ...] = (
    ("tinh", Role.PROVINCE_EDITOR, PROVINCE),
    ("vanhanh.a", Role.COMMUNE_OPERATOR, COMMUNE_A),
    ("vanhanh.b", Role.COMMUNE_OPERATOR, COMMUNE_B),
    ("xem.a", Role.VIEWER, COMMUNE_A),
    ("quantri", Role.ADMIN, None),
)


def seed(session: Session) -> None:
    province = AdminUnit(
        code=PROVINCE, kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    for code, name in ((COMMUNE_A, "Xã Ba Tơ"), (COMMUNE_B, "Xã Ba Vì")):
        session.add(
            AdminUnit(
                code=code,
                kind=UnitKind.COMMUNE,
                name=name,
                name_folded=name.lower(),
                parent_id=province.id,
                path=f"/51/{code}/",
            )
        )
    session.flush()
    for username, role, area in PEOPLE:
        make_user(session, username, role, area)


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("speech-overrides-world", seed=seed) as eng:
        yield eng


@pytest.fixture
def units(session: Session) -> dict[str, AdminUnit]:
    return {u.code: u for u in session.scalars(select(AdminUnit))}


@pytest.fixture
def principals(session: Session) -> dict[str, Principal]:
    return {u.username: principal_for(session, u) for u in session.scalars(select(User))}


@pytest.fixture
def speech_context(tmp_path: Path) -> SpeechContext:
    return SpeechContext(
        registry=EngineRegistry([EspeakEngine()]),
        store=LocalAudioStore(tmp_path / "audio"),
        max_upload_bytes=8 * 1024 * 1024,
    )


@pytest.fixture
def runner(engine: Engine, settings: Settings, speech_context: SpeechContext) -> Iterator[ThreadJobRunner]:
    """A job worker as the web app runs it: on the process's wired sessions, so a finished reading
    reaches content (``loa.wiring``)."""
    jobs = ThreadJobRunner(wire(engine, settings).sessions, speech_context)
    yield jobs
    jobs.close()


@pytest.fixture
def web(app: FastAPI, client: TestClient) -> Iterator[TestClient]:
    """The HTTP client; a speech runtime the app made on first use is shut down afterwards."""
    yield client
    runtime = getattr(app.state, "speech_runtime", None)
    if runtime is not None:
        runtime.jobs.wait_idle(60)
        runtime.close()

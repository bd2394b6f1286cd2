"""Fixtures for speech tests on the real database: a speech context (real eSpeak, a store in a
temporary folder), a job runner, and people with and without the right to make audio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.db import make_session_factory
from loa.settings import Settings
from loa.speech.engines import EngineRegistry
from loa.speech.engines.espeak import EspeakEngine
from loa.speech.jobs import ThreadJobRunner
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore
from loa.units.models import AdminUnit, UnitKind
from tests.support.auth import make_user

MAX_UPLOAD_BYTES = 12 * 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shared settings with a small upload limit (a 3-hour MP3 at 8 kb/s fits under it)."""
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key=SecretStr("test-secret-key-0123456789abcdef"),
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )


@pytest.fixture
def speech_context(tmp_path: Path) -> SpeechContext:
    return SpeechContext(
        registry=EngineRegistry([EspeakEngine()]),
        store=LocalAudioStore(tmp_path / "audio"),
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )


@pytest.fixture
def runner(engine: Engine, speech_context: SpeechContext) -> Iterator[ThreadJobRunner]:
    jobs = ThreadJobRunner(make_session_factory(engine), speech_context)
    yield jobs
    jobs.close()


@pytest.fixture
def people(session: Session) -> dict[str, int]:
    """admin (everywhere), bientap (editor of a commune), xem (viewer): usernames → user ids."""
    province = AdminUnit(
        code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
    )
    session.add(province)
    session.flush()
    commune = AdminUnit(
        code="21484",
        kind=UnitKind.COMMUNE,
        name="Xã Ba Tơ",
        name_folded="xa ba to",
        parent_id=province.id,
        path="/51/21484/",
    )
    session.add(commune)
    session.flush()
    ids = {
        "quantri": make_user(session, "quantri", Role.ADMIN).id,
        "bientap": make_user(session, "bientap", Role.PROVINCE_EDITOR, "21484").id,
        "xem": make_user(session, "xem", Role.VIEWER, "21484").id,
    }
    session.commit()
    return ids


@pytest.fixture
def speech_client(app: FastAPI, client: TestClient, people: dict[str, int]) -> Iterator[TestClient]:
    """The HTTP client; the speech runtime the app creates on first use is shut down afterwards."""
    yield client
    runtime = getattr(app.state, "speech_runtime", None)
    if runtime is not None:
        runtime.jobs.wait_idle(60)
        runtime.close()

"""Several web processes behind one address (docs/operations.md, issue 17): two app instances, each
with its own engine (as two processes have), on the same database and the same ``LOA_DATA_DIR``,
serve a session signed in on the other and an audio file the other made; a sign-out on one ends the
session on both."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from loa.app import create_app
from loa.db import make_engine
from loa.settings import Settings
from tests.speech.audio.media import SAMPLE_RATE, UPLOAD_FORMATS, encode_with_pyav, measure_file, tone
from tests.support.auth import bearer, csrf_token, login_web


@pytest.fixture
def second(
    settings: Settings, engine: Engine, people: dict[str, int]
) -> Iterator[tuple[FastAPI, TestClient]]:
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    other = create_app(settings.model_copy(), engine=other_engine)
    with TestClient(other) as client:
        yield other, client
    runtime = getattr(other.state, "speech_runtime", None)
    if runtime is not None:
        runtime.close()
    other_engine.dispose()


def _signed_in(client: TestClient) -> bool:
    response = client.get("/account/password", follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    return bool(response.status_code == 200)


def test_a_session_and_an_audio_file_made_by_one_process_are_served_by_the_other(
    speech_client: TestClient, app: FastAPI, second: tuple[FastAPI, TestClient]
) -> None:
    _other, other_client = second
    login_web(speech_client, "bientap")
    assert _signed_in(speech_client) and not _signed_in(other_client)
    other_client.cookies.set("loa_session", speech_client.cookies["loa_session"])
    assert _signed_in(other_client)  # the signed cookie names a session row both processes read

    data = encode_with_pyav(tone(440, 1.5, amplitude=0.1), SAMPLE_RATE, UPLOAD_FORMATS[0])
    headers = bearer(speech_client, "bientap")
    accepted = speech_client.post(
        "/api/v1/audio", files={"file": ("chuong.wav", data, "audio/wav")}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    assert app.state.speech_runtime.jobs.wait_idle(120)
    job = speech_client.get(f"/api/v1/speech/jobs/{accepted.json()['id']}", headers=headers).json()
    sha = str(job["result_sha256"])

    served = other_client.get(f"/api/v1/audio/{sha}", headers=bearer(other_client, "bientap"))
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == sha
    measured = measure_file(served.content)  # real audio, decoded: the levelled tone
    assert 1.3 < measured.duration_s < 1.7

    signed_out = other_client.post(
        "/logout", data={"csrf_token": csrf_token(other_client, "/")}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    assert not _signed_in(speech_client)  # revoked in the database: the first process agrees

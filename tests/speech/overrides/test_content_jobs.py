"""Content's listener on finished speech jobs takes only its own: a job for another subject, for a
bulletin that does not exist or for a bulletin that is not waiting for it leaves no error and
attaches nothing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.content import service as content_service
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.db import make_session_factory
from loa.speech import jobs
from loa.speech.models import JobStatus
from loa.speech.service import SpeechContext
from tests.speech.overrides.conftest import COMMUNE_A


def test_jobs_for_other_subjects_are_ignored_quietly(
    engine: Engine,
    session: Session,
    principals: dict[str, Principal],
    speech_context: SpeechContext,
    runner: jobs.ThreadJobRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = principals["vanhanh.a"]
    bulletin = content_service.create_bulletin(
        session, principal=operator, draft=DraftInput(title="Thông báo", body="Họp dân.", area_code=COMMUNE_A)
    )
    subjects = ["bulletin:999999:vi", "lich-phat:3", f"bulletin:{bulletin.id}:vi", None]
    made = [
        jobs.create_job(
            session,
            context=speech_context,
            text="Xin chào bà con.",
            subject=s,
            created_by_id=operator.user_id,
        ).id
        for s in subjects
    ]
    session.commit()
    with caplog.at_level(logging.INFO):
        for job_id in made:
            runner.submit(job_id)
        assert runner.wait_idle(120)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    with make_session_factory(engine)() as check:
        assert all(jobs.get_job(check, j).status is JobStatus.DONE for j in made)
        fresh = check.get(Bulletin, bulletin.id)
        assert fresh is not None and all(r.audio_sha256 is None for r in fresh.renditions)

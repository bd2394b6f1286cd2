"""Background TTS jobs on the real database (SQLite and PostgreSQL): queued → running → done with
progress, failures in Vietnamese, no double processing, restart recovery, listeners."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.db import make_session_factory
from loa.db.changes import on_commit
from loa.errors import InvalidInput, NotFound, TooManyRequests
from loa.speech import jobs
from loa.speech.models import JOB_FINISHED, AudioAsset, AudioSourceKind, JobStatus, SpeechJob
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore
from tests.speech.audio.media import measure_file

ARTICLE_PARAGRAPH = (
    "Thực hiện Kế hoạch số 56/KH-UBND ngày 29/4/2024 của Ủy ban nhân dân huyện, trong năm qua đài "
    "truyền thanh xã đã phát 1.250 tin, bài về cải cách hành chính, chuyển đổi số và phòng chống thiên tai. "
)


def _store_files(context: SpeechContext) -> list[Path]:
    store = context.store
    assert isinstance(store, LocalAudioStore)
    return sorted(p for p in store.root.rglob("*") if p.is_file())


def test_a_job_runs_to_done_with_progress_and_both_formats(
    engine: Engine,
    session: Session,
    speech_context: SpeechContext,
    people: dict[str, int],
) -> None:
    seen: list[tuple[str, str]] = []
    factory = make_session_factory(engine)
    on_commit(
        factory,
        JOB_FINISHED,
        lambda s, ids: seen.extend((i, jobs.get_job(s, i).status.value) for i in ids),
    )
    runner = jobs.ThreadJobRunner(factory, speech_context)
    try:
        job = jobs.create_job(
            session,
            context=speech_context,
            text=ARTICLE_PARAGRAPH * 3,
            voice="vi-vn-x-south",
            subject="thu-nghiem:1",
            created_by_id=people["bientap"],
        )
        session.commit()
        assert (job.status, job.progress, job.voice) == (JobStatus.QUEUED, 0, "espeak:vi-vn-x-south")
        runner.submit(job.id)
        assert runner.wait_idle(120)
    finally:
        runner.close()

    with make_session_factory(engine)() as check:
        done = jobs.get_job(check, job.id)
        assert done.status is JobStatus.DONE and done.progress == 100 and done.error_message is None
        assert (
            done.started_at is not None
            and done.finished_at is not None
            and done.finished_at >= done.started_at
        )
        assert seen == [(job.id, "done")]
        mp3 = check.scalar(select(AudioAsset).where(AudioAsset.sha256 == done.result_sha256))
        assert mp3 is not None and mp3.format == "mp3" and mp3.source_kind is AudioSourceKind.TTS
        assert mp3.created_by_id == people["bientap"] and mp3.voice == "espeak:vi-vn-x-south"
        [opus] = check.scalars(select(AudioAsset).where(AudioAsset.rendition_of_id == mp3.id))
        assert opus.format == "opus" and opus.duration_ms == pytest.approx(mp3.duration_ms, abs=100)
        for asset in (mp3, opus):
            ext = "mp3" if asset.format == "mp3" else "opus"
            with speech_context.store.open(asset.sha256, ext) as handle:
                measured = measure_file(handle.read())
            assert measured.loudness_lufs == pytest.approx(-16, abs=1.0)
            assert measured.true_peak_dbtp <= -1.5
            assert asset.loudness_lufs == pytest.approx(measured.loudness_lufs, abs=0.3)
            assert asset.size_bytes == speech_context.store.size(asset.sha256, ext)


def test_progress_is_recorded_per_chunk(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    job = jobs.create_job(
        session, context=speech_context, text=ARTICLE_PARAGRAPH * 3, created_by_id=people["quantri"]
    )
    session.commit()
    factory = make_session_factory(engine)
    observed: list[int] = []

    original = speech_context.registry.synthesize

    def spy(*args: object, **kwargs: object) -> object:
        with factory() as s:
            observed.append(jobs.get_job(s, job.id).progress)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    speech_context.registry.synthesize = spy  # type: ignore[method-assign,assignment]
    jobs.run_job(factory, speech_context, job.id)
    assert observed[0] == 0 and 0 < max(observed) < 100
    assert observed == sorted(observed)
    with factory() as s:
        assert jobs.get_job(s, job.id).progress == 100


def test_identical_requests_reuse_the_stored_audio(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    factory = make_session_factory(engine)
    ids = []
    for _ in range(2):
        job = jobs.create_job(
            session, context=speech_context, text="Xin chào bà con.", created_by_id=people["quantri"]
        )
        session.commit()
        jobs.run_job(factory, speech_context, job.id)
        ids.append(job.id)
    with factory() as s:
        first, second = (jobs.get_job(s, i) for i in ids)
        assert first.result_sha256 == second.result_sha256
        assert (
            s.scalar(select(AudioAsset.id).where(AudioAsset.rendition_of_id.is_(None)).limit(2)) is not None
        )
        assert len(list(s.scalars(select(AudioAsset)))) == 2  # one MP3 + its Opus, not four


def test_bad_requests_are_refused_at_once(
    session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    cases = [
        ({"text": ""}, "Chưa có nội dung để đọc."),
        ({"text": "x" * 70_000}, "Văn bản quá dài"),
        ({"text": "Xin chào", "voice": "en-us"}, "Không có giọng đọc"),
        ({"text": "Xin chào", "rate": 3.0}, "Tốc độ đọc phải từ 0,5 đến 1,5"),
        ({"text": "Xin chào", "intro_sha256": "0" * 64}, "Không tìm thấy tệp âm thanh"),
    ]
    for kwargs, message in cases:
        with pytest.raises((InvalidInput, NotFound)) as caught:
            jobs.create_job(session, context=speech_context, created_by_id=people["quantri"], **kwargs)  # type: ignore[arg-type]
        assert message in caught.value.message
    assert session.scalar(select(SpeechJob.id)) is None


def test_a_failing_job_ends_failed_with_a_vietnamese_message(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    job = jobs.create_job(
        session, context=speech_context, text="Xin chào bà con.", created_by_id=people["quantri"]
    )
    job.voice = "espeak:da-bi-go"  # the voice was uninstalled after the request was queued
    session.commit()
    factory = make_session_factory(engine)
    jobs.run_job(factory, speech_context, job.id)
    with factory() as s:
        failed = jobs.get_job(s, job.id)
        assert failed.status is JobStatus.FAILED
        assert failed.error_message is not None and "Không có giọng đọc" in failed.error_message
        assert failed.result_sha256 is None
    assert _store_files(speech_context) == []  # nothing half-written


def test_an_unexpected_error_is_reported_without_internals(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    job = jobs.create_job(
        session, context=speech_context, text="Xin chào bà con.", created_by_id=people["quantri"]
    )
    session.commit()

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("segfault-ish internal detail")

    speech_context.registry.synthesize = broken  # type: ignore[method-assign,assignment]
    factory = make_session_factory(engine)
    jobs.run_job(factory, speech_context, job.id)
    with factory() as s:
        failed = jobs.get_job(s, job.id)
        assert failed.status is JobStatus.FAILED and failed.error_message == jobs.GENERIC_FAILURE
    store = speech_context.store
    assert (
        isinstance(store, LocalAudioStore)
        and store.partial_files() == []
        and _store_files(speech_context) == []
    )


def test_a_job_is_claimed_once(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    job = jobs.create_job(
        session, context=speech_context, text="Một hai ba.", created_by_id=people["quantri"]
    )
    session.commit()
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        assert jobs.claim(s, job.id)
    with factory() as s, s.begin():
        assert not jobs.claim(s, job.id)  # a second worker gets nothing
    jobs.run_job(factory, speech_context, job.id)  # not queued any more: left alone
    with factory() as s:
        assert jobs.get_job(s, job.id).status is JobStatus.RUNNING


def test_interrupted_jobs_are_requeued_and_finished(
    engine: Engine, session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    running = jobs.create_job(session, context=speech_context, text="Một.", created_by_id=people["quantri"])
    queued = jobs.create_job(session, context=speech_context, text="Hai.", created_by_id=people["quantri"])
    session.commit()
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        jobs.claim(s, running.id)  # the process died here
    runner = jobs.ThreadJobRunner(factory, speech_context)
    try:
        runner.recover()
        assert runner.wait_idle(60)
    finally:
        runner.close()
    with factory() as s:
        assert {jobs.get_job(s, i).status for i in (running.id, queued.id)} == {JobStatus.DONE}


def test_one_person_cannot_flood_the_queue(
    session: Session, speech_context: SpeechContext, people: dict[str, int]
) -> None:
    for _ in range(jobs.MAX_PENDING_JOBS_PER_USER):
        jobs.create_job(session, context=speech_context, text="Xin chào.", created_by_id=people["bientap"])
    with pytest.raises(TooManyRequests):
        jobs.create_job(session, context=speech_context, text="Xin chào.", created_by_id=people["bientap"])
    jobs.create_job(session, context=speech_context, text="Xin chào.", created_by_id=people["quantri"])


def test_unknown_job_ids(session: Session) -> None:
    for job_id in ("khong-co", "0" * 32, "'; drop table x; --"):
        with pytest.raises(NotFound):
            jobs.get_job(session, job_id)

"""Background speech jobs: rows in ``speech_jobs`` and a worker that processes them. A job either
speaks a text (``JobKind.TTS``) or levels an uploaded recording (``JobKind.UPLOAD``, see ``uploads``).

The embedded default is ``ThreadJobRunner``: worker threads inside the web process. A job is claimed
with a conditional UPDATE (``queued → running``), so several processes (or later a real queue on
Redis/PostgreSQL implementing ``JobRunner``) can share the table without running a job twice. Jobs a
crashed process left queued or running are queued again at start-up (results are content-addressed,
so redoing one is harmless).

A job that ends (done or failed) is announced as the ``speech_job`` change (``loa.db.changes``) in
the transaction that marks it so; other domains react to it where ``loa.wiring`` subscribes them
(content attaches the audio to its bulletin), inside that transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import InvalidInput, LoaError, NotFound, TooManyRequests
from loa.speech import service, uploads
from loa.speech.models import JOB_FINISHED, AudioAsset, JobKind, JobStatus, SpeechJob
from loa.speech.overrides import effective_overrides
from loa.speech.render import check_rate, prepare_text
from loa.speech.service import SpeechContext

log = logging.getLogger(__name__)

MAX_PENDING_JOBS_PER_USER = 20
JOB_NOT_FOUND = "Không tìm thấy yêu cầu tạo âm thanh."
GENERIC_FAILURE = "Không tạo được âm thanh do lỗi hệ thống. Vui lòng thử lại sau."
INTERRUPTED = "Máy chủ khởi động lại khi đang xử lý; yêu cầu được làm lại."


class JobRunner(Protocol):
    def submit(self, job_id: str) -> None: ...

    def close(self) -> None: ...


def create_job(
    session: Session,
    *,
    context: SpeechContext,
    text: str,
    voice: str | None = None,
    rate: float = 1.0,
    intro_sha256: str | None = None,
    outro_sha256: str | None = None,
    subject: str | None = None,
    area_id: int | None = None,
    created_by_id: int | None = None,
    title: str | None = None,
) -> SpeechJob:
    """Validate the request now (so mistakes are reported at once) and queue it. Submit the job to a
    runner after the caller commits. ``area_id``: the area whose abbreviation readings apply (merged
    along its path when the job runs, so a reading fixed meanwhile is used)."""
    info = context.registry.resolve(voice)
    check_rate(rate)
    prepare_text(text, effective_overrides(session, area_id))
    for sha256 in (intro_sha256, outro_sha256):
        if sha256:
            service.get_asset(session, sha256)
    if created_by_id is not None:
        pending = session.scalar(
            select(func.count())
            .select_from(SpeechJob)
            .where(
                SpeechJob.created_by_id == created_by_id,
                SpeechJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            )
        )
        if (pending or 0) >= MAX_PENDING_JOBS_PER_USER:
            raise TooManyRequests(
                f"Bạn đang có {pending} yêu cầu chưa xong. Vui lòng đợi chúng hoàn tất rồi gửi thêm."
            )
    job = SpeechJob(
        status=JobStatus.QUEUED,
        progress=0,
        text=text,
        voice=info.id,
        rate=rate,
        intro_sha256=intro_sha256 or None,
        outro_sha256=outro_sha256 or None,
        subject=subject,
        area_id=area_id,
        created_by_id=created_by_id,
        title=(title or "").strip()[:255] or None,
    )
    session.add(job)
    session.flush()
    record(
        session,
        action="speech.tts_request",
        actor_user_id=created_by_id,
        actor_name=None if created_by_id is not None else "",
        target_type="speech_job",
        target_id=job.id,
        area_id=area_id,
        details={"title": job.title or text[:80], "job_id": job.id},
    )
    return job


def get_job(session: Session, job_id: str) -> SpeechJob:
    job = session.get(SpeechJob, job_id) if job_id.isalnum() and len(job_id) <= 32 else None
    if job is None:
        raise NotFound(JOB_NOT_FOUND)
    return job


def visible_job(session: Session, principal: Principal, job_id: str) -> SpeechJob:
    """A job is its requester's (and administrators'): anyone else's is not found, like a missing one."""
    job = get_job(session, job_id)
    if not principal.is_admin and job.created_by_id != principal.user_id:
        raise NotFound(JOB_NOT_FOUND)
    return job


def claim(session: Session, job_id: str) -> bool:
    result = session.execute(
        update(SpeechJob)
        .where(SpeechJob.id == job_id, SpeechJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow(), progress=0)
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class _Request:
    """What a worker needs from the job row, read before the (long) render."""

    kind: JobKind
    text: str
    voice: str
    rate: float
    intro: str | None
    outro: str | None
    created_by_id: int | None
    area_id: int | None
    source_sha256: str | None
    source_name: str | None
    title: str | None

    @classmethod
    def of(cls, job: SpeechJob) -> _Request:
        return cls(
            job.kind, job.text, job.voice, job.rate, job.intro_sha256, job.outro_sha256, job.created_by_id,
            job.area_id, job.source_sha256, job.source_name, job.title,
        )  # fmt: skip


# A render takes the request and a progress callback, holds no transaction, and returns what stores
# its result inside the job's final transaction: (the asset, the text the voice was given).
Finish = Callable[[Session], tuple[AudioAsset, str | None]]


def _render_tts(
    factory: sessionmaker[Session], context: SpeechContext, request: _Request, progress: Callable[[int], None]
) -> Finish:
    with factory() as session:
        plan = service.plan_synthesis(
            session,
            context=context,
            text=request.text,
            voice=request.voice,
            rate=request.rate,
            formats=service.JOB_FORMATS,
            intro_sha256=request.intro,
            outro_sha256=request.outro,
            overrides=effective_overrides(session, request.area_id),
        )
    # The render holds no transaction: progress updates commit meanwhile (SQLite would refuse
    # to upgrade a read snapshot that older to a write).
    rendered = None if plan.cached is not None else service.render_plan(context, plan, progress)

    def finish(session: Session) -> tuple[AudioAsset, str | None]:
        if rendered is None:
            assert plan.cached is not None
            if request.title and not plan.cached.title:
                plan.cached.title = request.title
            return plan.cached, plan.reading
        asset = service.store_plan_result(
            session,
            context=context,
            plan=plan,
            rendered=rendered,
            created_by_id=request.created_by_id,
            title=request.title,
        )
        return asset, plan.reading

    return finish


def _render_upload(
    factory: sessionmaker[Session], context: SpeechContext, request: _Request, progress: Callable[[int], None]
) -> Finish:
    assert request.source_sha256 is not None
    rendered = uploads.render_stored_upload(
        context, source_sha256=request.source_sha256, source_name=request.source_name, on_progress=progress
    )

    def finish(session: Session) -> tuple[AudioAsset, str | None]:
        assert request.source_sha256 is not None
        asset = uploads.store_upload_result(
            session,
            context=context,
            rendered=rendered,
            source_sha256=request.source_sha256,
            source_name=request.source_name,
            title=request.title,
            created_by_id=request.created_by_id,
        )
        return asset, None

    return finish


_RENDERS = {JobKind.TTS: _render_tts, JobKind.UPLOAD: _render_upload}


def run_job(factory: sessionmaker[Session], context: SpeechContext, job_id: str) -> None:
    """Process one job end to end, each state change in its own short transaction."""
    with factory() as session, session.begin():
        if not claim(session, job_id):
            return  # another worker has it, or it was not queued
    with factory() as session:
        request = _Request.of(get_job(session, job_id))
    last = [0]

    def progress(percent: int) -> None:
        if percent <= last[0] or percent >= 100:
            return
        last[0] = percent
        with factory() as s, s.begin():
            s.execute(update(SpeechJob).where(SpeechJob.id == job_id).values(progress=percent))

    try:
        finish = _RENDERS[request.kind](factory, context, request, progress)
        with factory() as session, session.begin():
            asset, reading = finish(session)
            job = get_job(session, job_id)
            job.status, job.progress, job.finished_at = JobStatus.DONE, 100, utcnow()
            job.result_asset_id, job.result_sha256, job.error_message = asset.id, asset.sha256, None
            job.reading = reading
            mark_changed(session, JOB_FINISHED, job.id)
        log.info("speech job %s done: %s", job_id, asset.sha256)
    except Exception as err:
        message = err.message if isinstance(err, LoaError) else GENERIC_FAILURE
        if not isinstance(err, LoaError):
            log.exception("speech job %s failed", job_id)
        elif not isinstance(err, InvalidInput | NotFound):
            log.warning("speech job %s failed: %s", job_id, err.message)
        with factory() as session, session.begin():
            job = get_job(session, job_id)
            job.status, job.finished_at, job.error_message = JobStatus.FAILED, utcnow(), message[:500]
            mark_changed(session, JOB_FINISHED, job.id)


def requeue_interrupted(session: Session) -> list[str]:
    """Jobs left queued or running by a stopped process: queue them again; returns their ids."""
    ids = list(
        session.scalars(
            select(SpeechJob.id)
            .where(SpeechJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .order_by(SpeechJob.created_at)
        )
    )
    if ids:
        session.execute(
            update(SpeechJob)
            .where(SpeechJob.id.in_(ids), SpeechJob.status == JobStatus.RUNNING)
            .values(status=JobStatus.QUEUED, progress=0, started_at=None)
        )
        log.info("re-queued %d interrupted speech job(s)", len(ids))
    return ids


_STOP = ""


class ThreadJobRunner:
    """Worker threads in this process. ``wait_idle`` lets tests and the CLI wait for an empty queue."""

    def __init__(self, factory: sessionmaker[Session], context: SpeechContext, workers: int = 1) -> None:
        self._factory = factory
        self._context = context
        self._queue: queue.Queue[str] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"speech-job-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def recover(self) -> None:
        with self._factory() as session, session.begin():
            ids = requeue_interrupted(session)
        for job_id in ids:
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(job_id)

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id == _STOP:
                return
            try:
                run_job(self._factory, self._context, job_id)
            except Exception:  # the database itself failed; the job stays queued for a restart
                log.exception("speech worker could not process job %s", job_id)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=30)

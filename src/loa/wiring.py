"""How the domains are connected at run time, and the only place where that is decided: every
subscription to a change (``loa.db.changes``) is made here, on the session factory of the process
an entry point starts (``create_app``, the ``loa`` command, ``loa demo``).

| change (announced by)          | delivered     | handled by                                              |
|--------------------------------|---------------|---------------------------------------------------------|
| ``bulletin`` (content)         | before commit | schedule: recompile the manifests that carry it         |
| ``devices`` (fleet)            | before commit | schedule: recompile the manifests of the devices        |
| ``speech_job`` (speech)        | before commit | content: attach a finished reading (isolated)           |
| ``outbox`` (fleet, schedule)   | after commit  | the process's doorbell: wakes its gateway               |
| ``device_offline`` (fleet)     | after commit  | push (if still offline after a grace): "… mất kết nối"  |
| ``exchange_inbox_waiting``     | after commit  | push: "Tin từ … chờ xác nhận" to who may broadcast there |
|   (exchange)                   |               |                                                         |

Pushes are sent by the process's ``Pusher`` thread, never inside the commit; without a VAPID key
(``LOA_VAPID_PRIVATE_KEY``) nothing is subscribed for them.

and, beside a gateway, a periodic full recompilation so that each device's 48-hour cover slides
forward even when nothing changed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.db.changes import after_commit, on_commit
from loa.exchange.models import WAITING_FOR_COMMUNE
from loa.fleet.ingest import WENT_OFFLINE
from loa.fleet.outbox import OUTBOX
from loa.process import Doorbell, Periodic, Process
from loa.schedule import hooks
from loa.settings import Settings
from loa.speech.models import JOB_FINISHED

if TYPE_CHECKING:
    from loa.push.sender import Pusher

log = logging.getLogger(__name__)


def wire(engine: Engine, settings: Settings) -> Process:
    """The session factory of one process with every handler subscribed, its doorbell, and the
    periodic work a gateway in this process runs."""
    sessions = make_session_factory(engine)
    doorbell = Doorbell()

    def bulletins_changed(session: Session, bulletin_ids: set[Any]) -> None:
        for bulletin_id in sorted(bulletin_ids):
            hooks.bulletin_changed(session, bulletin_id=bulletin_id, data_dir=settings.data_dir)

    def devices_changed(session: Session, _keys: set[Any]) -> None:
        hooks.devices_changed(session, data_dir=settings.data_dir)

    def speech_jobs_finished(session: Session, job_ids: set[Any]) -> None:
        # Imported here: the audio stack (PyAV, NumPy) costs seconds, and a ``loa`` command that
        # opens a session without finishing a reading should not pay for it.
        from loa.content import audio as content_audio
        from loa.speech import jobs as speech_jobs

        for job_id in sorted(job_ids):
            content_audio.attach_finished_job(session, speech_jobs.get_job(session, job_id))

    def recompile() -> None:
        with sessions() as session, session.begin():
            hooks.periodic_compile(session, data_dir=settings.data_dir)

    on_commit(sessions, "bulletin", bulletins_changed)
    on_commit(sessions, "devices", devices_changed)
    # A reading that cannot be attached must not fail the job that made it (it is logged).
    on_commit(sessions, JOB_FINISHED, speech_jobs_finished, isolated=True)
    after_commit(sessions, OUTBOX, lambda _keys: doorbell.ring())
    _wire_push(sessions, settings)

    def maintain_history() -> None:
        from loa.fleet.history import maintain_history as maintain

        with sessions() as session, session.begin():
            maintain(session, now=utcnow(), retention_months=settings.status_log_retention_months)
        # Closed months' receipt summaries (loa.reports.summary), one transaction per month; a few
        # months a run, so a first backfill of years does not hold one job for long.
        from loa.reports.summary import summarise_closed_months

        summarise_closed_months(sessions, now=utcnow(), limit=3)

    periodic = (
        Periodic("periodic manifest recompilation", settings.manifest_recompile_interval_s, recompile),
        # Partitions of the months ahead (PostgreSQL) and the status log's retention.
        Periodic("history maintenance", settings.history_maintenance_interval_s, maintain_history),
    )
    return Process(sessions=sessions, doorbell=doorbell, periodic=periodic)


def _wire_push(sessions: sessionmaker[Session], settings: Settings) -> Pusher | None:
    """Web Push after the commits that announce an offline loudspeaker or a waiting bulletin."""
    if settings.vapid_private_key is None:
        return None
    # Imported here: pywebpush (requests, aiohttp) is not worth loading in a process that never pushes.
    from loa.push import triggers
    from loa.push.api import vapid_config
    from loa.push.sender import Pusher

    vapid = vapid_config(settings)
    if vapid is None:
        return None
    pusher = Pusher()

    def offline(ids: set[Any]) -> None:
        # After a grace period, and only for those still offline since this announcement.
        announced_at = utcnow()
        pusher.submit_later(
            settings.push_offline_grace_s,
            lambda: log_sent(
                triggers.devices_offline(sessions, sorted(ids), vapid=vapid, announced_at=announced_at)
            ),
        )

    def waiting(ids: set[Any]) -> None:
        pusher.submit(lambda: log_sent(triggers.bulletins_waiting(sessions, sorted(ids), vapid=vapid)))

    after_commit(sessions, WENT_OFFLINE, offline)
    after_commit(sessions, WAITING_FOR_COMMUNE, waiting)
    return pusher


def log_sent(count: int) -> None:
    if count:
        log.info("sent %d push notice(s)", count)

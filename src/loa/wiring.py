"""How the domains are connected at run time, and the only place where that is decided: every
subscription to a change (``loa.db.changes``) is made here, on the session factory of the process
an entry point starts (``create_app``, the ``loa`` command, ``loa demo``).

| change (announced by)          | delivered     | handled by                                              |
|--------------------------------|---------------|---------------------------------------------------------|
| ``bulletin`` (content)         | before commit | schedule: recompile the manifests that carry it         |
| ``devices`` (fleet)            | before commit | schedule: recompile the manifests of the devices        |
| ``alert`` (alerts)             | after commit  | schedule: recompile, in the process's alert thread      |
| ``stream_sessions`` (live)     | before commit | schedule: recompile, ``sync`` the devices that changed  |
| ``speech_job`` (speech)        | before commit | content: attach a finished reading (isolated)           |
| ``outbox`` (fleet, schedule)   | after commit  | the process's doorbell: wakes its gateway               |
| ``device_offline`` (fleet)     | after commit  | push (if still offline after a grace): "… mất kết nối"  |
| ``exchange_inbox_waiting``     | after commit  | push: "Tin từ … chờ xác nhận" to who may broadcast there |
|   (exchange)                   |               |                                                         |
| ``alert_awaiting_second_person`` | after commit | push: "Cảnh báo … chờ bạn xác nhận" to the leaders     |
|   (alerts)                     |               |   who may confirm it                                    |

Pushes are sent by the process's ``Pusher`` thread, never inside the commit; without a VAPID key
(``LOA_VAPID_PRIVATE_KEY``) nothing is subscribed for them.

Beside a gateway, periodic work: a full recompilation so that each device's 48-hour cover slides
forward even when nothing changed; a frequent check that ends alerts whose expiry has passed; the
history maintenance (partitions ahead, the status log's retention, closed months' summaries); every
``alarm_interval_s`` the fleet health alarms (raised/cleared, then e-mail, webhook and push) and the
agent rollouts (next wave when the last one is healthy, halt on failures); and the relay puller
(``loa.live.puller``: relays start and stop at their slots); and (``LOA_CAP_FEED_URL`` set) the
polling of a CAP feed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts import service as alerts
from loa.alerts.confirm import AWAITING_SECOND_PERSON
from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.db.changes import after_commit, on_commit
from loa.errors import Conflict
from loa.exchange.models import WAITING_FOR_COMMUNE
from loa.fleet import alarm_notices, health, releases
from loa.fleet.health import AlarmChange
from loa.fleet.ingest import WENT_OFFLINE
from loa.fleet.outbox import OUTBOX
from loa.live.puller import RELAY_TICK_S, RelayPuller
from loa.live.relay_url import allowed_hosts
from loa.live.runtime import commune_of_mount, source_password
from loa.live.service import STREAMS_CHANGED
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

    def streams_changed(session: Session, _keys: set[Any]) -> None:
        hooks.streams_changed(session, data_dir=settings.data_dir)

    def speech_jobs_finished(session: Session, job_ids: set[Any]) -> None:
        # Imported here: the audio stack (PyAV, NumPy) costs seconds, and a ``loa`` command that
        # opens a session without finishing a reading should not pay for it.
        from loa.content import audio as content_audio
        from loa.speech import jobs as speech_jobs

        for job_id in sorted(job_ids):
            content_audio.attach_finished_job(session, speech_jobs.get_job(session, job_id))

    def alerts_changed(alert_ids: set[Any]) -> None:
        # After the commit, on the alert thread: the command is on its way before the manifests of
        # thousands of loudspeakers are signed (they follow within seconds).
        alert_worker.submit(lambda: _recompile_for_alerts(sessions, settings, {int(i) for i in alert_ids}))

    def expire_alerts() -> None:
        with sessions() as session, session.begin():
            ended = alerts.expire_alerts(session)
        for alert in ended:
            log.info("alert %s expired: stopped", alert.id)

    def recompile() -> None:
        with sessions() as session, session.begin():
            hooks.periodic_compile(session, data_dir=settings.data_dir)

    on_commit(sessions, "bulletin", bulletins_changed)
    on_commit(sessions, "devices", devices_changed)
    alert_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loa-alert-manifests")
    after_commit(sessions, alerts.ALERT_CHANGED, alerts_changed)
    on_commit(sessions, STREAMS_CHANGED, streams_changed)
    # A reading that cannot be attached must not fail the job that made it (it is logged).
    on_commit(sessions, JOB_FINISHED, speech_jobs_finished, isolated=True)
    after_commit(sessions, OUTBOX, lambda _keys: doorbell.ring())
    pusher = _wire_push(sessions, settings)
    check_health = health_work(sessions, settings, pusher)

    def alarms_work() -> None:
        check_health()

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
        Periodic("emergency alert expiry", settings.alert_expiry_check_s, expire_alerts),
        # Partitions of the months ahead (PostgreSQL) and the status log's retention.
        Periodic("history maintenance", settings.history_maintenance_interval_s, maintain_history),
        Periodic("fleet health alarms", settings.alarm_interval_s, alarms_work),
        Periodic("agent rollouts", settings.alarm_interval_s, rollout_work(sessions, settings)),
        Periodic("relays (tiếp sóng)", RELAY_TICK_S, _relay_puller(sessions, settings).tick),
        *_cap_feed(sessions, settings),
    )
    return Process(sessions=sessions, doorbell=doorbell, periodic=periodic)


COMPILE_ATTEMPTS = 5


def _recompile_for_alerts(sessions: sessionmaker[Session], settings: Settings, alert_ids: set[int]) -> None:
    """Recompile the manifests after alerts started or stopped; a compilation running at the same
    moment elsewhere (409) is waited for and this one made again."""
    for attempt in range(1, COMPILE_ATTEMPTS + 1):
        try:
            with sessions() as session, session.begin():
                hooks.alerts_changed(session, alert_ids=alert_ids, data_dir=settings.data_dir)
            return
        except Conflict:
            time.sleep(0.2 * attempt)
        except Exception:
            log.exception("manifests after alerts %s not recompiled", sorted(alert_ids))
            return
    log.error("manifests after alerts %s not recompiled: concurrent compilations", sorted(alert_ids))


def health_work(
    sessions: sessionmaker[Session], settings: Settings, pusher: Pusher | None
) -> Callable[[], list[AlarmChange]]:
    """Evaluate the health alarms (and prune old samples) in one transaction, then tell people."""

    def work() -> list[AlarmChange]:
        now = utcnow()
        with sessions() as session, session.begin():
            changes = health.evaluate(
                session, now=now, rules=health.AlarmRules(timedelta(seconds=settings.alarm_offline_after_s))
            )
            health.prune(session, now=now, keep_days=settings.health_keep_days)
        if changes:
            alarm_notices.notify(
                changes,
                smtp_host=settings.alarm_smtp_host,
                smtp_port=settings.alarm_smtp_port,
                sender=settings.alarm_email_from,
                to=[a.strip() for a in settings.alarm_email_to.split(",") if a.strip()],
                webhook_url=settings.alarm_webhook_url,
            )
            if pusher is not None:
                from loa.push import triggers
                from loa.push.api import vapid_config

                vapid = vapid_config(settings)
                if vapid is not None:
                    pusher.submit(lambda: log_sent(triggers.device_alarms(sessions, changes, vapid=vapid)))
        return changes

    return work


def rollout_work(sessions: sessionmaker[Session], settings: Settings) -> Callable[[], None]:
    """Move every running agent rollout on (next wave, halt, done)."""

    def work() -> None:
        with sessions() as session, session.begin():
            releases.advance_all(session, now=utcnow())

    return work


def _relay_puller(sessions: sessionmaker[Session], settings: Settings) -> RelayPuller:
    """Relays pulled beside the gateway, fed to Icecast or to this server's built-in relay."""
    from loa.fleet.keys import load_or_create_signing_key

    def password(mount: str) -> str:
        secret = load_or_create_signing_key(settings.data_dir).private_bytes_raw()
        return source_password(secret, commune_of_mount(mount))

    ingest = settings.stream_ingest_url or (
        settings.icecast_url if settings.stream_server == "icecast" else "http://127.0.0.1:8000/live/stream"
    )
    return RelayPuller(
        sessions=sessions,
        ingest_url=ingest,
        source_password=password,
        allowed_hosts=allowed_hosts(settings.relay_allowed_hosts),
    )


def _cap_feed(sessions: sessionmaker[Session], settings: Settings) -> tuple[Periodic, ...]:
    """Polling the province's CAP feed (``LOA_CAP_FEED_URL``), when there is one."""
    url = settings.cap_feed_url
    if not url:
        return ()

    def poll() -> None:
        # Imported here: the XML and audio stacks are only worth loading in a process that polls.
        import httpx

        from loa.alerts.cap.feed import http_fetcher, poll_once
        from loa.alerts.cap.service import CapPolicy
        from loa.alerts.service import aired_audio
        from loa.speech.runtime import SpeechRuntime

        runtime = SpeechRuntime.build(settings, sessions, recover=False)
        policy = CapPolicy.from_settings(settings)
        try:
            with httpx.Client(timeout=30.0, follow_redirects=True) as client:
                poll_once(
                    sessions,
                    url=url,
                    username=settings.cap_feed_username,
                    policy=policy,
                    speech=runtime.context,
                    aired=aired_audio(settings),
                    fetch=http_fetcher(client, policy.max_bytes),
                )
        finally:
            runtime.close()

    return (Periodic("CAP feed polling", settings.cap_feed_interval_s, poll),)


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

    def awaiting(ids: set[Any]) -> None:
        pusher.submit(lambda: log_sent(triggers.alerts_awaiting(sessions, sorted(ids), vapid=vapid)))

    after_commit(sessions, WAITING_FOR_COMMUNE, waiting)
    after_commit(sessions, AWAITING_SECOND_PERSON, awaiting)
    return pusher


def log_sent(count: int) -> None:
    if count:
        log.info("sent %d push notice(s)", count)

"""Sending one push through the standard Web Push protocol: the payload encrypted for the browser
(RFC 8291, ``aes128gcm``) and the request signed with the server's VAPID key (RFC 8292), both done
by ``pywebpush``. The push service is outside the machine: this module is the one seam to it.

``Pusher`` runs the sending in one worker thread, so that a commit that announces an offline
loudspeaker hands the work over and returns at once (``loa.wiring``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import requests
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from loa.push.keys import from_private
from loa.push.notices import Notice

log = logging.getLogger(__name__)

TTL_S = 24 * 3600  # a phone switched off for a day still gets the notice when it comes back
GONE_STATUSES = frozenset({404, 410})  # the browser unsubscribed: forget the subscription


@dataclass(frozen=True)
class VapidConfig:
    private_key: str  # base64url of the 32-byte scalar (``LOA_VAPID_PRIVATE_KEY``)
    subject: str  # mailto: or https: address of whoever runs the server
    timeout_s: float = 10.0

    @property
    def public_key(self) -> str:
        return from_private(self.private_key).public_key


@dataclass(frozen=True)
class Target:
    endpoint: str
    p256dh: str
    auth: str


class Delivery(StrEnum):
    SENT = "sent"
    GONE = "gone"
    FAILED = "failed"


def send(target: Target, notice: Notice, *, vapid: VapidConfig, urgency: str = "high") -> Delivery:
    subscription = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
    try:
        webpush(
            subscription,
            data=notice.payload(),
            vapid_private_key=Vapid02.from_raw(from_private(vapid.private_key).private_key.encode()),
            vapid_claims={"sub": vapid.subject},  # a fresh dict: webpush adds "aud" and "exp" to it
            ttl=TTL_S,
            timeout=vapid.timeout_s,
            headers={"Urgency": urgency},
        )
    except WebPushException as err:
        status = getattr(err.response, "status_code", None)
        if status in GONE_STATUSES:
            return Delivery.GONE
        log.warning("push to %s refused: %s", _origin(target.endpoint), status)
        return Delivery.FAILED
    except requests.RequestException as err:
        log.warning("push service %s unreachable: %s", _origin(target.endpoint), type(err).__name__)
        return Delivery.FAILED
    return Delivery.SENT


def _origin(endpoint: str) -> str:
    """For the log: the push service, never the browser's own path (it identifies the browser)."""
    return "/".join(endpoint.split("/")[:3])


class Pusher:
    """One worker thread running jobs one after the other (started on the first job)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loa-push", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def submit_later(self, delay_s: float, job: Callable[[], None]) -> None:
        """Run ``job`` after ``delay_s`` (a timer thread hands it to the worker)."""
        if delay_s <= 0:
            self.submit(job)
            return
        timer = threading.Timer(delay_s, self.submit, (job,))
        timer.daemon = True
        timer.start()

    def join(self) -> None:
        """Wait until every submitted job has run (tests; a command about to exit)."""
        self._jobs.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # one failed job must not stop the notices after it
                log.exception("push job failed")
            finally:
                self._jobs.task_done()

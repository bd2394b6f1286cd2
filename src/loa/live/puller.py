"""Relays (tiếp sóng) pulled by Loa: at a relay's start, Loa opens the outside station's stream (VOV1,
the province's station) and feeds the station's relay mount with it, as an encoder would, until the
slot ends. Devices only ever open Loa's mount with their token, never the outside URL.

``tick`` runs beside the gateway (``loa.wiring``: every ``RELAY_TICK_S``); each relay on air has its
own thread. The feed goes to ``ingest_url``: Icecast itself (its ``stream_auth`` asks Loa), or the
``PUT /live/stream/{mount}`` of Loa's built-in relay. An outside stream that cannot be opened at slot
time fails the relay with a clear Vietnamese status (audited, devices told); one that drops midway
ends it the same way: loudspeakers return to their programme.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

import httpx
from sqlalchemy.orm import Session, sessionmaker

from loa.db.base import utcnow
from loa.live.icecast import SOURCE_USER
from loa.live.models import StreamSession, StreamStatus
from loa.live.relay_url import RelayUrlRefused, check_peer, check_url, is_audio
from loa.live.service import due_relays, finish, mark_on_air

log = logging.getLogger(__name__)
RELAY_TICK_S = 2.0
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 15.0  # no byte from the outside station for this long: the relay has dropped
CHUNK_BYTES = 4096
MAX_REDIRECTS = 3
ON_AIR_CHECK_S = 1.0  # how often a relay on air is checked not to have been stopped meanwhile


def dead_message(url: str, why: str) -> str:
    return f"Không kết nối được luồng tiếp sóng {url} ({why}); loa tiếp tục chương trình thường lệ."


DROPPED = "Luồng tiếp sóng bị ngắt giữa chừng; loa trở lại chương trình thường lệ."


@dataclass
class RelayPuller:
    sessions: sessionmaker[Session]
    ingest_url: str  # e.g. http://127.0.0.1:8000/live/stream (built-in relay) or http://icecast:8010
    source_password: Callable[[str], str]  # mount → the station's source password
    allowed_hosts: frozenset[str] = frozenset()  # LOA_RELAY_ALLOWED_HOSTS (loa.live.relay_url)
    running: dict[int, threading.Thread] = field(default_factory=dict)
    stop_events: dict[int, threading.Event] = field(default_factory=dict)

    def tick(self, now: datetime | None = None) -> None:
        """Start the relays whose slot has come; stop those past their end."""
        now = now or utcnow()
        with self.sessions() as s:
            due = [(r.id, r.status, r.source_url or "", r.mount, r.end_at) for r in due_relays(s, now=now)]
        for session_id, status, url, mount, end_at in due:
            if status == StreamStatus.SCHEDULED.value and session_id not in self.running:
                self._start(session_id, url, mount, end_at)
            elif status == StreamStatus.ON_AIR.value:
                event = self.stop_events.get(session_id)
                if event is not None:
                    event.set()
                else:  # on air in no thread of ours (a restart): end it at its slot's end
                    self._end(session_id, reason="slot_end", status=StreamStatus.ENDED, message="")

    def _start(self, session_id: int, url: str, mount: str, end_at: datetime) -> None:
        try:
            upstream, answer = self._open(url)
        except (httpx.HTTPError, RelayUrlRefused) as err:
            why = err.why if isinstance(err, RelayUrlRefused) else _why(err)
            self._end(
                session_id, reason="relay_dead", status=StreamStatus.FAILED, message=dead_message(url, why)
            )
            return
        with self.sessions() as s, s.begin():
            row = s.get(StreamSession, session_id)
            if row is None or row.status != StreamStatus.SCHEDULED.value:
                answer.close()
                upstream.close()
                return
            mark_on_air(s, row)
        stop = self.stop_events[session_id] = threading.Event()
        content_type = answer.headers.get("content-type", "audio/mpeg").split(";")[0].strip()
        thread = threading.Thread(
            target=self._feed,
            args=(session_id, mount, answer, upstream, content_type, stop, end_at),
            name=f"relay-{session_id}",
            daemon=True,
        )
        self.running[session_id] = thread
        thread.start()

    def _open(self, url: str) -> tuple[httpx.Client, httpx.Response]:
        """The outside stream, answered 200 with audio. Its URL is checked (``loa.live.relay_url``)
        before connecting, on the address connected to, and at each redirect (at most
        ``MAX_REDIRECTS``, each checked the same way)."""
        upstream = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S), follow_redirects=False
        )
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                host = check_url(url, allowed=self.allowed_hosts)
                request = upstream.build_request("GET", url, headers={"Icy-MetaData": "0"})
                answer = upstream.send(request, stream=True)
                try:
                    check_peer(host, _peer(answer), allowed=self.allowed_hosts)
                    if answer.is_redirect and answer.headers.get("location"):
                        url = urljoin(url, answer.headers["location"])
                        answer.close()
                        continue
                    if answer.status_code != 200:
                        raise RelayUrlRefused(f"máy chủ trả lời mã {answer.status_code}")
                    content_type = answer.headers.get("content-type", "")
                    if not is_audio(content_type):
                        shown = content_type.split(";")[0].strip()[:60] or "không rõ loại"
                        raise RelayUrlRefused(f"máy chủ trả về nội dung không phải âm thanh ({shown})")
                except BaseException:
                    answer.close()
                    raise
                return upstream, answer
            raise RelayUrlRefused("máy chủ chuyển hướng quá nhiều lần")
        except BaseException:
            upstream.close()
            raise

    def _feed(
        self,
        session_id: int,
        mount: str,
        answer: httpx.Response,
        upstream: httpx.Client,
        content_type: str,
        stop: threading.Event,
        end_at: datetime,
    ) -> None:
        dropped = False
        off_air = False

        def chunks() -> Iterator[bytes]:
            nonlocal dropped, off_air
            next_check = time.monotonic() + ON_AIR_CHECK_S
            try:
                for chunk in answer.iter_bytes(CHUNK_BYTES):
                    if stop.is_set() or utcnow() >= end_at:
                        return
                    if time.monotonic() >= next_check:  # stopped by a person: let go at once
                        next_check = time.monotonic() + ON_AIR_CHECK_S
                        if not self._on_air(session_id):
                            off_air = True
                            return
                    yield chunk
                dropped = True  # the outside station ended the stream before the slot did
            except httpx.HTTPError:
                dropped = True

        try:
            with httpx.Client(timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)) as feed:
                sent = feed.put(
                    f"{self.ingest_url.rstrip('/')}/{mount}",
                    content=chunks(),
                    auth=(SOURCE_USER, self.source_password(mount)),
                    headers={"Content-Type": content_type},
                )
            if sent.status_code >= 400:
                log.warning("relay %s: the stream server answered %s", session_id, sent.status_code)
                dropped = True
        except httpx.HTTPError as err:
            log.warning("relay %s: feeding the stream server failed: %s", session_id, err)
            dropped = True
        finally:
            answer.close()
            upstream.close()
            self.running.pop(session_id, None)
            self.stop_events.pop(session_id, None)
        if off_air:
            return  # whoever took it off the air ended it
        if dropped and not stop.is_set():
            self._end(session_id, reason="relay_dropped", status=StreamStatus.FAILED, message=DROPPED)
        else:
            self._end(session_id, reason="slot_end", status=StreamStatus.ENDED, message="")

    def _on_air(self, session_id: int) -> bool:
        with self.sessions() as s:
            row = s.get(StreamSession, session_id)
            return row is not None and row.status == StreamStatus.ON_AIR.value

    def _end(self, session_id: int, *, reason: str, status: StreamStatus, message: str) -> None:
        with self.sessions() as s, s.begin():
            row = s.get(StreamSession, session_id)
            if row is not None:
                finish(s, row, actor=None, reason=reason, status=status, message=message)
        if message:
            log.warning("relay %s: %s", session_id, reason)

    def close(self) -> None:
        for event in list(self.stop_events.values()):
            event.set()
        for thread in list(self.running.values()):
            thread.join(10)


def _peer(answer: httpx.Response) -> str | None:
    """The address the answer came from (httpcore's network stream), if it tells."""
    stream = answer.extensions.get("network_stream")
    address = stream.get_extra_info("server_addr") if stream is not None else None
    return str(address[0]) if isinstance(address, tuple) and address else None


def _why(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.TimeoutException):
        return "quá thời gian chờ"
    if isinstance(err, httpx.ConnectError):
        return "không kết nối được máy chủ"
    return "lỗi kết nối"

"""The gateway's intake: what devices publish, parsed once at the edge, screened and written in
batches, and receipts acknowledged once their batch is committed (a mixin of ``Gateway``).

* malformed or oversized payloads are dropped and counted (``GatewayStats.dropped``), never fatal;
* a batch is written every ``flush_interval_s`` or ``flush_max`` messages, from a worker thread, in one
  transaction retried after a PostgreSQL deadlock (devices resend a command answer only if the broker
  never took it);
* receipts for items the device was not given are refused (``loa.fleet.provenance``), counted and
  logged once per device; so is a receipt id the device had recorded with another start
  (``loa.fleet.ingest``: one receipt id, one play); every receipt id is acknowledged once;
* a message read from JetStream (``accept_tracked``) is acknowledged to the stream only after its
  batch is committed, and handed back (``nak``) when the batch fails: a gateway that dies mid-batch
  leaves its messages to the other gateways, and receipts, unique by device and receipt id
  (``receipt_ledger``), are recorded once however often they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from loa.db.base import utcnow
from loa.fleet import counters
from loa.fleet.ingest import Event, IngestOutcome, write_events
from loa.fleet.provenance import ManifestItems, screen_receipts
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient, MqttLiteError
from loa.protocol.topics import CHANNELS, Channel, Topics

log = logging.getLogger("loa.fleet.gateway")


class _Settings(Protocol):
    """What the intake reads of ``GatewayConfig``."""

    @property
    def topics(self) -> Topics: ...
    @property
    def flush_interval_s(self) -> float: ...
    @property
    def flush_max(self) -> int: ...


class _Counters(Protocol):
    """What the intake counts in ``GatewayStats``."""

    received: int
    dropped: Counter[str]
    statuses: int
    receipts_new: int
    receipts_duplicate: int
    receipts_refused: int
    receipts_reused: int
    acks_sent: int
    batches: int
    # what the outbox side counts, written with the rest (loa.fleet.counters.stats_totals)
    states_published: int
    commands_sent: int
    group_messages_sent: int


class Tracked(Protocol):
    """A message to settle with its source once its batch is written (a JetStream message)."""

    async def ack(self) -> None: ...
    async def nak(self, delay: float | None = None) -> None: ...


class Intake:
    """Set up by ``Gateway.__init__``."""

    config: _Settings
    stats: _Counters
    _sessions: sessionmaker[Session]
    _pending: list[Event]
    _tracked: list[Tracked]
    _manifest_items: ManifestItems
    _refused_logged: set[str]
    _reused_logged: set[str]
    _counters: counters.CounterBatcher
    _wake: asyncio.Event
    _client: LiteClient | None
    on_outcome: Callable[[IngestOutcome], Awaitable[None] | None] | None
    on_message: Callable[[str, m.DeviceMessage], None] | None

    # --- ingest ------------------------------------------------------------------------------

    def accept(self, topic: str, payload: object) -> None:
        """Parse one inbound message at the edge; never raises."""
        self.stats.received += 1
        parsed_topic = self.config.topics.parse(topic)
        if parsed_topic is None or not CHANNELS[parsed_topic[1]].from_device:
            self.count_drop("bad_topic")
            return
        if not isinstance(payload, bytes | bytearray):
            self.count_drop("not_bytes")
            return
        uid, channel = parsed_topic
        try:
            message = m.parse_device_message(channel, payload)
        except m.ProtocolError as err:
            self.count_drop(err.code)
            log.debug("dropped %s from %s: %s", err.code, uid, err.detail)
            return
        self._pending.append((uid, utcnow(), message))
        if self.on_message is not None:
            self.on_message(uid, message)
        if len(self._pending) >= self.config.flush_max:
            self._wake.set()

    def accept_tracked(self, topic: str, payload: bytes, handle: Tracked) -> None:
        """``accept``, then settle ``handle`` when the batch holding it is written (or dropped)."""
        self._tracked.append(handle)
        self.accept(topic, payload)

    async def _writer_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.flush_interval_s)
            self._wake.clear()
            if self._pending or self._tracked:
                await self._flush()
            await self._write_counters()

    def count_drop(self, kind: str, n: int = 1) -> None:
        """Count ``n`` messages dropped for ``kind`` (a reason of ``loa.fleet.counters.DROPS``, e.g.
        ``"refused_receipt"``); the database gets them with the other counters, in batches."""
        if n:
            self.stats.dropped[kind] += n

    async def _write_counters(self, *, force: bool = False) -> None:
        if not force and not self._counters.due(time.monotonic()):
            return
        deltas = self._counters.deltas(counters.stats_totals(self.stats))
        if not deltas:
            return
        try:
            await asyncio.to_thread(self._store_counters, deltas)
        except Exception as err:  # kept in memory: the next write adds them
            log.warning("gateway counters not written (kept for the next write): %s", err)
            return
        self._counters.written(deltas)

    def _store_counters(self, deltas: dict[str, int]) -> None:
        with self._sessions() as session, session.begin():
            counters.add_counts(session, deltas, now=utcnow())

    async def _flush(self) -> None:
        events, self._pending = self._pending, []
        tracked, self._tracked = self._tracked, []
        try:
            outcome = await self._write_retrying(events)
        except Exception:
            # Receipts are not acknowledged, so devices send them again; statuses are transient.
            self.count_drop("write_failed", len(events))
            log.exception("gateway could not write a batch of %d messages", len(events))
            await _settle(tracked, written=False)
            return
        await _settle(tracked, written=True)
        self.stats.batches += 1
        self.stats.statuses += outcome.statuses
        self.stats.receipts_new += outcome.receipts_new
        self.stats.receipts_duplicate += outcome.receipts_duplicate
        self.count_drop("unknown_device", outcome.unknown_devices)
        self._count_refused(outcome)
        for uid in outcome.came_online:
            log.info("device %s is online", uid)
        for uid in outcome.went_offline:
            log.info("device %s went offline (will)", uid)
        await self._send_acks(outcome.acks)
        if self.on_outcome is not None:
            result = self.on_outcome(outcome)
            if result is not None:
                await result

    async def _write_retrying(self, events: list[Event], attempts: int = 3) -> IngestOutcome:
        """A transaction PostgreSQL aborted to break a deadlock (or a serialization conflict) is
        written again: command answers are not resent by devices, so they must not be dropped."""
        for attempt in range(1, attempts + 1):
            try:
                return await asyncio.to_thread(self._write, events)
            except OperationalError as err:
                code = getattr(err.orig, "sqlstate", None)
                if code not in ("40P01", "40001") or attempt == attempts:
                    raise
                log.warning("batch of %d messages retried after %s", len(events), code)
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _write(self, events: list[Event]) -> IngestOutcome:
        with self._sessions() as session, session.begin():
            screened = screen_receipts(session, events, self._manifest_items, now=utcnow())
            outcome = write_events(session, events=screened.events)
        outcome.refused = screened.refused
        for uid, ids in screened.refused.items():  # answered all the same: the device stops resending
            outcome.acks[uid] = list(dict.fromkeys([*outcome.acks.get(uid, []), *ids]))
        return outcome

    def _count_refused(self, outcome: IngestOutcome) -> None:
        """Receipts for items the device was not given, and receipt ids it sent again with another
        start: counted, and logged once per device (each kind)."""
        for uid, ids in outcome.refused.items():
            self.stats.receipts_refused += len(ids)
            self.count_drop("refused_receipt", len(ids))
            if uid not in self._refused_logged:
                self._refused_logged.add(uid)
                log.warning("device %s sent receipts for items it was not given: refused", uid)
        for uid, ids in outcome.reused.items():
            self.stats.receipts_reused += len(ids)
            self.count_drop("reused_receipt_id", len(ids))
            if uid not in self._reused_logged:
                self._reused_logged.add(uid)
                log.warning(
                    "device %s sent receipt ids it had recorded with another start (%s): refused",
                    uid,
                    ", ".join(ids[:5]),
                )

    async def _send_acks(self, acks: dict[str, list[str]]) -> None:
        client = self._client
        if client is None or not acks:
            return
        topics = self.config.topics

        async def one(uid: str, ids: list[str]) -> None:
            payload = m.ReceiptAck(receipt_ids=ids).to_bytes()
            await client.publish(topics.device(uid, Channel.ACK), payload, qos=1)
            self.stats.acks_sent += 1

        try:
            await bounded_gather([one(uid, ids) for uid, ids in acks.items()])
        except (MqttLiteError, OSError, TimeoutError) as err:
            log.warning("receipt acknowledgements not sent (devices will resend): %s", err)


async def _settle(tracked: list[Tracked], *, written: bool) -> None:
    """Acknowledge (or hand back) JetStream messages; a failure only means they come again."""
    for handle in tracked:
        try:
            await (handle.ack() if written else handle.nak(delay=1.0))
        except Exception as err:  # the stream delivers it again after its ack wait: idempotent
            log.debug("JetStream message not settled: %s", err)


async def bounded_gather(coros: Sequence[Coroutine[Any, Any, None]], limit: int = 200) -> None:
    """Publish with at most ``limit`` waiting for the broker's PUBACK (what the broker has not yet
    acknowledged stays bounded; a lost connection fails the rest of the round, sent again later)."""
    try:
        for start in range(0, len(coros), limit):
            await asyncio.gather(*coros[start : start + limit])
    finally:
        for coro in coros:
            coro.close()  # no-op for finished ones; silences the rest after a failure

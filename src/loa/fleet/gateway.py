"""The MQTT gateway: the one coordinator between the broker and the database.

* ingests what devices publish (parsed once at the edge; malformed or oversized payloads are dropped
  and counted, never fatal) and writes it in batches (every ``flush_interval_s`` or ``flush_max``
  messages) from a worker thread;
* acknowledges receipts after their batch is committed (at-least-once from the device, exactly-once
  in the database);
* tracks online/offline from births, wills *and* missed heartbeats (amqtt never fires the will of a
  half-open connection), logging a device going offline once and once when it returns;
* drains the outbox: publishes the retained ``state`` reference of new manifests (and every device's
  again when the broker session is new: ``loa.fleet.retained``) and sends commands.

Library errors are translated here: a lost broker means reconnect with backoff and jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from loa.db.base import utcnow
from loa.fleet import counters, outbox, retained, service
from loa.fleet.ingest import Event, IngestOutcome, sweep_offline
from loa.fleet.intake import Intake, Tracked
from loa.fleet.intake import bounded_gather as _bounded_gather
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, DeviceManifest
from loa.fleet.provenance import ManifestItems
from loa.process import Doorbell
from loa.protocol import group
from loa.protocol import messages as m
from loa.protocol.mqtt_lite import LiteClient, MqttLiteError
from loa.protocol.topics import CHANNELS, Channel, Topics
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

INGEST_CHANNELS = (Channel.STATUS, Channel.BIRTH, Channel.LWT, Channel.RECEIPTS, Channel.RESULT)


@dataclass(frozen=True)
class GatewayConfig:
    host: str
    port: int
    username: str
    password: str
    topics: Topics = field(default_factory=Topics)
    shared_subscriptions: bool = False  # Mosquitto: yes; amqtt 0.12 does not implement them
    # Other brokers of the same cluster, tried in turn when the current one is lost.
    fallback_brokers: tuple[tuple[str, int], ...] = ()
    # "mqtt": ingest through the MQTT subscription above; "jetstream": from a NATS cluster's JetStream
    # (``loa.fleet.jetstream``; the MQTT connection then only publishes).
    ingest: str = "mqtt"
    nats_urls: tuple[str, ...] = ()
    jetstream_replicas: int = 3
    client_id: str = "loa-gateway"
    keepalive_s: int = 30
    flush_interval_s: float = 0.2
    flush_max: int = 500
    outbox_interval_s: float = 0.5
    sweep_interval_s: float = 2.0
    max_backoff_s: float = 30.0
    # The server's Ed25519 key signs group commands (one message per commune/fleet). Without it a
    # batch is sent as one message per device, as before.
    signing_key: Ed25519PrivateKey | None = None
    # How often the running counters (drops, traffic) are added to the database (loa.fleet.counters).
    counters_interval_s: float = 5.0


@dataclass
class GatewayStats:
    received: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    statuses: int = 0
    receipts_new: int = 0
    receipts_duplicate: int = 0
    receipts_refused: int = 0  # for items the device was not given (also in ``dropped``)
    receipts_reused: int = 0  # receipt ids recorded before with another start (also in ``dropped``)
    acks_sent: int = 0
    states_published: int = 0
    states_republished: int = 0  # after a broker that had lost the retained ones (``loa.fleet.retained``)
    commands_sent: int = 0
    group_messages_sent: int = 0
    batches: int = 0
    connects: int = 0

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


class Gateway(Intake):
    config: GatewayConfig
    stats: GatewayStats

    def __init__(
        self, config: GatewayConfig, session_factory: sessionmaker[Session], doorbell: Doorbell | None = None
    ) -> None:
        """``doorbell``: rung when this process commits outbox work (``loa.wiring``); without one the
        gateway learns of it by polling (and, on PostgreSQL, by ``NOTIFY``)."""
        self.config = config
        self.stats = GatewayStats()
        self._counters = counters.CounterBatcher(config.counters_interval_s)
        self._sessions = session_factory
        self._doorbell = doorbell
        self._pending: list[Event] = []
        self._tracked: list[Tracked] = []  # JetStream messages of the batch being gathered
        self._manifest_items = ManifestItems()  # for screening receipts (``loa.fleet.provenance``)
        self._refused_logged: set[str] = set()  # devices whose refused receipts were logged
        self._reused_logged: set[str] = set()  # devices whose reused receipt ids were logged
        self._wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._client: LiteClient | None = None
        self._connected = asyncio.Event()
        self._republish_states = False  # the broker lost its retained messages: publish them again
        self.ready = asyncio.Event()  # set once subscribed (tests and the CLI wait for it)
        self.on_outcome: Callable[[IngestOutcome], Awaitable[None] | None] | None = None
        # Called with (device id, message) for every message parsed at the edge (benchmarks).
        self.on_message: Callable[[str, m.DeviceMessage], None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        tasks = [
            asyncio.create_task(self._connection_loop(), name="gateway-mqtt"),
            *self._ingest_tasks(),
            asyncio.create_task(self._writer_loop(), name="gateway-writer"),
            asyncio.create_task(self._outbox_loop(), name="gateway-outbox"),
            asyncio.create_task(self._sweep_loop(), name="gateway-sweep"),
        ]
        loop = asyncio.get_running_loop()

        def wake_threadsafe() -> None:
            loop.call_soon_threadsafe(self._outbox_wake.set)

        if self._doorbell is not None:
            self._doorbell.hold(wake_threadsafe)
        bind = self._sessions.kw.get("bind")
        if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
            url = bind.url.render_as_string(hide_password=False)
            tasks.append(
                asyncio.create_task(outbox.listen(url, self._outbox_wake.set), name="gateway-listen")
            )
        try:
            await asyncio.gather(*tasks)
        finally:
            if self._doorbell is not None:
                self._doorbell.release(wake_threadsafe)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._pending:
                with contextlib.suppress(Exception):
                    await self._flush()
            with contextlib.suppress(Exception):
                await self._write_counters(force=True)

    def _ingest_tasks(self) -> list[asyncio.Task[None]]:
        if self.config.ingest != "jetstream":
            return []
        from loa.fleet.jetstream import JetStreamIngest

        ingest = JetStreamIngest(
            urls=list(self.config.nats_urls),
            username=self.config.username,
            password=self.config.password,
            topics=self.config.topics,
            replicas=self.config.jetstream_replicas,
        )
        return [asyncio.create_task(ingest.run(self), name="gateway-jetstream")]

    async def _connection_loop(self) -> None:
        backoff = 0.5
        cfg = self.config
        brokers = [(cfg.host, cfg.port), *cfg.fallback_brokers]
        current = 0
        while True:
            host, port = brokers[current]
            client = LiteClient(cfg.client_id, on_message=self.accept)
            try:
                await client.connect(
                    host,
                    port,
                    username=cfg.username,
                    password=cfg.password,
                    keepalive_s=cfg.keepalive_s,
                    clean_session=False,  # answers that arrive while the gateway restarts wait for it
                    timeout_s=10,
                )
                filters = [
                    (
                        cfg.topics.shared(channel)
                        if cfg.shared_subscriptions
                        else cfg.topics.all_devices(channel),
                        CHANNELS[channel].qos,
                    )
                    for channel in INGEST_CHANNELS
                    if cfg.ingest == "mqtt"
                ]
                if filters:
                    granted = await client.subscribe(filters)
                    refused = [t for (t, _), code in zip(filters, granted, strict=False) if code >= 0x80]
                    if refused or len(granted) != len(filters):
                        raise MqttLiteError(f"the broker refused the subscriptions {refused}")
                self._client = client
                if not client.session_present:  # a new broker session: its retained states may be gone
                    self._republish_states = True
                    self._outbox_wake.set()
                self._connected.set()
                self.stats.connects += 1
                self.ready.set()
                log.info("gateway connected to MQTT %s:%d", host, port)
                backoff = 0.5
                pinger = asyncio.create_task(client.keep_alive(cfg.keepalive_s))
                try:
                    await client.closed.wait()
                finally:
                    pinger.cancel()
                raise MqttLiteError("connection closed")
            except (MqttLiteError, OSError, TimeoutError) as err:
                if self._connected.is_set():
                    log.warning("gateway lost the MQTT broker: %s", err)
                client.abort()
                self._client = None
                self._connected.clear()
                current = (current + 1) % len(brokers)  # the next node of a cluster, if any
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, cfg.max_backoff_s)
            except BaseException:
                client.abort()
                raise

    # --- outbox: manifests and commands ------------------------------------------------------

    async def _outbox_loop(self) -> None:
        """Drain when woken (``loa.fleet.outbox``: a commit in this process, or PostgreSQL's NOTIFY),
        and every ``outbox_interval_s`` in any case."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_wake.wait(), self.config.outbox_interval_s)
            self._outbox_wake.clear()
            await self._connected.wait()
            try:
                await self.drain_outbox()
            except (MqttLiteError, OSError, TimeoutError) as err:
                log.warning("outbox not drained: %s", err)
            except Exception:
                log.exception("outbox failed")

    async def drain_outbox(self) -> None:
        """Publish what the outbox holds; with several gateways, one drains at a time (the others skip
        the round): each command is published once (``outbox.claim_drain``)."""
        client = self._client
        if client is None:
            return
        bind = self._sessions.kw.get("bind")
        claim = await asyncio.to_thread(outbox.claim_drain, bind) if isinstance(bind, Engine) else None
        if claim is not None and not claim.held:
            return
        try:
            await self._drain(client)
        finally:
            if claim is not None:
                await asyncio.to_thread(claim.release)

    async def _drain(self, client: LiteClient) -> None:
        if self._republish_states:
            await self._republish(client)
        started = time.perf_counter()
        states, commands, batches = await asyncio.to_thread(self._collect_outbox)
        collected = time.perf_counter()
        topics = self.config.topics
        published_states: list[int] = []
        sent_commands: list[str] = []
        sent_batches: list[str] = []
        # Group messages first: one publish reaches every targeted device.
        try:
            for batch in batches:
                for topic, payload in self._batch_messages(batch):
                    await client.publish(topic, payload, qos=1)
                    self.stats.group_messages_sent += 1
                sent_batches.append(batch.id)
            if batches:
                log.debug(
                    "outbox: %d group messages published %.3f s after waking (collecting took %.3f s)",
                    len(batches),
                    time.perf_counter() - started,
                    collected - started,
                )
        finally:
            if sent_batches:
                await asyncio.to_thread(self._mark_batches_sent, sent_batches)

        async def publish_state(row_id: int, uid: str, ref: m.StateRef) -> None:
            await client.publish(topics.device(uid, Channel.STATE), ref.to_bytes(), qos=1, retain=True)
            published_states.append(row_id)

        async def send_command(command_id: str, uid: str, payload: str) -> None:
            await client.publish(topics.device(uid, Channel.CMD), payload.encode(), qos=1)
            sent_commands.append(command_id)

        try:
            await _bounded_gather([publish_state(*s) for s in states] + [send_command(*c) for c in commands])
        finally:
            if published_states or sent_commands:
                await asyncio.to_thread(self._mark_sent, published_states, sent_commands)
                self.stats.states_published += len(published_states)
                self.stats.commands_sent += len(sent_commands)

    async def _republish(self, client: LiteClient) -> None:
        """Every device's current ``state`` again, before anything newer from the outbox (one
        connection keeps the order, so a newer reference is never overwritten by this one)."""
        states = await asyncio.to_thread(self._published_states)
        topics = self.config.topics

        async def publish(uid: str, ref: m.StateRef) -> None:
            await client.publish(topics.device(uid, Channel.STATE), ref.to_bytes(), qos=1, retain=True)

        await _bounded_gather([publish(uid, ref) for uid, ref in states])
        self._republish_states = False
        self.stats.states_republished += len(states)
        log.info("retained state of %d devices published again (new broker session)", len(states))

    def _published_states(self) -> list[tuple[str, m.StateRef]]:
        with self._sessions() as session:
            return retained.published_states(session, now=utcnow())

    def _batch_messages(self, batch: _Batch) -> list[tuple[str, bytes]]:
        topics = self.config.topics
        key = self.config.signing_key
        if key is None:
            return [(topics.device(uid, Channel.CMD), batch.payload.encode()) for uid in batch.member_uids]
        payload = group.seal(batch.payload.encode(), batch.targets, key)
        return [(topics.group_cmd(batch.group_code), payload)]

    def _mark_batches_sent(self, batch_ids: list[str]) -> None:
        """Published: the batches are sent, and each addressed device gets its own result row."""
        now = utcnow()
        with self._sessions() as session, session.begin():
            # Batches by id, each in device order: the order in which ingest upserts early answers.
            published = select(DeviceCommandBatch).where(DeviceCommandBatch.id.in_(batch_ids))
            for batch in session.scalars(published.order_by(DeviceCommandBatch.id)):
                batch.sent_at = now
                service.materialise_batch(session, batch=batch, sent_at=now)
        self.stats.commands_sent += len(batch_ids)

    def _collect_outbox(
        self,
    ) -> tuple[list[tuple[int, str, m.StateRef]], list[tuple[str, str, str]], list[_Batch]]:
        now = utcnow()
        with self._sessions() as session:
            manifest_rows = session.execute(
                select(
                    DeviceManifest.id,
                    DeviceManifest.version,
                    DeviceManifest.sha256,
                    Device.uid,
                    AdminUnit.code,
                )
                .join(Device, Device.id == DeviceManifest.device_id)
                .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
                .where(DeviceManifest.published_at.is_(None))
                .order_by(DeviceManifest.id)
                .limit(5000)
            ).all()
            latest: dict[str, tuple[int, m.StateRef]] = {}
            stale: list[int] = []
            for row in manifest_rows:
                ref = retained.state_ref(
                    uid=row.uid, version=row.version, sha256=row.sha256, commune_code=row.code, now=now
                )
                if row.uid in latest:
                    stale.append(latest[row.uid][0])
                latest[row.uid] = (row.id, ref)
            command_rows = session.execute(
                select(DeviceCommand.id, DeviceCommand.payload, Device.uid)
                .join(Device, Device.id == DeviceCommand.device_id)
                .where(
                    DeviceCommand.sent_at.is_(None),
                    DeviceCommand.expires_at > now,
                    DeviceCommand.batch_id.is_(None),
                )
                .order_by(DeviceCommand.issued_at)
                .limit(20000)
            ).all()
            batch_rows = session.scalars(
                select(DeviceCommandBatch)
                .where(DeviceCommandBatch.sent_at.is_(None), DeviceCommandBatch.expires_at > now)
                .order_by(DeviceCommandBatch.issued_at)
                .limit(1000)
            ).all()
            batches = []
            for b in batch_rows:
                uids: list[str] = []
                if self.config.signing_key is None:
                    uids = [uid for _, uid in session.execute(service.batch_members(session, batch=b))]
                targets = json.loads(b.targets) if b.targets is not None else None
                batches.append(_Batch(b.id, b.group_code, b.payload, targets, uids))
        if stale:
            self._mark_sent(stale, [])
        states = [(row_id, uid, ref) for uid, (row_id, ref) in latest.items()]
        commands = [(r.id, r.uid, r.payload) for r in command_rows]
        return states, commands, batches

    def _mark_sent(self, manifest_ids: list[int], command_ids: list[str]) -> None:
        now = utcnow()
        with self._sessions() as session, session.begin():
            if manifest_ids:
                session.execute(
                    update(DeviceManifest).where(DeviceManifest.id.in_(manifest_ids)).values(published_at=now)
                )
            if command_ids:
                session.execute(
                    update(DeviceCommand).where(DeviceCommand.id.in_(command_ids)).values(sent_at=now)
                )

    # --- offline sweep -----------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval_s)
            try:
                gone = await asyncio.to_thread(self._sweep, utcnow())
            except Exception:
                log.exception("offline sweep failed")
                continue
            for uid in gone:
                log.info("device %s went offline (no heartbeat)", uid)

    def _sweep(self, now: datetime) -> list[str]:
        with self._sessions() as session, session.begin():
            return sweep_offline(session, now=now)


@dataclass(frozen=True)
class _Batch:
    id: str
    group_code: str
    payload: str
    targets: list[str] | None
    member_uids: list[str]  # only loaded when the gateway has no signing key (per-device fallback)

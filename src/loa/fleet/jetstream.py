"""Horizontal gateways on a NATS cluster: what devices publish, read from NATS itself.

NATS 2.9's MQTT has no shared subscriptions, so the gateways share the ingest the engine's own way:

* receipts, command results, births and wills (MQTT QoS 1) are kept by a work-queue stream
  ``LOA_INGEST_<prefix>`` replicated on three nodes; every gateway pulls from its one durable
  consumer (competing consumers: each message goes to one gateway) and acknowledges a message
  only after its batch is committed (``Intake.accept_tracked``). A gateway killed mid-batch leaves
  its messages unacknowledged; the stream hands them to another gateway after ``ACK_WAIT_S``;
* heartbeats (MQTT QoS 0, transient by design) reach one gateway of the queue group ``ingest``.

The MQTT topic ``loa/d/<id>/receipts`` is the subject ``loa.d.<id>.receipts``; neither a device id nor a
prefix may contain a dot, so the mapping is one to one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from loa.protocol.topics import Channel, Topics

log = logging.getLogger("loa.fleet.gateway")

DURABLE = "ingest"
QUEUE_GROUP = "ingest"
ACK_WAIT_S = 10.0
FETCH_BATCH = 500
STORED_CHANNELS = (Channel.RECEIPTS, Channel.RESULT, Channel.BIRTH, Channel.LWT)


class _Sink(Protocol):
    def accept(self, topic: str, payload: object) -> None: ...
    def accept_tracked(self, topic: str, payload: bytes, handle: Any) -> None: ...


def subject(topics: Topics, channel: Channel) -> str:
    """Every device's ``channel`` as a NATS subject filter."""
    return f"{topics.prefix.replace('/', '.')}.d.*.{channel.value}"


def stream_name(topics: Topics) -> str:
    return "LOA_INGEST_" + topics.prefix.replace("/", "_")


def topic_of(subject_name: str) -> str:
    return subject_name.replace(".", "/")


class JetStreamIngest:
    def __init__(
        self, *, urls: list[str], username: str, password: str, topics: Topics, replicas: int = 3
    ) -> None:
        if not urls:
            raise ValueError("JetStream ingest needs the NATS servers (LOA_NATS_URLS)")
        self.urls = urls
        self.username = username
        self.password = password
        self.topics = topics
        self.replicas = replicas

    async def connect(self) -> Any:
        import nats

        async def on_error(err: Exception) -> None:  # nats-py logs a traceback for each otherwise
            log.debug("NATS connection: %s", err)

        return await nats.connect(
            servers=self.urls,
            error_cb=on_error,
            user=self.username,
            password=self.password,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            allow_reconnect=True,
        )

    async def ensure_stream(self, js: Any) -> None:
        """Create the stream and its consumer if missing (every gateway may; the same definition)."""
        from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig
        from nats.js.errors import BadRequestError

        name = stream_name(self.topics)
        for replicas in dict.fromkeys((self.replicas, 1)):
            config = StreamConfig(
                name=name,
                subjects=[subject(self.topics, c) for c in STORED_CHANNELS],
                retention=RetentionPolicy.WORK_QUEUE,
                num_replicas=replicas,
                max_age=7 * 24 * 3600,
            )
            try:
                await js.add_stream(config)
                break
            except BadRequestError as err:
                if "already in use" in str(err.description or ""):
                    break
                if replicas == 1:
                    raise
                log.warning("JetStream stream with %d replicas refused (%s): trying 1", replicas, err)
        await js.add_consumer(
            name,
            ConsumerConfig(
                durable_name=DURABLE,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ACK_WAIT_S,
                max_ack_pending=20_000,
                max_deliver=-1,
            ),
        )

    async def run(self, sink: _Sink) -> None:
        """Feed ``sink`` until cancelled; reconnects (nats-py) and re-creates what it needs."""
        while True:
            nc = None
            try:
                nc = await self.connect()
                js = nc.jetstream()
                await self.ensure_stream(js)

                async def on_status(msg: Any) -> None:
                    sink.accept(topic_of(msg.subject), msg.data)

                await nc.subscribe(subject(self.topics, Channel.STATUS), queue=QUEUE_GROUP, cb=on_status)
                pull = await js.pull_subscribe_bind(DURABLE, stream=stream_name(self.topics))
                log.info("gateway reading the ingest stream from NATS %s", nc.connected_url)
                await self._pull(pull, sink)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("JetStream ingest interrupted (reconnecting): %s", err)
                await asyncio.sleep(1.0)
            finally:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()

    async def _pull(self, pull: Any, sink: _Sink) -> None:
        import nats.errors

        while True:
            try:
                messages = await pull.fetch(FETCH_BATCH, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for msg in messages:
                sink.accept_tracked(topic_of(msg.subject), msg.data, msg)

"""The embedded MQTT broker (amqtt, in-process) with Loa's authentication and topic ACL.

For demos, tests and small installations; a province runs Mosquitto (see ``loa.fleet.mosquitto``).
Two amqtt 0.12 defects shape the protocol rather than this module: retained messages may reach other
clients' subscriptions (so ``state`` carries nothing secret) and half-open connections never fire
their will (so the gateway also times devices out from missed heartbeats).

The ACL is the same rule as Mosquitto's pattern ACL: the MQTT username is the device id; a device
publishes only on its own device→server channels and subscribes/receives only its own inbox. As with
Mosquitto's ``use_username_as_clientid``, a device's client id is replaced by its username, and a
client is admitted before the broker looks at the session its client id names.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import MQTTError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session as MqttSession
from amqtt.utils import gen_client_id
from sqlalchemy import Engine, select

from loa.fleet.credentials import verify_secret
from loa.protocol.topics import CHANNELS, Topics, valid_device_id

log = logging.getLogger(__name__)


class CredentialStore(Protocol):
    """Checks a username/password pair. Called in a worker thread (it may query the database)."""

    def verify(self, username: str, password: str) -> bool: ...


@dataclass
class StaticCredentials:
    """Fixed users (the backend user; tests)."""

    users: dict[str, str]

    def verify(self, username: str, password: str) -> bool:
        expected = self.users.get(username)
        return expected is not None and hmac.compare_digest(expected, password)


@dataclass
class DeviceCredentials:
    """Devices from the database (``devices.secret_sha256``), plus fixed backend users.

    A successful check is cached for ``cache_s`` seconds so a reconnect storm does not become a
    query storm; a revoked device is refused at its next connect after the cache expires."""

    engine: Engine
    backend: StaticCredentials
    cache_s: float = 60.0
    _cache: dict[tuple[str, str], float] = field(default_factory=dict)

    def verify(self, username: str, password: str) -> bool:
        if username in self.backend.users:
            return self.backend.verify(username, password)
        if not valid_device_id(username):
            return False
        key = (username, password)
        now = time.monotonic()
        if self._cache.get(key, 0.0) > now:
            return True
        from loa.fleet.models import Device

        with self.engine.connect() as conn:
            row = conn.execute(
                select(Device.secret_sha256).where(Device.uid == username, Device.active.is_(True))
            ).first()
        ok = row is not None and verify_secret(password, row[0])
        if ok:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = now + self.cache_s
        return ok


class LoaAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt auth plugin: every client needs a username and password accepted by the store. A device
    (any user but the backend's) then gets its username as client id, as Mosquitto's
    ``use_username_as_clientid`` does: with its own choice of id, one device's credentials would take
    over another device's session (its queued commands, its subscriptions). The backend may open
    several connections (gateway, tools), so its client ids are left alone."""

    @dataclass
    class Config:
        store: Any = None
        backend_users: list[str] = field(default_factory=list)

    async def authenticate(self, *, session: MqttSession) -> bool | None:
        store: CredentialStore | None = self.config.store
        if store is None or not session.username or session.password is None:
            return False
        password = session.password
        if isinstance(password, bytes | bytearray):
            password = password.decode(errors="replace")
        ok = await asyncio.to_thread(store.verify, session.username, str(password))
        if not ok:
            log.info("MQTT authentication refused for %r", session.username)
        elif session.username not in self.config.backend_users:
            # Before the broker looks up a session by client id (LoaBroker admits first).
            session.client_id = session.username
        return ok


class LoaTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """amqtt topic plugin enforcing ``{prefix}/d/{username}/{channel}`` by channel direction."""

    @dataclass
    class Config:
        prefix: str = "loa"
        backend_users: list[str] = field(default_factory=list)

    async def topic_filtering(
        self, *, session: MqttSession | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        username = session.username if session else None
        if not username or not topic:
            return False
        return topic_allowed(
            Topics(self.config.prefix), set(self.config.backend_users), username, topic, action
        )


def topic_allowed(
    topics: Topics, backend_users: set[str], username: str, topic: str, action: Action | None
) -> bool:
    if username in backend_users:
        return True
    if topics.is_group_cmd(topic):
        # Shared, signed group commands: any device may read them, none may publish.
        return bool(action != Action.PUBLISH)
    parsed = topics.parse(topic)
    if parsed is None or parsed[0] != username:
        return False
    from_device = CHANNELS[parsed[1]].from_device
    if action == Action.PUBLISH:
        return from_device
    return not from_device  # SUBSCRIBE and RECEIVE: only the device's own inbox


def broker_config(
    *, host: str, port: int, store: CredentialStore, topics: Topics, backend_users: list[str]
) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "timeout_disconnect_delay": 2,
        "plugins": {
            f"{__name__}.LoaAuthPlugin": {"store": store, "backend_users": backend_users},
            f"{__name__}.LoaTopicPlugin": {"prefix": topics.prefix, "backend_users": backend_users},
        },
    }


Subscribers = list[tuple[MqttSession, int]]


class _SubscriptionTable(dict[str, Subscribers]):
    """amqtt 0.12's subscription table (``Broker._subscriptions``), made safe and indexed.

    1. amqtt walks this dict across ``await`` points: ``_run_broadcast`` awaits the topic plugins for
       each matching filter inside ``for k_filter, subscriptions in self._subscriptions.items()``, and
       a reconnecting persistent session awaits retained-message delivery inside ``for topic in
       self._subscriptions``. A client subscribing to a new filter in between (every device
       connecting adds its own) grows the dict, the loop dies with "dictionary changed size during
       iteration" and the message is lost for every later filter. Iteration here is over a copy.
    2. amqtt routes each message by testing *every* filter (and formatting a debug string for each
       miss): ~400 messages/s with 1,000 devices. The wildcard filters are kept apart so that
       ``LoaBroker._run_broadcast`` looks exact filters up directly."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.wildcards: dict[str, None] = {k: None for k in self if _is_wildcard(k)}

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def __repr__(self) -> str:
        # amqtt logs ``repr(self._subscriptions)`` at debug level after every SUBSCRIBE, formatted
        # whether or not debug is on: the whole table each time, quadratic in connecting devices.
        return f"<{len(self)} subscription filters>"

    def items(self) -> list[tuple[str, Subscribers]]:  # type: ignore[override]
        return [(k, list(v)) for k, v in super().items()]

    def __setitem__(self, key: str, value: Subscribers) -> None:
        super().__setitem__(key, value)
        if _is_wildcard(key):
            self.wildcards[key] = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.wildcards.pop(key, None)

    def pop(self, key: str, *default: Any) -> Any:
        self.wildcards.pop(key, None)
        return super().pop(key, *default)

    def clear(self) -> None:
        super().clear()
        self.wildcards.clear()

    def matching(self, topic: str, matches: Callable[[str, str], bool]) -> list[str]:
        """Filters matching ``topic``: the exact one by lookup, wildcards by test."""
        found = [topic] if super().__contains__(topic) else []
        found += [f for f in list(self.wildcards) if matches(topic, f)]
        return found


def _is_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


class LoaBroker(Broker):  # type: ignore[misc]
    """amqtt 0.12.1's broker with the subscription table above and a broadcast that uses it (the
    same delivery rules as ``Broker._run_broadcast``, without testing every filter per message).
    ``tests/fleet/test_broker.py`` reproduces the iteration bug and checks routing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table: dict[str, Subscribers] = getattr(self, "_subscriptions", {})
        self._subscriptions = _SubscriptionTable(table)
        # ``LoaTopicPlugin``'s rule, called directly for every PUBLISH, SUBSCRIBE and delivery (set by
        # ``EmbeddedBroker``): through amqtt's plugin manager each check cost a task and a gather —
        # a fifth of the samples of a py-spy profile of the fleet bench's amqtt phase (1,000 devices
        # connecting and answering group commands). None: ask the plugins, as amqtt does.
        self.topic_rule: Callable[[str, str, Action], bool] | None = None

    async def _topic_filtering(self, session: MqttSession, topic: str, action: Action) -> bool:
        rule = self.topic_rule
        if rule is None:
            return bool(await super()._topic_filtering(session, topic=topic, action=action))
        return bool(session.username) and bool(topic) and rule(session.username, topic, action)

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, MqttSession]:
        """amqtt 0.12.1's, with the client admitted (password, client id) first. amqtt looked up the
        session named by the CONNECT's client id before any check — deleting it for a clean session,
        merging a wrong password into it otherwise — and then took over a connected one whatever the
        check said: a wrong password with a device's client id disconnected that device and wiped
        its queued commands (tests/fleet/test_clientid.py)."""
        try:
            handler, incoming = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except MQTTError:
            await writer.close()
            raise
        if not await super()._authenticate(incoming, None):
            connack = ConnackPacket.build(0, NOT_AUTHORIZED)
            await connack.to_stream(writer)
            await writer.close()
            raise MQTTError(f"client {incoming.client_id!r} not admitted")
        session: MqttSession = incoming
        if incoming.clean_session:
            if incoming.client_id:
                await self._delete_session(incoming.client_id)
            else:
                incoming.client_id = gen_client_id()
            incoming.parent = 0
        elif incoming.client_id in self._sessions:
            # The connection brings its will and keep-alive to the stored session (as amqtt does).
            session = self._sessions[incoming.client_id][0]
            for name in (
                "will_flag",
                "will_message",
                "will_topic",
                "will_qos",
                "keep_alive",
                "username",
                "password",
            ):
                setattr(session, name, getattr(incoming, name))
            session.parent = 1
        else:
            incoming.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session

    async def _authenticate(self, session: MqttSession, listener: Any) -> bool:
        # Every connection was admitted by ``_initialize_client_session`` before reaching here.
        return True

    async def _may_receive(self, session: MqttSession, topic: str) -> bool:
        return await self._topic_filtering(session, topic, Action.RECEIVE)

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: MqttSession
    ) -> None:
        """Retained messages for one of ``session``'s filters. amqtt 0.12.1 calls this, when a
        persistent session reconnects, for *every* filter in the table (every device's) and tests
        every retained message against each: a reconnecting device was handed the other devices'
        retained ``state`` messages, and each reconnect cost filters × retained messages (millions
        with a thousand devices). Here only the session's own filters count, an exact filter is a
        lookup, and the RECEIVE rule applies as for live messages."""
        topic_filter = subscription[0]
        retained_messages: dict[str, Any] = self._retained_messages
        if not retained_messages:
            return
        if _is_wildcard(topic_filter):
            found = [r for t, r in list(retained_messages.items()) if self._matches(t, topic_filter)]
        else:
            exact = retained_messages.get(topic_filter)
            found = [exact] if exact is not None else []
        if not found:
            return  # the common case, decided before looking through the filter's subscribers
        granted = [q for s, q in dict.get(self._subscriptions, topic_filter, ()) if s is session]
        if not granted:
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = [
            asyncio.ensure_future(
                handler.mqtt_publish(r.topic, r.data, min(granted[0], r.qos or granted[0]), retain=True)
            )
            for r in found
            if await self._may_receive(session, r.topic)
        ]
        if tasks:
            await asyncio.wait(tasks)

    async def _run_broadcast(self, running_tasks: deque[asyncio.Task[Any]]) -> None:
        broadcast = await self._broadcast_queue.get()
        topic: str = broadcast["topic"]
        table: _SubscriptionTable = self._subscriptions
        for k_filter in table.matching(topic, self._matches):
            for target_session, sub_qos in list(table.get(k_filter, ())):
                qos = broadcast.get("qos", sub_qos)
                if not await self._may_receive(target_session, topic):
                    continue
                connected = target_session.transitions.state == "connected"
                if (
                    not connected
                    and not target_session.clean_session
                    and qos in (QOS_1, QOS_2)
                    and not target_session.is_anonymous
                ):
                    # Kept for a persistent session that is away [MQTT 3.1.2.4].
                    await self._retain_broadcast_message(broadcast, qos, target_session)
                    continue
                if not connected:
                    continue
                handler = self._get_handler(target_session)
                if handler:
                    task = asyncio.ensure_future(
                        handler.mqtt_publish(topic, broadcast["data"], qos, retain=False)
                    )
                    running_tasks.append(task)


class EmbeddedBroker:
    """Start/stop an amqtt broker inside the running event loop."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        store: CredentialStore,
        topics: Topics,
        backend_users: list[str],
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._config = broker_config(
            host=host, port=port, store=store, topics=topics, backend_users=backend_users
        )
        self._topics_prefix = topics.prefix
        self._backend_users = list(backend_users)
        self._broker: LoaBroker | None = None
        self._on_stop = on_stop

    async def start(self) -> None:
        # amqtt logs every connection at INFO; a fleet makes that noise, keep warnings only.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        self._broker = LoaBroker(self._config)
        topics, backend = Topics(self._topics_prefix), set(self._backend_users)
        self._broker.topic_rule = lambda user, topic, action: topic_allowed(
            topics, backend, user, topic, action
        )
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
            if self._on_stop:
                self._on_stop()

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

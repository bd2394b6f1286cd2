"""The embedded broker keeps routing while clients subscribe: amqtt 0.12 iterates its subscription
table across ``await``s, so a device subscribing during a broadcast used to kill the broadcast
("dictionary changed size during iteration") and lose the message for later subscribers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from loa.fleet.broker import EmbeddedBroker, StaticCredentials
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    free_port,
    unique_prefix,
    wait_event,
    wait_until,
)

pytestmark = pytest.mark.mqtt

MESSAGES = 150
JOINING = 60


def test_routing_survives_clients_subscribing_during_broadcasts() -> None:
    asyncio.run(_scenario())


async def _scenario() -> None:
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    topics = Topics(unique_prefix())
    port = free_port()
    store = StaticCredentials({BACKEND_USER: BACKEND_PASSWORD})
    broker = EmbeddedBroker(
        host="127.0.0.1", port=port, store=store, topics=topics, backend_users=[BACKEND_USER]
    )

    async def client(name: str, on_message: Any = None) -> LiteClient:
        c = LiteClient(name, on_message=on_message)
        await c.connect("127.0.0.1", port, username=BACKEND_USER, password=BACKEND_PASSWORD)
        return c

    async with broker:
        got_exact: list[bytes] = []
        got_wild: list[bytes] = []
        all_arrived = asyncio.Event()

        def on_wild(_topic: str, payload: bytes) -> None:
            got_wild.append(payload)
            if len(got_wild) == MESSAGES:
                all_arrived.set()

        # The exact filter is older than the wildcard one: a broadcast that dies after the first
        # (while a newcomer adds its filter) never reaches the second.
        exact = await client("exact", lambda _t, p: got_exact.append(p))
        await exact.subscribe([(topics.group_cmd("1"), 0)])
        wild = await client("wild", on_wild)
        await wild.subscribe([(topics.any_group_cmd(), 0)])
        publisher = await client("publisher")

        async def join(i: int) -> LiteClient:
            c = await client(f"joiner-{i}")
            uid = f"loa-{i:012x}"
            await c.subscribe(
                [(topics.device(uid, ch), 0) for ch in (Channel.CMD, Channel.STATE, Channel.ACK)]
            )
            return c

        async def publish() -> None:
            for n in range(MESSAGES):
                await publisher.publish(topics.group_cmd("1"), str(n).encode(), qos=1)

        joined, _ = await asyncio.gather(asyncio.gather(*(join(i) for i in range(JOINING))), publish())
        with contextlib.suppress(TimeoutError):
            await wait_event(all_arrived, "all_arrived")
        for c in [exact, wild, publisher, *joined]:
            await c.disconnect()
    assert len(got_exact) == MESSAGES
    assert len(got_wild) == MESSAGES
    assert not [e for e in loop_errors if "changed size" in str(e.get("exception", ""))]


def test_a_reconnecting_device_gets_only_its_own_retained_state() -> None:
    """amqtt 0.12.1 hands a persistent session that reconnects the retained messages of every
    filter in its table, other devices' included; ``LoaBroker`` keeps to the session's own."""
    asyncio.run(_reconnect_scenario())


async def _reconnect_scenario() -> None:
    topics = Topics(unique_prefix())
    port = free_port()
    uid_a, uid_b = "loa-00000000000a", "loa-00000000000b"
    store = StaticCredentials({BACKEND_USER: BACKEND_PASSWORD, uid_a: "secret-a", uid_b: "secret-b"})
    broker = EmbeddedBroker(
        host="127.0.0.1", port=port, store=store, topics=topics, backend_users=[BACKEND_USER]
    )
    async with broker:
        backend = LiteClient("backend")
        await backend.connect("127.0.0.1", port, username=BACKEND_USER, password=BACKEND_PASSWORD)
        for uid in (uid_a, uid_b):
            await backend.publish(topics.device(uid, Channel.STATE), uid.encode(), qos=1, retain=True)

        got: list[tuple[str, bytes]] = []

        async def device(uid: str, secret: str, *, subscribe: bool) -> LiteClient:
            c = LiteClient(uid, on_message=lambda t, p: got.append((t, p)) if uid == uid_a else None)
            await c.connect("127.0.0.1", port, username=uid, password=secret, clean_session=False)
            if subscribe:
                await c.subscribe([(topics.device(uid, Channel.STATE), 1)])
            return c

        a = await device(uid_a, "secret-a", subscribe=True)
        b = await device(uid_b, "secret-b", subscribe=True)
        await wait_until(lambda: bool(got), what="a's retained state")
        assert got == [(topics.device(uid_a, Channel.STATE), uid_a.encode())]
        await a.disconnect()
        got.clear()
        a = await device(uid_a, "secret-a", subscribe=False)  # the session and its filter persist
        await wait_until(lambda: (topics.device(uid_a, Channel.STATE), uid_a.encode()) in got, what="resent")
        assert all(topic == topics.device(uid_a, Channel.STATE) for topic, _ in got), got
        for c in (a, b, backend):
            await c.disconnect()

"""Issue 20.6: receipts are accepted only for items in the device's own manifests or commands; forged
ones (another commune's item, another device's command) are refused, counted and acknowledged, on both
brokers. Issue 21.1: the gateway acknowledges each receipt id once, even when a batch and its resend
arrive together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import Engine

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import service
from loa.fleet.ingest import write_events
from loa.fleet.provenance import RECENT_VERSIONS, ManifestItems, screen_receipts
from loa.protocol import itemids
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    Slot,
    broker,
    make_gateway,
    publish_manifest,
    receipts_of,
    running,
    unique_prefix,
    wait_until,
)
from tests.fleet.world import IDS

pytestmark = [pytest.mark.mqtt]
SHA = "ab" * 32


def receipt(receipt_id: str, item_id: str, version: int | None = 1) -> m.Receipt:
    at = m.now_utc()
    return m.Receipt(
        receipt_id=receipt_id,
        seq=0,
        item_id=item_id,
        audio_sha256=SHA,
        started_at=at,
        ended_at=at,
        outcome=m.Outcome.PLAYED,
        manifest_version=version,
    )


def test_the_gateway_acknowledges_each_receipt_id_once(world_engine: Engine) -> None:
    batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=[receipt("r1", "x"), receipt("r2", "y")])
    with make_session_factory(world_engine)() as s, s.begin():
        outcome = write_events(s, events=[(IDS.a1, utcnow(), batch), (IDS.a1, utcnow(), batch)])
    assert outcome.acks == {IDS.a1: ["r1", "r2"]}
    assert outcome.receipts_new == 2 and outcome.receipts_duplicate == 2


def test_forged_receipts_are_refused_counted_and_acknowledged(
    tmp_path: Path, world_engine: Engine, broker_kind: str
) -> None:
    asyncio.run(_forged(tmp_path, world_engine, broker_kind))


async def _forged(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    start = datetime.now(UTC) + timedelta(minutes=5)
    long_id = "a.1001-" + "x" * 57  # 64 characters: its later rounds keep only the first 56
    publish_manifest(factory, tmp_path, IDS.a1, 1, [Slot("a.1001", SHA, 1, start, 1000)])
    publish_manifest(factory, tmp_path, IDS.a1, 2, [Slot(long_id, SHA, 1, start, 1000)])
    publish_manifest(factory, tmp_path, IDS.b1, 1, [Slot("a.2002", SHA, 1, start, 1000)])
    with factory() as s, s.begin():
        a1, a2, b1 = (service.get_device(s, uid=uid) for uid in (IDS.a1, IDS.a2, IDS.b1))
        args = {"audio_sha256": SHA}
        (own,) = service.issue_command(s, devices=[a1], kind="play_now", args=args)
        service.issue_command(s, devices=[a1], kind="play_now", args={**args, "item_id": "canh-bao"})
        group_ids = {
            c.batch_id for c in service.issue_command(s, devices=[a1, a2], kind="play_now", args=args)
        }
        (others,) = service.issue_command(s, devices=[b1], kind="play_now", args=args)
        (volume,) = service.issue_command(s, devices=[a1], kind="volume", args={"level": 5})
    (group_id,) = group_ids
    assert group_id is not None
    accepted = {
        "ok-manifest": "a.1001",
        "ok-older-version": "a.1001",  # reported with version 2: it came in version 1
        "ok-round": itemids.round_item(long_id, 3),
        "ok-command": itemids.command_item(own.id),
        "ok-named": "canh-bao",
        "ok-group": itemids.round_item(itemids.command_item(group_id), 2),
    }
    forged = {
        "bad-other-commune": "a.2002",
        "bad-other-command": itemids.command_item(others.id),
        "bad-not-play": itemids.command_item(volume.id),
        "bad-made-up": "p.1.20260101T0000Z.1",
        "bad-newer-version": long_id,  # claims version 1, but it came only in version 2
    }
    versions = {"ok-older-version": 2, "ok-round": 2}
    receipts = [receipt(rid, item, versions.get(rid, 1)) for rid, item in {**accepted, **forged}.items()]
    async with broker(broker_kind, engine, topics) as handle:
        gateway = make_gateway(handle, engine, topics, flush_interval_s=1.0)
        async with running(gateway.run):
            await asyncio.wait_for(gateway.ready.wait(), 10)
            async with aiomqtt.Client(
                handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
            ) as device:
                await device.subscribe(topics.device(IDS.a1, Channel.ACK), qos=1)
                batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=receipts).to_bytes()
                # The batch and its resend, within one flush of the gateway.
                await device.publish(topics.device(IDS.a1, Channel.RECEIPTS), batch, qos=1)
                await device.publish(topics.device(IDS.a1, Channel.RECEIPTS), batch, qos=1)
                acked: list[str] = []
                async with asyncio.timeout(15):
                    async for message in device.messages:
                        assert isinstance(message.payload, bytes)
                        ack = m.parse_server_message(Channel.ACK, message.payload)
                        assert isinstance(ack, m.ReceiptAck)
                        assert len(set(ack.receipt_ids)) == len(ack.receipt_ids)  # each id once
                        acked += ack.receipt_ids
                        if set(acked) >= {r.receipt_id for r in receipts}:
                            break
            await wait_until(lambda: gateway.stats.receipts_refused >= len(forged), 10, "refusals counted")
    recorded = {r.receipt_id for r in receipts_of(factory, IDS.a1)}
    assert recorded == set(accepted)
    assert gateway.stats.dropped["refused_receipt"] == gateway.stats.receipts_refused
    assert gateway.stats.receipts_refused in (len(forged), 2 * len(forged))  # the resend: refused again


def test_what_the_gateway_remembers_follows_new_manifests(tmp_path: Path, world_engine: Engine) -> None:
    """The screening keeps each device's versions between batches; a receipt naming a newer version
    asks the database again, and one naming an old version it forgot asks for those too."""
    factory = make_session_factory(world_engine)
    start = datetime.now(UTC) + timedelta(minutes=5)
    cache = ManifestItems()

    def screen(*receipts: m.Receipt) -> set[str]:
        batch = m.ReceiptBatch(sent_at=m.now_utc(), receipts=list(receipts))
        with factory() as s:
            screened = screen_receipts(s, [(IDS.a1, utcnow(), batch)], cache, now=utcnow())
        return {
            r.receipt_id
            for _, _, msg in screened.events
            if isinstance(msg, m.ReceiptBatch)
            for r in msg.receipts
        }

    publish_manifest(factory, tmp_path, IDS.a1, 1, [Slot("a.1", SHA, 1, start, 1000)])
    assert screen(receipt("r1", "a.1", 1), receipt("r2", "a.2", 1)) == {"r1"}
    for version in range(2, 2 + 2 * RECENT_VERSIONS + 2):  # many new versions, each a new item
        publish_manifest(factory, tmp_path, IDS.a1, version, [Slot(f"a.{version}", SHA, 1, start, 1000)])
        assert screen(receipt(f"r{version}", f"a.{version}", version)) == {f"r{version}"}
    newest = 1 + 2 * RECENT_VERSIONS + 1
    assert screen(receipt("old", "a.1", 1)) == {"old"}  # forgotten by the cache: asked again
    assert screen(receipt("too-old", "a.1", newest)) == set()  # more than RECENT_VERSIONS before
    assert screen(receipt("claimed", f"a.{newest}", newest + 5)) == {"claimed"}

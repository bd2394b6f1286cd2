"""Issue 20.11: what the gateway drops (bad payloads, forged topics, oversized messages) and its
traffic are counted in the database, in batches rather than a write per message; administrators see
them on a page in Vietnamese, and Prometheus reads them from ``/metrics`` with the token."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import counters
from loa.fleet.gateway import GatewayStats
from loa.protocol import messages as m
from loa.protocol.topics import Channel, Topics
from loa.settings import Settings
from tests.activities.areas import build_tree
from tests.fleet.harness import (
    BACKEND_PASSWORD,
    BACKEND_USER,
    broker,
    make_gateway,
    new_device,
    running,
    unique_prefix,
    wait_until,
)
from tests.support.auth import login_web, make_user

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_batcher_hands_out_only_what_grew_since_the_last_write() -> None:
    batcher = counters.CounterBatcher(interval_s=5)
    assert batcher.due(100.0) and not batcher.due(104.9) and batcher.due(105.0)
    stats = GatewayStats(received=10, acks_sent=2)
    stats.dropped["oversized"] += 3
    first = batcher.deltas(counters.stats_totals(stats))
    assert first == {"in.messages": 10, "out.acks": 2, "drop.oversized": 3}
    batcher.written(first)
    stats.received += 5
    stats.dropped["not_json"] += 1
    assert batcher.deltas(counters.stats_totals(stats)) == {"in.messages": 5, "drop.not_json": 1}
    # A failed write is not marked: the next deltas include it.
    stats.received += 1
    assert batcher.deltas(counters.stats_totals(stats))["in.messages"] == 6


def test_prometheus_text_lists_every_counter_with_labels() -> None:
    text = counters.prometheus_text({"drop.oversized": 3, "in.messages": 10, "drop.brand_new": 1})
    lines = text.splitlines()
    assert "# TYPE loa_mqtt_dropped_total counter" in lines
    assert 'loa_mqtt_dropped_total{reason="oversized"} 3' in lines
    assert 'loa_mqtt_dropped_total{reason="bad_topic"} 0' in lines  # present from the first scrape
    assert 'loa_mqtt_dropped_total{reason="brand_new"} 1' in lines
    assert "loa_mqtt_messages_received_total 10" in lines
    assert 'loa_mqtt_messages_sent_total{kind="ack"} 0' in lines
    assert "loa_receipts_recorded_total 0" in lines
    assert sum(line.startswith("# TYPE loa_mqtt_dropped_total") for line in lines) == 1


def test_counts_add_up_per_day_across_writers(session: Session) -> None:
    counters.add_counts(session, {"drop.oversized": 2, "in.messages": 5}, now=NOON)
    counters.add_counts(session, {"drop.oversized": 1}, now=NOON + timedelta(hours=1))  # another gateway
    counters.add_counts(session, {"drop.oversized": 4}, now=NOON - timedelta(days=1))
    session.commit()
    assert counters.totals(session) == {"drop.oversized": 7, "in.messages": 5}
    assert counters.totals(session, since=NOON.date()) == {"drop.oversized": 3, "in.messages": 5}


def _stored(engine: Engine) -> dict[str, int]:
    with make_session_factory(engine)() as s:
        return counters.totals(s)


@pytest.mark.mqtt
def test_the_gateway_writes_its_drops_in_batches(engine: Engine, broker_kind: str) -> None:
    asyncio.run(_drops(engine, broker_kind))


async def _drops(engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    uid, _code = new_device(make_session_factory(engine), "Cụm loa chợ")
    writes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "fleet_counters" in statement and statement.lstrip().upper().startswith("INSERT"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    interval_s = 0.5
    try:
        async with broker(broker_kind, engine, topics) as handle:
            gateway = make_gateway(handle, engine, topics, counters_interval_s=interval_s)
            async with running(gateway.run):
                await asyncio.wait_for(gateway.ready.wait(), 10)
                started = time.monotonic()
                async with aiomqtt.Client(
                    handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD
                ) as c:
                    status = topics.device(uid, Channel.STATUS)
                    for _ in range(20):
                        await c.publish(status, b"\xff\xfe not json", qos=1)
                    for _ in range(3):
                        await c.publish(status, b'{"v": 1, "type": "status"' + b" " * 20_000 + b"}", qos=1)
                    for _ in range(5):  # a device id the topic rules refuse
                        await c.publish(f"{topics.prefix}/d/NOT A DEVICE!/status", b"{}", qos=1)
                    await c.publish(status, m.Status(sent_at=m.now_utc(), volume=30).to_bytes(), qos=1)
                await wait_until(
                    lambda: (
                        _stored(engine).get("drop.not_json") == 20
                        and _stored(engine).get("drop.oversized") == 3
                        and _stored(engine).get("drop.bad_topic") == 5
                        and _stored(engine).get("statuses.recorded") == 1
                    ),
                    20,
                    "drops written",
                )
                elapsed_s = time.monotonic() - started
                assert _stored(engine)["in.messages"] == 29
                # 28 bad messages, yet at most one write per interval (plus the first).
                assert 1 <= len(writes) <= elapsed_s / interval_s + 2, (len(writes), elapsed_s)
                stopped_at = len(writes)
            assert len(writes) <= stopped_at + 1  # stopping writes what is left, once
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert _stored(engine)["drop.not_json"] == 20  # nothing counted twice


@pytest.fixture
def monitored(engine: Engine, tmp_path: Path) -> TestClient:
    with make_session_factory(engine)() as s:
        build_tree(s)
        make_user(s, "quantri", Role.ADMIN)
        make_user(s, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
        counters.add_counts(
            s, {"drop.oversized": 1234, "drop.refused_receipt": 50, "in.messages": 9}, now=NOON
        )
        counters.add_counts(s, Counter({"drop.not_json": 2}), now=datetime.now(UTC))
        s.commit()
    settings = Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        metrics_token="prometheus-token-0123456789",  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings, engine=engine))


def test_administrators_see_the_counters_in_vietnamese(monitored: TestClient) -> None:
    login_web(monitored, "quantri")
    assert 'href="/fleet/counters"' in monitored.get("/fleet").text
    page = monitored.get("/fleet/counters")
    assert page.status_code == 200
    assert "Bản tin quá lớn" in page.text and "1.234" in page.text
    assert "Biên nhận phát bị từ chối" in page.text and "Nội dung không đọc được" in page.text
    assert "Bản tin nhận từ thiết bị" in page.text
    assert "oversized" not in page.text and "refused_receipt" not in page.text  # no codes shown


def test_others_may_not_see_the_counters(monitored: TestClient) -> None:
    login_web(monitored, "xabato")
    assert monitored.get("/fleet/counters").status_code == 403
    assert 'href="/fleet/counters"' not in monitored.get("/fleet").text


def test_metrics_need_the_token(monitored: TestClient, engine: Engine, tmp_path: Path) -> None:
    assert monitored.get("/metrics").status_code == 401
    wrong = monitored.get("/metrics", headers={"Authorization": "Bearer prometheus-token-0123456780"})
    assert wrong.status_code == 401 and "Mã truy cập số liệu giám sát không đúng" in wrong.text
    login_web(monitored, "quantri")  # a signed-in administrator's cookie is not the token
    assert monitored.get("/metrics").status_code == 401
    scraped = monitored.get("/metrics", headers={"Authorization": "Bearer prometheus-token-0123456789"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    lines = scraped.text.splitlines()
    assert 'loa_mqtt_dropped_total{reason="oversized"} 1234' in lines
    assert 'loa_mqtt_dropped_total{reason="refused_receipt"} 50' in lines
    assert "loa_mqtt_messages_received_total 9" in lines
    unset = TestClient(create_app(Settings(demo=True, data_dir=tmp_path / "d2"), engine=engine))
    assert unset.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404

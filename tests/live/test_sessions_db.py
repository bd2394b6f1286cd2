"""Live sessions and relays reach the manifests of the devices they target, with each device's own
token, through the app's wiring (recompile + ``sync`` in the same commit); every step is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.db.base import utcnow
from loa.errors import Conflict, NotFound
from loa.fleet.models import Device, DeviceCommand
from loa.live import service as live
from loa.live.models import StreamSession
from loa.protocol import streams
from loa.schedule import hooks
from loa.schedule.manifests import signing_key
from loa.settings import Settings
from loa.wiring import wire
from tests.conftest import Backend
from tests.schedule.test_service_db import manifest_items
from tests.schedule.world import BA_TO, KINH_VILLAGE, load_world, seed_world

BASE = "http://stream.example.vn:8000"


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def stream_items(s: Any, uid: str) -> list[dict[str, Any]]:
    return [i for i in manifest_items(s, uid) if i["audio"]["kind"] == "stream"]


def syncs(s: Any, uid: str) -> int:
    device = s.scalars(select(Device).where(Device.uid == uid)).one()
    return len(
        s.scalars(
            select(DeviceCommand).where(DeviceCommand.device_id == device.id, DeviceCommand.kind == "sync")
        ).all()
    )


def audit_actions(s: Any) -> list[str]:
    return [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.target_type == "stream_session"))]


def compiled(engine: Engine, settings: Settings) -> Any:
    """The app's session factory, with every device's first manifest already issued."""
    factory = wire(engine, settings).sessions
    with factory() as s, s.begin():
        hooks.periodic_compile(s, data_dir=settings.data_dir)
    return factory


def test_live_goes_to_the_chosen_village_with_a_device_token_and_stops(
    engine: Engine, settings: Settings
) -> None:
    factory = compiled(engine, settings)
    started = utcnow()
    with factory() as s:
        world = load_world(s)
        row = live.start_live(
            s, principal=world.operator, codes=[KINH_VILLAGE], title="Họp dân khẩn", stream_base_url=BASE
        )
        s.commit()
        session_id = row.id
    key = streams.token_key(signing_key(settings.data_dir).private_bytes_raw())
    with factory() as s:
        [item] = stream_items(s, "loa-bt-01")
        assert item["priority"] == 700 and item["title"] == "Họp dân khẩn"
        assert item["preempt_rule"] == "resume"
        assert item["audio"]["url"].startswith(f"{BASE}/live-{BA_TO}?t=loa-bt-01.")
        token = streams.token_of(item["audio"]["url"])
        grant = streams.verify_token(key, token, mount=f"live-{BA_TO}", now=utcnow())
        assert grant.device_id == "loa-bt-01"
        with pytest.raises(streams.StreamTokenError):  # another mount: refused
            streams.verify_token(key, token, mount=f"relay-{BA_TO}", now=utcnow())
        start_at = datetime.fromisoformat(item["start_at"])
        assert abs((start_at - started).total_seconds()) < 60
        assert stream_items(s, "loa-bt-02") == []  # the other village hears nothing
        assert syncs(s, "loa-bt-01") == 1 and syncs(s, "loa-bt-02") == 0
        world = load_world(s)
        with pytest.raises(Conflict):  # one live session per station at a time
            live.start_live(s, principal=world.operator, codes=[BA_TO], title="", stream_base_url=BASE)
        s.rollback()
        with pytest.raises(NotFound):  # Ba Vì's operator cannot reach Ba Tơ
            live.start_live(s, principal=world.other_operator, codes=[BA_TO], title="", stream_base_url=BASE)
        s.rollback()
    stopped_at = utcnow() + timedelta(seconds=30)
    with factory() as s:
        world = load_world(s)
        live.stop(s, principal=world.operator, stream_id=session_id, now=stopped_at)
        s.commit()
    with factory() as s:
        [item] = stream_items(s, "loa-bt-01")
        cut = datetime.fromisoformat(item["not_after_at"])
        assert abs((cut - stopped_at).total_seconds()) < 0.01  # devices cut it at the stop
        assert syncs(s, "loa-bt-01") == 2
        row = s.get(StreamSession, session_id)
        assert row is not None and row.status == "ended" and row.end_reason == "operator_stop"
        assert audit_actions(s) == ["live.start", "live.stop"]
        stop_event = s.scalars(select(AuditEvent).where(AuditEvent.action == "live.stop")).one()
        details = (
            stop_event.details if isinstance(stop_event.details, dict) else json.loads(stop_event.details)
        )
        assert details["duration_s"] >= 29 and details["targets"] == [
            {"kind": "village", "code": KINH_VILLAGE}
        ]


def test_relay_is_in_the_manifests_at_its_slot(engine: Engine, settings: Settings) -> None:
    factory = wire(engine, settings).sessions
    start = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    with factory() as s:
        world = load_world(s)
        live.schedule_relay(
            s,
            principal=world.operator,
            codes=[BA_TO],
            title="Tiếp sóng VOV1",
            source_url="http://vov.example/vov1",
            start_at=start,
            end_at=start + timedelta(hours=1),
            stream_base_url=BASE,
        )
        s.commit()
    with factory() as s:
        for uid in ("loa-bt-01", "loa-bt-02"):
            [item] = stream_items(s, uid)
            assert datetime.fromisoformat(item["start_at"]) == start.astimezone(UTC)
            assert item["duration_ms"] == 3600_000 and item["priority"] == 300
            assert item["audio"]["url"].startswith(f"{BASE}/relay-{BA_TO}?t={uid}.")
        assert stream_items(s, "loa-bv-01") == []
        world = load_world(s)
        with pytest.raises(Conflict):
            live.schedule_relay(
                s,
                principal=world.operator,
                codes=[BA_TO],
                title="Trùng giờ",
                source_url="http://vov.example/vov1",
                start_at=start + timedelta(minutes=30),
                end_at=start + timedelta(hours=2),
                stream_base_url=BASE,
            )
        s.rollback()
        assert audit_actions(s) == ["relay.schedule"]


def test_relay_from_the_page_and_the_api(engine: Engine, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from loa.app import create_app
    from tests.support.auth import login_web

    with TestClient(create_app(settings, engine=engine)) as client:
        csrf = login_web(client, "canbo.bato")
        page = client.get("/live")
        assert page.status_code == 200 and "Đặt lịch tiếp sóng" in page.text and "Xã Ba Tơ" in page.text
        answer = client.post(
            "/live/relays",
            data={
                "csrf_token": csrf,
                "title": "Thời sự VOV1",
                "source_url": "https://vov.example/vov1",
                "start_local": "2030-01-02T06:00",
                "end_local": "2030-01-02T06:30",
                "codes": [BA_TO],
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303
        late = client.post(
            "/live/relays",
            data={
                "csrf_token": csrf,
                "source_url": "ftp://vov.example/vov1",
                "start_local": "2030-01-02T07:00",
                "end_local": "2030-01-02T07:30",
                "codes": [BA_TO],
            },
        )
        assert late.status_code == 422 and "phải bắt đầu bằng http:// hoặc https://" in late.text
        listing = client.get("/live")
        assert "Thời sự VOV1" in listing.text and "Chờ đến giờ" in listing.text
    with wire(engine, settings).sessions() as s:
        row = s.scalars(select(StreamSession)).one()
        assert row.start_at == datetime(2030, 1, 1, 23, 0, tzinfo=UTC)  # 06:00 in Việt Nam
        assert row.source_url == "https://vov.example/vov1"

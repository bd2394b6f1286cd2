"""Web Push end to end against a push service faked on 127.0.0.1 (the real ones are outside the
machine): a browser subscribes through the API, the server encrypts and signs each push, and the
fake browser decrypts it with its own private key and reads the Vietnamese notice. A loudspeaker
going offline (the gateway's sweep or its will) reaches, through ``loa.wiring``, the phones of the
people whose areas hold it, and nobody else's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from loa.app import create_app
from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet.ingest import sweep_offline, write_events
from loa.fleet.models import Device
from loa.protocol import messages as m
from loa.push import keys, triggers
from loa.push.api import vapid_config
from loa.push.models import PushSubscription
from loa.settings import Settings
from loa.wiring import wire
from tests.fleet.world import IDS, seed_fleet_world
from tests.support.auth import bearer
from tests.support.fakepush import FakeBrowser, FakePushService, fake_push_service, vapid_claims

SUBJECT = "mailto:vanhanh@quangngai.gov.vn"
GRACE_S = 1.5  # long enough for a test to bring a loudspeaker back before it runs out


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with fake_push_service() as service:
        yield service


@pytest.fixture
def vapid() -> keys.VapidKeys:
    return keys.generate()


@pytest.fixture
def push_settings(tmp_path: Path, push_service: FakePushService, vapid: keys.VapidKeys) -> Settings:
    return Settings(
        demo=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",  # type: ignore[arg-type]
        vapid_private_key=vapid.private_key,  # type: ignore[arg-type]
        vapid_subject=SUBJECT,
        push_services=push_service.base_url,
        push_offline_grace_s=GRACE_S,
    )


@pytest.fixture
def world(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        seed_fleet_world(session)
        session.commit()


@pytest.fixture
def client(push_settings: Settings, engine: Engine, world: None) -> Iterator[TestClient]:
    with TestClient(create_app(push_settings, engine=engine)) as c:
        yield c


def _subscribe(client: TestClient, username: str, browser: FakeBrowser) -> None:
    response = client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(), headers=bearer(client, username)
    )
    assert response.status_code == 201, response.text


def test_the_keys_command_makes_a_pair_the_server_accepts(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.cli import run_loa

    code, out, _ = run_loa(monkeypatch, engine, capsys, "push", "keys")
    assert code == 0
    private = next(line for line in out.splitlines() if line.startswith("LOA_VAPID_PRIVATE_KEY="))
    pair = keys.from_private(private.split("=", 1)[1])
    assert pair.public_key in out and len(keys.b64url_decode(pair.public_key)) == 65
    assert "Khóa công khai" in out


def test_a_subscribed_browser_reads_the_trial_notice(
    client: TestClient, push_service: FakePushService, vapid: keys.VapidKeys
) -> None:
    auth = bearer(client, "vanhanh.a")
    key = client.get("/api/v1/push/key", headers=auth).json()
    assert key == {"enabled": True, "public_key": vapid.public_key}
    phone = FakeBrowser(push_service, "phone-a")
    _subscribe(client, "vanhanh.a", phone)
    assert client.post("/api/v1/push/trial", headers=auth).json() == {"sent": 1}

    [push] = push_service.wait_for(1)
    notice = phone.read(push)
    assert notice["title"] == "Loa: thông báo thử"
    assert "khi cụm loa mất kết nối" in notice["body"]
    claims = vapid_claims(push, public_key=vapid.public_key)
    assert claims["aud"] == push_service.base_url and claims["sub"] == SUBJECT
    assert claims["exp"] > time.time()
    assert int(push.headers["ttl"]) > 0


def test_subscriptions_only_to_allowed_push_services_and_well_formed_keys(
    client: TestClient, push_service: FakePushService, engine: Engine
) -> None:
    auth = bearer(client, "vanhanh.a")
    elsewhere = FakeBrowser(push_service, "x").subscription() | {"endpoint": "http://127.0.0.1:1/internal"}
    refused = client.post("/api/v1/push/subscriptions", json=elsewhere, headers=auth)
    assert refused.status_code == 422 and "không cho phép" in refused.json()["title"]
    bad_key = FakeBrowser(push_service, "y").subscription()
    bad_key["keys"]["auth"] = "bm90LTE2LWJ5dGVz"
    refused = client.post("/api/v1/push/subscriptions", json=bad_key, headers=auth)
    assert refused.status_code == 422 and "xác thực" in refused.json()["title"]
    with make_session_factory(engine)() as session:
        assert session.scalars(select(PushSubscription)).all() == []


def test_leaving_stops_the_notices(client: TestClient, push_service: FakePushService) -> None:
    auth = bearer(client, "vanhanh.a")
    phone = FakeBrowser(push_service, "phone-a")
    _subscribe(client, "vanhanh.a", phone)
    left = client.post("/api/v1/push/subscriptions/remove", json={"endpoint": phone.endpoint}, headers=auth)
    assert left.json() == {"count": 0}
    assert client.post("/api/v1/push/trial", headers=auth).json() == {"sent": 0}
    assert push_service.pushes == []


def _wait_sent(sessions: sessionmaker[Session], endpoint: str, timeout_s: float = 20.0) -> None:
    """Deliveries are recorded once a job has sent all its pushes: wait for that record."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sessions() as session:
            sent = session.scalar(
                select(PushSubscription.last_sent_at).where(PushSubscription.endpoint == endpoint)
            )
        if sent is not None:
            return
        time.sleep(0.05)
    raise AssertionError(f"no delivery recorded for {endpoint}")


@pytest.mark.parametrize("how", ["heartbeat stopped", "last will"])
def test_a_loudspeaker_going_offline_reaches_the_phones_of_its_areas(
    how: str, client: TestClient, push_service: FakePushService, push_settings: Settings, engine: Engine
) -> None:
    phones = {name: FakeBrowser(push_service, name) for name in ("vanhanh.a", "vanhanh.b", "tinh")}
    for name, phone in phones.items():
        _subscribe(client, name, phone)
    process = wire(engine, push_settings)
    now = utcnow()
    with process.sessions() as session, session.begin():
        session.execute(
            update(Device)
            .where(Device.uid == IDS.a1)
            .values(online=True, offline_deadline_at=now - timedelta(seconds=1))
        )
    with process.sessions() as session, session.begin():
        if how == "heartbeat stopped":
            assert sweep_offline(session, now=now) == [IDS.a1]
        else:
            assert write_events(session, events=[(IDS.a1, now, m.Lwt())]).went_offline == [IDS.a1]

    _wait_sent(process.sessions, phones["vanhanh.a"].endpoint)
    _wait_sent(process.sessions, phones["tinh"].endpoint)  # the province sees its communes
    for name in ("vanhanh.a", "tinh"):
        [push] = push_service.to(phones[name])
        notice = phones[name].read(push)
        assert notice["title"] == "Cụm loa thôn 1 mất kết nối"
        assert "Hãy kiểm tra nguồn điện" in notice["body"] and notice["url"] == "/fleet"
        assert push.headers["urgency"] == "high"
    assert push_service.to(phones["vanhanh.b"]) == []  # another commune's operator is not told


def test_gone_browsers_are_forgotten_and_failures_counted(
    client: TestClient, push_service: FakePushService, push_settings: Settings, engine: Engine
) -> None:
    gone, failing = FakeBrowser(push_service, "gone"), FakeBrowser(push_service, "failing")
    _subscribe(client, "vanhanh.a", gone)
    _subscribe(client, "quantri", failing)
    push_service.statuses = {"/push/gone": 410, "/push/failing": 503}
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        session.execute(update(Device).where(Device.uid == IDS.a2).values(online=False))
        device_id = session.scalar(select(Device.id).where(Device.uid == IDS.a2))
    config = vapid_config(push_settings)
    assert config is not None
    assert triggers.devices_offline(sessions, [device_id], vapid=config) == 0
    assert len(push_service.pushes) == 2
    with sessions() as session:
        left = {s.endpoint: s.failures for s in session.scalars(select(PushSubscription))}
    assert left == {failing.endpoint: 1}


@pytest.mark.parametrize(
    ("key", "subject", "words"),
    [
        ("not-a-key", SUBJECT, "LOA_VAPID_PRIVATE_KEY không đúng dạng"),
        (keys.generate().private_key, "", "LOA_VAPID_SUBJECT phải là địa chỉ liên hệ"),
        (keys.generate().private_key, "vanhanh@quangngai.gov.vn", "mailto:"),
    ],
    ids=["malformed-key", "no-subject", "subject-without-mailto"],  # random keys, stable ids (pytest-xdist)
)
def test_settings_refuse_a_malformed_key_or_no_contact(
    tmp_path: Path, key: str, subject: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        Settings(
            demo=True,
            data_dir=tmp_path,
            vapid_private_key=key,  # type: ignore[arg-type]
            vapid_subject=subject,
        )


def test_a_loudspeaker_back_within_the_grace_is_not_announced(
    client: TestClient, push_service: FakePushService, push_settings: Settings, engine: Engine
) -> None:
    phone = FakeBrowser(push_service, "vanhanh.a")
    _subscribe(client, "vanhanh.a", phone)
    process = wire(engine, push_settings)
    now = utcnow()
    with process.sessions() as session, session.begin():
        session.execute(
            update(Device)
            .where(Device.uid.in_([IDS.a1, IDS.a2]))
            .values(online=True, offline_deadline_at=now - timedelta(seconds=1))
        )
    with process.sessions() as session, session.begin():
        assert sorted(sweep_offline(session, now=now)) == [IDS.a1, IDS.a2]
    announced = time.monotonic()
    with process.sessions() as session, session.begin():  # thôn 1 is back at once (an agent restart)
        write_events(session, events=[(IDS.a1, utcnow(), m.Status(sent_at=utcnow()))])
    _wait_sent(process.sessions, phone.endpoint)
    [push] = push_service.to(phone)
    assert phone.read(push)["title"] == "Cụm loa chợ Ba Tơ mất kết nối"  # only the one still away
    assert push.at - announced >= GRACE_S


def test_a_later_announcement_tells_of_a_loudspeaker_offline_again(
    push_service: FakePushService, push_settings: Settings, engine: Engine, world: None
) -> None:
    sessions = make_session_factory(engine)
    now = utcnow()
    with sessions() as session, session.begin():
        session.execute(
            update(Device).where(Device.uid == IDS.a1).values(online=False, online_changed_at=now)
        )
        device_id = session.scalar(select(Device.id).where(Device.uid == IDS.a1))
    config = vapid_config(push_settings)
    assert config is not None
    earlier = now - timedelta(seconds=30)
    assert triggers.devices_offline(sessions, [device_id], vapid=config, announced_at=earlier) == 0


def test_an_alarm_is_pushed_to_the_phones_of_its_area(
    client: TestClient, push_service: FakePushService, push_settings: Settings, engine: Engine
) -> None:
    """Health alarms (issue 18.3): the periodic alarm work wired beside a gateway raises the alarm and
    pushes it after the commit to the people whose areas hold the loudspeaker, once."""
    phones = {name: FakeBrowser(push_service, name) for name in ("vanhanh.a", "vanhanh.b")}
    for name, phone in phones.items():
        _subscribe(client, name, phone)
    process = wire(engine, push_settings)
    with process.sessions() as session, session.begin():
        session.execute(
            update(Device)
            .where(Device.uid == IDS.a1)
            .values(
                online=True, enrolled_at=utcnow(), data_used_today_bytes=950_000, data_budget_bytes=1_000_000
            )
        )
    (job,) = [p for p in process.periodic if p.what == "fleet health alarms"]
    job.work()
    _wait_sent(process.sessions, phones["vanhanh.a"].endpoint)
    [push] = push_service.to(phones["vanhanh.a"])
    notice = phones["vanhanh.a"].read(push)
    assert notice["title"] == "Cảnh báo cụm loa"
    assert notice["body"] == "Cụm loa thôn 1: Đã dùng trên 80 % dung lượng dữ liệu trong ngày."
    assert push_service.to(phones["vanhanh.b"]) == []
    job.work()  # raised once: nothing more is pushed
    assert len(push_service.to(phones["vanhanh.a"])) == 1

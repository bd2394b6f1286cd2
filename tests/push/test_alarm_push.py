"""Health alarms reach the phones (issue 18.3, Web Push): the process's periodic alarm work (as
``loa.wiring`` sets it up beside a gateway) raises the alarm and pushes it, after the commit, to the
people whose areas hold the loudspeaker — through a push service on 127.0.0.1, read by a browser."""

from __future__ import annotations

from sqlalchemy import Engine, update

from loa.db.base import utcnow
from loa.fleet.models import Device
from loa.settings import Settings
from loa.wiring import wire
from tests.fleet.world import IDS
from tests.push.test_push import (  # noqa: F401 (fixtures)
    _subscribe,
    _wait_sent,
    client,
    push_service,
    push_settings,
    vapid,
    world,
)
from tests.support.fakepush import FakeBrowser, FakePushService


def test_an_alarm_is_pushed_to_the_phones_of_its_area(
    client,
    push_service: FakePushService,
    push_settings: Settings,
    engine: Engine,  # noqa: F811
) -> None:
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

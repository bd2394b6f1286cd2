"""Fleet health on the server (issue 18.3), on SQLite and PostgreSQL: statuses fill the device row and a
downsampled history; alarms are raised once and cleared when their condition ends, each change
audited; the changes are e-mailed to a real SMTP server and POSTed to a real webhook; the device page
charts the history and the dashboard lists the open alarms in Vietnamese."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.fleet import alarm_notices, health
from loa.fleet.ingest import write_events
from loa.fleet.models import Device, DeviceAlarm, HealthSample
from loa.protocol import messages as m
from tests.fleet.world import IDS, device
from tests.support.auth import login_web as login

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
RULES = health.AlarmRules(offline_after=timedelta(hours=1))


def status(
    at: datetime,
    *,
    used: int = 100_000,
    budget: int | None = 1_000_000,
    free: int = 5_000_000_000,
    total: int = 8_000_000_000,
    output: str = "ok",
    signal: float = -75.0,
) -> m.Status:
    return m.Status(
        sent_at=at,
        uptime_s=3600,
        storage_free_bytes=free,
        storage_total_bytes=total,
        temperature_c=51.5,
        network=m.NetworkInfo(kind="4g", interface="wwan0", signal_dbm=signal, operator="Viettel"),
        data_used_today_bytes=used,
        data_used_month_bytes=used * 10,
        data_budget_bytes=budget,
        output_state=output,
        agent_version="0.1.0",
    )


def enrol_all(engine: Engine) -> None:
    with make_session_factory(engine)() as s, s.begin():
        for row in s.scalars(select(Device)):
            row.enrolled_at = T0 - timedelta(days=1)


def ingest(engine: Engine, events: list[tuple[str, datetime, m.DeviceMessage]]) -> None:
    with make_session_factory(engine)() as s, s.begin():
        write_events(s, events=events)


def evaluate(engine: Engine, now: datetime) -> list[health.AlarmChange]:
    with make_session_factory(engine)() as s, s.begin():
        return health.evaluate(s, now=now, rules=RULES)


def test_statuses_fill_the_device_and_a_downsampled_history(world_engine: Engine) -> None:
    enrol_all(world_engine)
    events: list[tuple[str, datetime, m.DeviceMessage]] = [
        (IDS.a1, T0 + timedelta(seconds=30 * i), status(T0 + timedelta(seconds=30 * i), used=1000 * i))
        for i in range(40)  # 20 minutes of 30-second heartbeats
    ]
    ingest(world_engine, events)
    factory = make_session_factory(world_engine)
    with factory() as s:
        row = device(s, IDS.a1)
        assert (row.operator, row.signal_dbm, row.output_state, row.agent_version) == (
            "Viettel",
            -75.0,
            "ok",
            "0.1.0",
        )
        assert (row.data_used_today_bytes, row.data_budget_bytes) == (39_000, 1_000_000)
        assert row.storage_total_bytes == 8_000_000_000 and row.uptime_s == 3600
        samples = health.history(s, device_id=row.id, since=T0 - timedelta(days=1))
        # One sample per five minutes: 0, 5, 10, 15 minutes.
        assert [x.at - T0 for x in samples] == [timedelta(minutes=k) for k in (0, 5, 10, 15)]
        assert samples[1].data_used_today_bytes == 10_000 and samples[0].output_ok is True
    with factory() as s, s.begin():
        removed = health.prune(s, now=T0 + timedelta(days=14, minutes=7), keep_days=14)
    assert removed == 2
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(HealthSample)) == 2


def test_alarms_are_raised_once_and_cleared_when_the_condition_ends(world_engine: Engine) -> None:
    enrol_all(world_engine)
    factory = make_session_factory(world_engine)
    ingest(
        world_engine,
        [
            (IDS.a1, T0, status(T0, used=850_000)),  # 85 % of the day's data
            (IDS.a2, T0, status(T0, free=300_000_000, output="failing")),  # < 10 % free, no sound
            (IDS.b1, T0 - timedelta(hours=3), status(T0 - timedelta(hours=3))),
            (IDS.b1, T0 - timedelta(hours=2), m.Lwt()),  # offline for two hours by T0
        ],
    )
    changes = evaluate(world_engine, T0)
    raised = sorted((c.device_name, c.kind) for c in changes if c.raised)
    assert raised == [
        ("Cụm loa UBND xã Ba Vì", "offline"),
        ("Cụm loa chợ Ba Tơ", "disk_full"),
        ("Cụm loa chợ Ba Tơ", "output_failing"),
        ("Cụm loa thôn 1", "data_budget"),
    ]
    assert "Cụm loa thôn 1: Đã dùng trên 80 % dung lượng dữ liệu trong ngày" in [c.text for c in changes]
    assert evaluate(world_engine, T0 + timedelta(minutes=1)) == []  # raised once, not every minute
    # The conditions end: the data counter rolled over, the output plays again, b1 is back.
    later = T0 + timedelta(minutes=2)
    ingest(
        world_engine,
        [
            (IDS.a1, later, status(later, used=1_000)),
            (IDS.a2, later, status(later, free=300_000_000)),
            (IDS.b1, later, status(later)),
        ],
    )
    cleared = evaluate(world_engine, later)
    assert sorted((c.device_name, c.kind) for c in cleared if not c.raised) == [
        ("Cụm loa UBND xã Ba Vì", "offline"),
        ("Cụm loa chợ Ba Tơ", "output_failing"),
        ("Cụm loa thôn 1", "data_budget"),
    ]
    assert not any(c.raised for c in cleared)
    with factory() as s:
        still = [(d.uid, a.kind) for a, d, _ in health.open_alarms(s)]
        assert still == [(IDS.a2, "disk_full")]
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("device.alarm_%"))
                .order_by(AuditEvent.id)
            )
        )
        assert actions.count("device.alarm_raised") == 4 and actions.count("device.alarm_cleared") == 3
        assert s.scalar(select(func.count()).select_from(DeviceAlarm)) == 4
    # A loudspeaker taken out of service leaves no alarm open.
    with factory() as s, s.begin():
        device(s, IDS.a2).active = False
    evaluate(world_engine, later + timedelta(minutes=1))
    with factory() as s:
        assert health.open_alarms(s) == []


# --- notices: a real SMTP server and a real webhook on 127.0.0.1 ------------------------------------


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for ``smtplib``: EHLO, MAIL, RCPT, DATA, QUIT."""

    received: ClassVar[list[tuple[str, list[str], bytes]]] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 loa-test ESMTP")
        sender, rcpts = "", list[str]()
        while line := self.rfile.readline():
            verb = line.decode().strip()
            upper = verb.upper()
            if upper.startswith(("EHLO", "HELO")):
                self.reply("250 loa-test")
            elif upper.startswith("MAIL FROM:"):
                sender, rcpts = verb[10:].strip("<> "), []
                self.reply("250 OK")
            elif upper.startswith("RCPT TO:"):
                rcpts.append(verb[8:].strip("<> "))
                self.reply("250 OK")
            elif upper == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                type(self).received.append((sender, rcpts, data))
                self.reply("250 OK queued")
            elif upper == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[tuple[str, list[str], bytes]]]]:
    _Smtp.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], _Smtp.received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict[str, object]]]]:
    posted: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            posted.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/loa", posted
    finally:
        server.shutdown()
        server.server_close()


def test_alarm_changes_are_emailed_and_posted_to_the_webhook() -> None:
    changes = [
        health.AlarmChange(1, "Cụm loa thôn 1", "/51/21484/", "data_budget", True, T0),
        health.AlarmChange(2, "Cụm loa chợ Ba Tơ", "/51/21484/", "output_failing", False, T0),
    ]
    with smtp_server() as (port, mails), webhook_server() as (url, posted):
        failed = alarm_notices.notify(
            changes,
            smtp_host="127.0.0.1",
            smtp_port=port,
            sender="loa@ubnd.example.vn",
            to=["truc@ubnd.example.vn", "kythuat@ubnd.example.vn"],
            webhook_url=url,
        )
    assert failed == []
    ((sender, rcpts, data),) = mails
    assert sender == "loa@ubnd.example.vn" and rcpts == ["truc@ubnd.example.vn", "kythuat@ubnd.example.vn"]
    mail = message_from_bytes(data)
    assert (
        str(make_header(decode_header(mail["Subject"]))) == "[Loa] Cụm loa: 1 cảnh báo mới, 1 cảnh báo đã hết"
    )
    text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "07/12/2026 08:00:00 — Cụm loa thôn 1: Đã dùng trên 80 % dung lượng dữ liệu trong ngày" in text
    assert "Cụm loa chợ Ba Tơ: Đầu ra âm thanh hoạt động lại" in text
    ((payload,),) = [posted]
    alarms = payload["alarms"]
    assert isinstance(alarms, list)
    assert [(a["device"], a["kind"], a["state"]) for a in alarms] == [
        ("Cụm loa thôn 1", "data_budget", "raised"),
        ("Cụm loa chợ Ba Tơ", "output_failing", "cleared"),
    ]


def test_an_unreachable_channel_is_reported_and_does_not_stop_the_others() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    changes = [health.AlarmChange(1, "Cụm loa thôn 1", "/51/21484/", "disk_full", True, T0)]
    with webhook_server() as (url, posted):
        failed = alarm_notices.notify(
            changes, smtp_host="127.0.0.1", smtp_port=dead, sender="a@b", to=["c@d"], webhook_url=url
        )
    assert failed == ["email"] and len(posted) == 1


def test_the_device_page_charts_the_history_and_the_dashboard_lists_alarms(
    web: TestClient, world_engine: Engine
) -> None:
    enrol_all(world_engine)
    now = datetime.now(UTC)
    ingest(
        world_engine,
        [
            (
                IDS.a1,
                now - timedelta(minutes=5 * k),
                status(now - timedelta(minutes=5 * k), signal=-70.0 - k, used=900_000),
            )
            for k in range(6, -1, -1)
        ],
    )
    evaluate(world_engine, now)
    login(web, "vanhanh.a")
    page = web.get(f"/fleet/devices/{IDS.a1}")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and "Cường độ sóng 4G" in html and "Viettel" in html
    assert html.count("<polyline") >= 3
    assert "Đã dùng trên 80 % dung lượng dữ liệu trong ngày" in html
    dashboard = web.get("/")
    assert "Cảnh báo cụm loa" in dashboard.text
    assert (
        "Cụm loa thôn 1" in dashboard.text
        and "Đã dùng trên 80 % dung lượng dữ liệu trong ngày" in dashboard.text
    )
    # Another commune's operator does not see it.
    login(web, "vanhanh.b")
    assert "Đã dùng trên 80 % dung lượng dữ liệu trong ngày" not in web.get("/").text

"""The fleet dashboard: scoped table by commune with live cells, map, play now / stop / volume (each
audited), enrolment with code + QR, device page with uptime and paginated proof of play."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import segno
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.fleet.models import (
    Device,
    DeviceCommand,
    DeviceStatusLog,
    PlayReceipt,
    ReceiptOutcome,
    StatusEvent,
)
from loa.fleet.qr import enrol_qr
from loa.protocol import itemids
from tests.fleet.world import IDS, SHA, add_asset, commands, device
from tests.support.auth import login_web


def actions(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as s:
        return sorted(s.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("device."))))


def test_fleet_page_is_scoped_grouped_and_polls_live_cells(web: TestClient, world_engine: Engine) -> None:
    login_web(web, "vanhanh.a")
    page = web.get("/fleet")
    assert page.status_code == 200
    html = page.text
    assert "Cụm loa thôn 1" in html and "Cụm loa chợ Ba Tơ" in html
    assert "Ba Vì" not in html  # another commune's device is invisible
    assert 'hx-get="/fleet/live"' in html and 'hx-trigger="every 5s"' in html
    assert html.count("<circle") == 2  # both devices of Ba Tơ have coordinates
    assert "Mất kết nối: 0" in html and "Chưa đăng ký: 2" in html
    # Make one device online and playing; the live fragment carries out-of-band cells for it.
    now = datetime.now(UTC)
    with make_session_factory(world_engine)() as s, s.begin():
        d = device(s, IDS.a1)
        d.online, d.online_changed_at, d.enrolled_at = True, now - timedelta(minutes=3), now
        d.current_title, d.current_priority, d.volume = "Bản tin sáng", 300, 65
    live = web.get("/fleet/live", headers={"HX-Request": "true"})
    assert live.status_code == 200
    assert f'id="state-{IDS.a1}" hx-swap-oob="true"' in live.text
    assert "Trực tuyến" in live.text and "Bản tin sáng" in live.text and "Thông thường" in live.text
    assert IDS.b1 not in live.text


def test_other_communes_device_page_is_not_found_like_a_missing_one(web: TestClient) -> None:
    login_web(web, "vanhanh.a")
    response = web.get(f"/fleet/devices/{IDS.b1}")
    assert response.status_code == 404
    assert f"Không tìm thấy cụm loa {IDS.b1}." in response.text
    assert web.get("/fleet/devices/loa-ffffffffffff").status_code == 404


def confirmed(web: TestClient, form: dict[str, object]) -> Response:
    """Post a command and, when the server asks (several loudspeakers, an emergency), confirm it."""
    first = web.post("/fleet/commands", data=form, follow_redirects=False)
    found = re.search(r'name="confirm_token" value="([^"]+)"', first.text)
    if first.status_code != 200 or found is None:
        return first
    return web.post("/fleet/commands", data={**form, "confirm_token": found[1]}, follow_redirects=False)


def test_play_now_and_stop_to_a_selection_are_sent_and_audited(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.a")
    page = web.get("/fleet").text
    assert "thong-bao-tiem-chung.mp3 (1:05)" in page
    form = {"csrf_token": token, "action": "play_now", "audio_sha256": SHA, "device_ids": [IDS.a1, IDS.a2]}
    asked = web.post("/fleet/commands", data=form, follow_redirects=False)  # two: the server asks first
    assert asked.status_code == 200 and "Phát ngay tới 2 cụm loa đã chọn?" in asked.text
    assert commands(world_engine) == []
    forged = web.post("/fleet/commands", data={**form, "confirm_token": "1.abc"}, follow_redirects=False)
    assert forged.status_code == 200 and commands(world_engine) == []
    response = confirmed(web, form)
    assert response.status_code == 303
    assert "Đã gửi lệnh «Phát ngay» tới 2 cụm loa." in web.get("/fleet").text
    sent = commands(world_engine)
    assert [(uid, kind) for uid, kind, _ in sent] == [(IDS.a1, "play_now"), (IDS.a2, "play_now")]
    assert all(args["priority"] == 500 and args["audio_sha256"] == SHA for _, _, args in sent)
    assert sent[0][2]["title"] == "thong-bao-tiem-chung.mp3"
    confirmed(web, {**form, "emergency": "1", "device_ids": [IDS.a1]})
    web.post("/fleet/commands", data={"csrf_token": token, "action": "stop", "device_ids": [IDS.a2]})
    sent = commands(world_engine)
    assert sorted(args.get("priority", 0) for _, k, args in sent if k == "play_now") == [500, 500, 900]
    assert [uid for uid, k, _ in sent if k == "stop"] == [IDS.a2]
    assert actions(world_engine) == ["device.play_now", "device.play_now", "device.stop"]


def test_an_emergency_repeated_until_stopped(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.a")
    form = {"csrf_token": token, "action": "play_now", "audio_sha256": SHA, "device_ids": [IDS.a1]}
    assert "Phát lặp lại cho đến khi bấm «Dừng phát»" in web.get("/fleet").text
    bad = web.post("/fleet/commands", data={**form, "repeat": "1", "repeat_gap_s": "mười"})
    assert bad.status_code == 422 and "Số giây nghỉ giữa hai lần phát phải là số nguyên." in bad.text
    too_long = web.post("/fleet/commands", data={**form, "repeat": "1", "repeat_gap_s": "7200"})
    assert too_long.status_code == 422 and "từ 0 đến 3600" in too_long.text
    assert commands(world_engine) == []
    confirmed(web, {**form, "emergency": "1", "repeat": "1", "repeat_gap_s": "20"})
    web.post("/fleet/commands", data={**form, "device_ids": [IDS.a2]})  # once: no repetition
    sent = {uid: args for uid, _, args in commands(world_engine)}
    assert sent[IDS.a1]["repeat_gap_s"] == 20 and sent[IDS.a1]["priority"] == 900
    assert "repeat_gap_s" not in sent[IDS.a2]


def test_bad_commands_are_refused_in_vietnamese_and_change_nothing(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.a")
    base = {"csrf_token": token, "action": "play_now"}
    no_audio = web.post("/fleet/commands", data={**base, "device_ids": [IDS.a1]})
    assert no_audio.status_code == 422 and "Chưa chọn tệp âm thanh" in no_audio.text
    no_devices = web.post("/fleet/commands", data={**base, "audio_sha256": SHA})
    assert no_devices.status_code == 422 and "Chưa chọn cụm loa nào." in no_devices.text
    other = web.post("/fleet/commands", data={**base, "audio_sha256": SHA, "device_ids": [IDS.b1]})
    assert other.status_code == 404 and f"Không tìm thấy cụm loa: {IDS.b1}." in other.text
    forged = web.post("/fleet/commands", data={**base, "csrf_token": "x", "device_ids": [IDS.a1]})
    assert forged.status_code == 403
    volume = web.post(
        f"/fleet/devices/{IDS.a1}/volume",
        data={"level": "to lắm"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert volume.status_code == 422 and "Âm lượng phải là số từ 0 đến 100." in volume.text
    assert commands(world_engine) == [] and actions(world_engine) == []


def test_viewer_sees_but_cannot_command(web: TestClient, world_engine: Engine) -> None:
    token = login_web(web, "xem.a")
    page = web.get("/fleet").text
    assert "Cụm loa thôn 1" in page and "Phát ngay" not in page and 'name="level"' not in page
    response = web.post(
        f"/fleet/devices/{IDS.a1}/volume", data={"csrf_token": token, "level": "50"}, follow_redirects=False
    )
    assert response.status_code == 403 and "không có quyền" in response.text
    assert commands(world_engine) == []


def test_volume_slider_sends_a_command(web: TestClient, world_engine: Engine) -> None:
    token = login_web(web, "vanhanh.a")
    response = web.post(
        f"/fleet/devices/{IDS.a2}/volume",
        data={"level": "40"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 200 and "Đã gửi lệnh đặt âm lượng 40." in response.text
    assert commands(world_engine) == [(IDS.a2, "volume", {"level": 40})]
    assert actions(world_engine) == ["device.volume"]


def test_adding_a_device_shows_its_code_once_with_a_qr(web: TestClient, world_engine: Engine) -> None:
    token = login_web(web, "vanhanh.a")
    form = {
        "csrf_token": token,
        "name": "Cụm loa thôn 3",
        "commune_code": "21484",
        "village": "Thôn 3",
        "latitude": "14,78",
        "longitude": "108.70",
    }
    response = web.post("/fleet/devices", data=form)
    assert response.status_code == 200, response.text
    code = re.search(r'data-testid="enrol-code">([A-Z0-9-]+)<', response.text)
    assert code is not None
    svg_text = re.search(r'data-testid="enrol-qr">(<svg.*?</svg>)', response.text, re.S)
    assert svg_text is not None
    svg = ET.fromstring(svg_text.group(1))  # well-formed XML
    assert svg.tag.endswith("svg")
    drawn = [el.get("d") for el in svg.iter() if el.tag.endswith("path")]
    expected = ET.fromstring(enrol_qr(code.group(1)).svg_inline(scale=6))
    assert drawn == [el.get("d") for el in expected.iter() if el.tag.endswith("path")]
    assert drawn != [
        el.get("d")
        for el in ET.fromstring(enrol_qr("AAAAA-AAAAA").svg_inline(scale=6)).iter()
        if el.tag.endswith("path")
    ]
    qr = enrol_qr(code.group(1))
    assert not qr.is_micro and qr.mode == "alphanumeric" and qr.error in {"M", "Q", "H"}  # M or boosted
    assert segno.make(code.group(1), error="m", micro=False).matrix == qr.matrix
    with make_session_factory(world_engine)() as s:
        new = s.scalar(select(Device).where(Device.name == "Cụm loa thôn 3"))
        assert new is not None and new.latitude == 14.78 and new.enrol_code_sha256 is not None
    assert actions(world_engine) == ["device.create"]
    # Into another commune: refused; bad coordinates: refused; both in Vietnamese.
    refused = web.post("/fleet/devices", data={**form, "commune_code": "21490"})
    assert refused.status_code == 403 and "nằm ngoài phạm vi quản lý" in refused.text
    bad = web.post("/fleet/devices", data={**form, "latitude": "bắc"})
    assert bad.status_code == 422 and "Vĩ độ phải là số thập phân" in bad.text


def test_device_page_shows_uptime_and_paginated_receipts(web: TestClient, world_engine: Engine) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with make_session_factory(world_engine)() as s, s.begin():
        d = device(s, IDS.a1)
        # Online 2 days ago, offline 6 h ago, back 3 h ago: 21 of the last 24 h online.
        for at, event in (
            (now - timedelta(days=2), StatusEvent.ONLINE),
            (now - timedelta(hours=6), StatusEvent.OFFLINE),
            (now - timedelta(hours=3), StatusEvent.ONLINE),
        ):
            s.add(DeviceStatusLog(device_id=d.id, at=at, event=event))
        d.online = True
        for i in range(60):
            started = now - timedelta(days=i % 3, minutes=i)
            s.add(
                PlayReceipt(
                    device_id=d.id,
                    receipt_id=f"r{i}",
                    seq=i,
                    item_id=f"tin-{i}",
                    audio_sha256=SHA,
                    started_at=started,
                    ended_at=started + timedelta(minutes=1),
                    outcome=ReceiptOutcome.PREEMPTED if i == 0 else ReceiptOutcome.PLAYED,
                    detail="by:canh-bao-lu" if i == 0 else None,
                )
            )
    login_web(web, "vanhanh.a")
    page = web.get(f"/fleet/devices/{IDS.a1}")
    assert page.status_code == 200
    uptime = re.search(r'data-testid="uptime">.*?</table>', page.text, re.S)
    assert uptime is not None
    assert "24 giờ qua</td><td>87,5 %" in uptime.group(0)  # 21 / 24
    assert "7 ngày qua</td><td>93,8 %" in uptime.group(0)  # 45 / 48 (observed since 2 days ago)
    assert "Trang 1/2 · 60 biên nhận" in page.text
    assert "nhường cho nội dung không rõ tên" in page.text  # an id naming nothing known is never shown
    assert "tin-0" not in page.text
    second = web.get(f"/fleet/devices/{IDS.a1}", params={"page": 2})
    assert second.text.count("Đã phát trọn vẹn") == 10
    today = (now + timedelta(hours=7)).date().isoformat()  # Vietnam's calendar day
    filtered = web.get(f"/fleet/devices/{IDS.a1}", params={"since": today, "until": today})
    assert "Trang 1/1 · " in filtered.text
    count = int(re.search(r"Trang 1/1 · (\d+) biên nhận", filtered.text).group(1))  # type: ignore[union-attr]
    assert 0 < count < 60
    bad = web.get(f"/fleet/devices/{IDS.a1}", params={"since": "2025-13-40"})
    assert bad.status_code == 422 and "Từ ngày không hợp lệ" in bad.text
    reversed_range = web.get(f"/fleet/devices/{IDS.a1}", params={"since": today, "until": "2020-01-01"})
    assert reversed_range.status_code == 422 and "Ngày kết thúc phải sau ngày bắt đầu." in reversed_range.text
    live = web.get(f"/fleet/devices/{IDS.a1}/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "Trực tuyến" in live.text


def test_receipts_commands_and_playing_read_as_titles(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)
    token = login_web(web, "vanhanh.a")
    form = {"csrf_token": token, "action": "play_now", "audio_sha256": SHA, "device_ids": [IDS.a1]}
    assert web.post("/fleet/commands", data=form, follow_redirects=False).status_code == 303
    now = datetime.now(UTC).replace(microsecond=0)
    with make_session_factory(world_engine)() as s, s.begin():
        d = device(s, IDS.a1)
        command_id = s.scalars(select(DeviceCommand.id).where(DeviceCommand.device_id == d.id)).one()
        played = itemids.command_item(command_id)  # what the loudspeaker names a "play now" by
        scheduled = itemids.programme_item("424242", now, "7")  # a programme this database does not hold
        d.online, d.enrolled_at = True, now
        d.current_item_id, d.current_title = itemids.round_item(played, 2), None
        for i, (item, detail) in enumerate(((played, None), (scheduled, f"by:{played}"))):
            s.add(
                PlayReceipt(
                    device_id=d.id,
                    receipt_id=f"t{i}",
                    seq=i,
                    item_id=item,
                    audio_sha256=SHA,
                    started_at=now - timedelta(minutes=10 - i),
                    ended_at=now - timedelta(minutes=9 - i),
                    outcome=ReceiptOutcome.PREEMPTED if detail else ReceiptOutcome.PLAYED,
                    detail=detail,
                )
            )
    page = web.get(f"/fleet/devices/{IDS.a1}")
    receipts = re.search(r'data-testid="receipts">.*?</table>', page.text, re.S)
    assert receipts is not None
    assert "<td>thong-bao-tiem-chung.mp3</td>" in receipts.group(0)
    assert "<td>Nội dung chương trình theo lịch</td>" in receipts.group(0)
    assert "nhường cho «thong-bao-tiem-chung.mp3»" in receipts.group(0)
    assert "Phát ngay «thong-bao-tiem-chung.mp3»" in page.text  # the list of commands sent
    assert "▶ thong-bao-tiem-chung.mp3 (lần 2)" in page.text
    assert SHA[:12] not in receipts.group(0)  # nor the audio's hash
    for shown in (page.text, web.get("/fleet").text, web.get("/fleet/live").text):
        assert played not in shown and scheduled not in shown
    assert "▶ thong-bao-tiem-chung.mp3 (lần 2)" in web.get("/fleet/live").text
    assert "▶ thong-bao-tiem-chung.mp3 (lần 2)" in web.get(f"/fleet/devices/{IDS.a1}/live").text


def test_fleet_menu_item_is_live(web: TestClient) -> None:
    login_web(web, "xem.a")
    assert '<a href="/fleet"' in web.get("/").text


def test_the_device_page_shows_what_the_loudspeaker_refused(web: TestClient, world_engine: Engine) -> None:
    """Issue 21.1: a loudspeaker reports the messages it refused (and any it failed to handle); the
    technician sees them on its page, in words."""
    from loa.db.base import utcnow
    from loa.fleet.ingest import write_events
    from loa.protocol import messages as m

    login_web(web, "vanhanh.a")
    assert "tin nhắn không hợp lệ" not in web.get(f"/fleet/devices/{IDS.a1}/live").text
    status = m.Status(sent_at=m.now_utc(), messages_refused=1234, message_errors=2)
    with make_session_factory(world_engine)() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), status)])
    live = web.get(f"/fleet/devices/{IDS.a1}/live").text
    assert "1.234 tin nhắn không hợp lệ đã bị bỏ qua" in live
    assert "2 tin nhắn xử lý lỗi" in live


def test_the_device_page_says_when_the_output_switch_fails(web: TestClient, world_engine: Engine) -> None:
    """Issue 14.4: the agent's amplifier or transmitter switch failed; the page says so in words (not
    the command's output), and stops saying it once a status says it works again."""
    from loa.db.base import utcnow
    from loa.fleet.ingest import write_events
    from loa.protocol import messages as m

    login_web(web, "vanhanh.a")
    failing = m.Status(sent_at=m.now_utc(), output_switch_error="on: /usr/local/bin/amp exited with 3")
    with make_session_factory(world_engine)() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), failing)])
    live = web.get(f"/fleet/devices/{IDS.a1}/live").text
    assert "Không bật hoặc tắt được ampli" in live and "exited" not in live
    with make_session_factory(world_engine)() as s, s.begin():
        write_events(s, events=[(IDS.a1, utcnow(), m.Status(sent_at=m.now_utc()))])
    assert "Không bật hoặc tắt được ampli" not in web.get(f"/fleet/devices/{IDS.a1}/live").text

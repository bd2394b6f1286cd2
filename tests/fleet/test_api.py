"""Operator API of the fleet: listing, enrolment codes and commands, scoped by area, with Vietnamese
problem+json for every kind of bad input; every command lands in the outbox and the audit log."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import credentials, queries, service
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch
from tests.fleet.world import IDS, add_asset
from tests.support.auth import bearer

SHA = "ab" * 32


def commands_of(engine: Engine, uid: str) -> list[DeviceCommand]:
    with make_session_factory(engine)() as s:
        return list(
            s.scalars(
                select(DeviceCommand)
                .join(Device, Device.id == DeviceCommand.device_id)
                .where(Device.uid == uid)
                .order_by(DeviceCommand.issued_at)
            )
        )


def audit_events(engine: Engine, prefix: str = "device.") -> list[AuditEvent]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix))))


def test_list_is_scoped_to_the_callers_area(web: TestClient) -> None:
    admin = web.get("/api/v1/devices", headers=bearer(web, "quantri")).json()
    assert {d["device_id"] for d in admin} == {IDS.a1, IDS.a2, IDS.b1}
    operator_a = web.get("/api/v1/devices", headers=bearer(web, "vanhanh.a")).json()
    assert {d["device_id"] for d in operator_a} == {IDS.a1, IDS.a2}
    assert {d["commune"] for d in operator_a} == {"Ba Tơ"}
    province = web.get("/api/v1/devices", headers=bearer(web, "tinh")).json()
    assert len(province) == 3
    found = web.get("/api/v1/devices", params={"q": "chợ"}, headers=bearer(web, "quantri")).json()
    assert [d["device_id"] for d in found] == [IDS.a2]
    anonymous = web.get("/api/v1/devices")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


def test_enrol_code_is_scoped_audited_and_works_once(web: TestClient, world_engine: Engine) -> None:
    headers = bearer(web, "vanhanh.a")
    response = web.post(f"/api/v1/devices/{IDS.a1}/enrol-code", headers=headers)
    assert response.status_code == 200, response.text
    code = response.json()["code"]
    assert credentials.normalise_enrol_code(code) == code and len(code) == 11
    # Another commune's device: not found, like one that does not exist (and no code).
    other = web.post(f"/api/v1/devices/{IDS.b1}/enrol-code", headers=headers)
    assert other.status_code == 404
    assert other.json()["code"] == "device_not_found" and "Không tìm thấy cụm loa" in other.json()["title"]
    # A viewer may not issue codes at all; a device that does not exist is a 404.
    assert web.post(f"/api/v1/devices/{IDS.a1}/enrol-code", headers=bearer(web, "xem.a")).status_code == 403
    missing = web.post("/api/v1/devices/loa-ffffffffffff/enrol-code", headers=headers)
    assert missing.status_code == 404 and "Không tìm thấy" in missing.json()["title"]
    events = audit_events(world_engine, "device.enrol_code")
    assert [(e.action, e.target_id, e.actor_name) for e in events] == [
        ("device.enrol_code", IDS.a1, "vanhanh.a")
    ]
    enrolled = web.post("/api/v1/devices/enrol", json={"code": code.lower().replace("-", "")})
    assert enrolled.status_code == 200 and enrolled.json()["device_id"] == IDS.a1
    again = web.post("/api/v1/devices/enrol", json={"code": code})
    assert again.status_code == 401 and "đã được sử dụng" in again.json()["title"]


def test_play_now_defaults_to_the_priority_bulletin_rung_and_is_audited(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine, SHA)
    response = web.post(
        "/api/v1/devices/commands",
        json={"device_ids": [IDS.a1, IDS.a2], "kind": "play_now", "args": {"audio_sha256": SHA}},
        headers=bearer(web, "vanhanh.a"),
    )
    assert response.status_code == 202, response.text
    assert len(response.json()["command_ids"]) == 2
    # Two devices: one group message, one batch row; each device's row is written on publishing.
    assert commands_of(world_engine, IDS.a1) == []
    with make_session_factory(world_engine)() as s, s.begin():
        (batch,) = s.scalars(select(DeviceCommandBatch)).all()
        assert batch.sent_at is None and batch.issued_by == "vanhanh.a"
        device = s.scalars(select(Device).where(Device.uid == IDS.a1)).one()
        (waiting,) = queries.recent_commands(s, device=device)  # the device page shows it waiting
        assert waiting.id == batch.id and waiting.sent_at is None and waiting.kind == "play_now"
        service.materialise_batch(s, batch=batch, sent_at=utcnow())
    payload = json.loads(batch.payload)
    assert payload["kind"] == "play_now" and payload["args"]["priority"] == 500
    assert payload["id"] == batch.id
    assert all(i.startswith(batch.id + ".") for i in response.json()["command_ids"])
    (row,) = commands_of(world_engine, IDS.a1)
    assert row.id == f"{batch.id}.{device.id}" and row.batch_id == batch.id and row.payload == ""
    assert row.issued_by == "vanhanh.a" and row.sent_at is not None and row.result is None
    (event,) = audit_events(world_engine)
    assert event.action == "device.play_now"
    assert event.details["devices"] == sorted([IDS.a1, IDS.a2]) and event.details["args"]["priority"] == 500
    # An emergency is explicit.
    web.post(
        "/api/v1/devices/commands",
        json={"device_ids": [IDS.a1], "kind": "play_now", "args": {"audio_sha256": SHA, "priority": 900}},
        headers=bearer(web, "vanhanh.a"),
    )
    assert json.loads(commands_of(world_engine, IDS.a1)[-1].payload)["args"]["priority"] == 900


def test_commands_refuse_bad_input_in_vietnamese(web: TestClient, world_engine: Engine) -> None:
    headers = bearer(web, "vanhanh.a")

    def send(body: object) -> tuple[int, dict[str, object]]:
        response = web.post("/api/v1/devices/commands", json=body, headers=headers)
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        return response.status_code, response.json()

    status, body = send({"device_ids": [IDS.a1], "kind": "self_destruct"})
    assert status == 422 and body["title"] == "Lệnh không được hỗ trợ."
    status, body = send({"device_ids": [IDS.a1], "kind": "volume", "args": {"level": 150}})
    assert status == 422 and body["title"] == "Tham số của lệnh không hợp lệ."
    status, body = send({"device_ids": [IDS.a1], "kind": "play_now", "args": {"audio_sha256": "xyz"}})
    assert status == 422 and body["title"] == "Tham số của lệnh không hợp lệ."
    status, body = send({"device_ids": [], "kind": "stop"})
    assert status == 422 and body["title"] == "Dữ liệu không hợp lệ."
    status, body = send({"device_ids": [IDS.a1], "kind": "stop", "ttl_s": 1})
    assert status == 422 and body["details"] == [{"field": "ttl_s", "message": "Giá trị quá nhỏ"}]
    status, body = send({"device_ids": [IDS.a1, IDS.b1], "kind": "stop"})
    assert (
        status == 404
        and body["code"] == "device_not_found"
        and body["title"] == f"Không tìm thấy cụm loa: {IDS.b1}."
    )
    status, body = send({"device_ids": ["loa-ffffffffffff"], "kind": "stop"})
    assert status == 404 and "Không tìm thấy cụm loa" in str(body["title"])
    response = web.post(
        "/api/v1/devices/commands",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 422 and response.json()["title"] == "Nội dung JSON không hợp lệ."
    # A viewer may not broadcast.
    response = web.post(
        "/api/v1/devices/commands",
        json={"device_ids": [IDS.a1], "kind": "stop"},
        headers=bearer(web, "xem.a"),
    )
    assert response.status_code == 403 and "không có quyền" in response.json()["title"]
    # Nothing of the refused requests reached the outbox or the audit log.
    assert commands_of(world_engine, IDS.a1) == [] and commands_of(world_engine, IDS.b1) == []
    assert audit_events(world_engine) == []


def test_device_audio_is_served_from_the_speech_store(web: TestClient, world_engine: Engine) -> None:
    from loa.speech.store import LocalAudioStore

    settings = web.app.state.settings  # type: ignore[attr-defined]
    stored = LocalAudioStore(settings.audio_dir).put(b"ID3 fake mp3 bytes for the test", "mp3")
    assert (settings.audio_dir / stored.key).is_file()  # ab/cd/<sha>.mp3: the store's own layout
    with make_session_factory(world_engine)() as s, s.begin():
        device = s.scalar(select(Device).where(Device.uid == IDS.a1))
        assert device is not None
        code = service.issue_enrol_code(s, device=device)
        secret = service.enrol(s, code=code).secret
    url = f"/api/v1/devices/{IDS.a1}/audio/{stored.sha256}"
    # Only audio the device was told to play (issue 20, point 8): here, a "play now" sent to it.
    assert web.get(url, auth=(IDS.a1, secret)).status_code == 404
    with make_session_factory(world_engine)() as s, s.begin():
        device = s.scalars(select(Device).where(Device.uid == IDS.a1)).one()
        service.issue_command(s, devices=[device], kind="play_now", args={"audio_sha256": stored.sha256})
    response = web.get(url, auth=(IDS.a1, secret))
    assert response.status_code == 200 and response.content == b"ID3 fake mp3 bytes for the test"
    partial = web.get(url, auth=(IDS.a1, secret), headers={"Range": "bytes=4-7"})
    assert partial.status_code == 206 and partial.content == b"fake"
    assert web.get(url, auth=(IDS.a1, "wrong")).status_code == 401
    missing = web.get(f"/api/v1/devices/{IDS.a1}/audio/{'0' * 64}", auth=(IDS.a1, secret))
    assert missing.status_code == 404 and missing.json()["code"] == "audio_not_found"

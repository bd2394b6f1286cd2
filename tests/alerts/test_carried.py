"""An alert is carried by the signed manifest of every loudspeaker it targets until it is stopped or
expires: its rounds are manifest items at the emergency rung with the ids of the "play now"
repetition; a loudspeaker enrolled during the alert gets them; stop and expiry recompile the manifests
without them and send the stop, whose answers the board shows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Principal
from loa.accounts.service import principal_for
from loa.alerts import board as boards
from loa.alerts import service as alerts
from loa.alerts.models import EmergencyAlert
from loa.fleet import service as fleet
from loa.fleet.models import (
    Device,
    DeviceCommand,
    DeviceCommandBatch,
    DeviceManifest,
    PlayReceipt,
    ReceiptOutcome,
)
from loa.protocol import itemids
from loa.protocol import manifest as mf
from loa.schedule.alertrounds import round_starts
from tests.fleet.harness import SAFETY_NET_S
from tests.fleet.world import COMMUNE_A, IDS, SHA, add_asset
from tests.support.auth import bearer, login_web

T0 = datetime(2026, 10, 1, 3, 0, tzinfo=UTC)
S = timedelta(seconds=1)


# --- the rounds' layout: a pure table ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_s", "end_s", "expected"),
    [
        (0, 100, [(1, 0), (2, 40), (3, 80)]),  # 30 s of audio + 10 s gap: a round every 40 s
        (35, 100, [(2, 40), (3, 80)]),  # round 1 is over at 30 s
        (25, 60, [(1, 0), (2, 40)]),  # round 1 still sounds at 25 s: a device joining hears its rest
        (3985, 4041, [(100, 3960), (101, 4000), (102, 4040)]),  # far into the alert: absolute numbers
        (50, 50, []),
    ],
)
def test_rounds_are_numbered_from_the_alert_start(
    start_s: int, end_s: int, expected: list[tuple[int, int]]
) -> None:
    got = round_starts(
        started_at=T0, period=40 * S, duration=30 * S, start_at=T0 + start_s * S, end_at=T0 + end_s * S
    )
    assert [(n, int((at - T0) / S)) for n, at in got] == expected


def test_rounds_are_capped() -> None:
    got = round_starts(started_at=T0, period=S, duration=S, start_at=T0, end_at=T0 + 3600 * S, max_rounds=7)
    assert [n for n, _ in got] == [1, 2, 3, 4, 5, 6, 7]


def test_alert_item_ids_name_the_alert_and_its_round() -> None:
    assert itemids.alert_round_item(12, 1) == "e.12" == itemids.alert_item(12)
    assert itemids.alert_round_item(12, 7) == "e.12.r7" == itemids.round_item("e.12", 7)
    assert itemids.parse("e.12.r7") == itemids.ItemRef(alert_id=12, round=7)
    assert itemids.parse("e.12").alert_id == 12 and itemids.parse("a.12").alert_id is None


# --- carried by the manifest --------------------------------------------------------------------------


def newest_manifest(session: Session, uid: str) -> mf.Manifest | None:
    body = session.scalar(
        select(DeviceManifest.body)
        .join(Device, Device.id == DeviceManifest.device_id)
        .where(Device.uid == uid)
        .order_by(DeviceManifest.version.desc())
        .limit(1)
    )
    return mf.decode_manifest(body) if body is not None else None


def alert_items(factory: sessionmaker[Session], uid: str, alert_id: int) -> list[mf.ManifestItem]:
    with factory() as s:
        manifest = newest_manifest(s, uid)
    items = manifest.items if manifest is not None else ()
    return [i for i in items if itemids.parse(i.id).alert_id == alert_id]


def eventually(check: Callable[[], bool], what: str) -> None:
    """Until ``check()`` holds: an alert's manifests are recompiled just after its commit, on the
    process's alert thread (the limit is a safety net against a hang, not a guess of the time)."""
    deadline = time.monotonic() + SAFETY_NET_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sessions_of(web: TestClient) -> sessionmaker[Session]:
    """The application's own session factory: its commits run the change handlers (recompilation)."""
    factory: sessionmaker[Session] = web.app.state.session_factory  # type: ignore[attr-defined]
    return factory


def start(web: TestClient, **extra: Any) -> int:
    headers = bearer(web, "vanhanh.a")
    body = {"commune_codes": [COMMUNE_A], "audio_sha256": SHA, "repeat_gap_s": 15, **extra}
    response = web.post("/api/v1/alerts", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def test_the_manifest_carries_the_alert_until_it_is_stopped(web: TestClient, world_engine: Engine) -> None:
    add_asset(world_engine)  # 65 s of audio
    factory = sessions_of(web)
    alert_id = start(web)
    for uid in (IDS.a1, IDS.a2):
        eventually(lambda uid=uid: bool(alert_items(factory, uid, alert_id)), f"{uid} carries the alert")  # type: ignore[misc]
        items = alert_items(factory, uid, alert_id)
        assert items, f"{uid} has no round of the alert in its manifest"
        assert items[0].id == f"e.{alert_id}" and items[1].id == f"e.{alert_id}.r2"
        assert all(i.priority == 900 and i.audio.sha256 == SHA for i in items)
        assert (items[1].start_at - items[0].start_at) == timedelta(seconds=65 + 15)
        assert 90 <= len(items) <= 91  # two hours ahead of the window (floored to the minute), every 80 s
    assert alert_items(factory, IDS.b1, alert_id) == []  # another commune
    # The command names the same first round: the device's own repetition and the manifest agree.
    with factory() as s:
        (batch,) = s.scalars(select(DeviceCommandBatch).where(DeviceCommandBatch.kind == "play_now"))
        assert json.loads(batch.payload)["args"]["item_id"] == f"e.{alert_id}"

    # A loudspeaker enrolled in the commune during the alert gets it from its first manifest.
    with factory() as s, s.begin():
        commune = s.scalar(select(Device.commune_id).where(Device.uid == IDS.a1))
        fleet.create_device(s, uid="loa-a00000000009", name="Cụm loa mới lắp", commune_id=commune)
    assert alert_items(factory, "loa-a00000000009", alert_id)

    headers = bearer(web, "vanhanh.a")
    stopped = web.post(f"/api/v1/alerts/{alert_id}/stop", headers=headers)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    for uid in (IDS.a1, IDS.a2, "loa-a00000000009"):
        eventually(lambda uid=uid: alert_items(factory, uid, alert_id) == [], f"{uid} without the alert")  # type: ignore[misc]
    with factory() as s:
        alert = s.get(EmergencyAlert, alert_id)
        assert alert is not None and alert.stop_batch_ids
        stop_batches = list(s.scalars(select(DeviceCommandBatch).where(DeviceCommandBatch.kind == "stop")))
        assert [b.id for b in stop_batches] == json.loads(alert.stop_batch_ids)
        addressed = sorted(uid for b in stop_batches for _, uid in s.execute(fleet.batch_members(s, batch=b)))
    assert addressed == [IDS.a1, IDS.a2, "loa-a00000000009"]  # the late one too, not the other commune


def test_chosen_loudspeakers_only_and_expiry_ends_the_alert_without_a_person(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine)
    factory = sessions_of(web)
    expires = datetime.now(UTC) + timedelta(minutes=10)
    with factory() as s, s.begin():
        alert = alerts.start_alert(
            s,
            principal=principal_of(s, "vanhanh.a"),
            commune_codes=[COMMUNE_A],
            audio_sha256=SHA,
            repeat_gap_s=5,
            hazard="flood",
            risk_level=3,
            expires_at=expires,
            device_uids=[IDS.a2],
            aired=alerts.aired_audio(web.app.state.settings),  # type: ignore[attr-defined]
        )
        alert_id = alert.id
    eventually(lambda: bool(alert_items(factory, IDS.a2, alert_id)), "the chosen one carries it")
    assert alert_items(factory, IDS.a1, alert_id) == []  # not chosen
    items = alert_items(factory, IDS.a2, alert_id)
    assert items and all(
        i.not_after_at == expires.replace(microsecond=expires.microsecond // 1000 * 1000) for i in items
    )
    assert items[-1].start_at < expires  # no round starts after the expiry

    with factory() as s, s.begin():
        assert alerts.expire_alerts(s, now=expires - timedelta(seconds=1)) == []
    with factory() as s, s.begin():
        (ended,) = alerts.expire_alerts(s, now=expires + timedelta(seconds=1))
        assert ended.id == alert_id
    eventually(lambda: alert_items(factory, IDS.a2, alert_id) == [], "the expired alert leaves the manifest")
    with factory() as s:
        expired = s.get(EmergencyAlert, alert_id)
        assert expired is not None and expired.status == "stopped" and expired.stopped_by == "hệ thống"
        (stop,) = s.scalars(select(DeviceCommand).where(DeviceCommand.kind == "stop"))
        assert json.loads(expired.stop_batch_ids or "[]") == [stop.id]
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "alert")))
    assert actions == ["alert.start", "alert.expire"]
    with factory() as s, s.begin():  # nothing left to expire
        assert alerts.expire_alerts(s, now=expires + timedelta(hours=1)) == []


# --- the acknowledgement board ------------------------------------------------------------------------


def test_the_board_says_who_received_played_or_is_silent_and_who_confirmed_the_stop(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine)
    factory = sessions_of(web)
    alert_id = start(web)
    with factory() as s, s.begin():
        alert = s.get(EmergencyAlert, alert_id)
        assert alert is not None
        started = alert.started_at
        (batch,) = s.scalars(select(DeviceCommandBatch).where(DeviceCommandBatch.kind == "play_now"))
        fleet.materialise_batch(s, batch=batch, sent_at=batch.issued_at)
        a1 = s.scalar(select(Device).where(Device.uid == IDS.a1))
        a2 = s.scalar(select(Device).where(Device.uid == IDS.a2))
        assert a1 is not None and a2 is not None
        row = s.scalar(
            select(DeviceCommand).where(DeviceCommand.batch_id == batch.id, DeviceCommand.device_id == a1.id)
        )
        assert row is not None
        row.result, row.acked_at = "done", started + timedelta(seconds=2)
        # a2 never answered the command (it was away) but played round 3 from its manifest.
        s.add(
            PlayReceipt(
                device_id=a2.id,
                receipt_id="r-1",
                seq=1,
                item_id=f"e.{alert_id}.r3",
                audio_sha256=SHA,
                started_at=started + timedelta(seconds=160),
                ended_at=started + timedelta(seconds=225),
                outcome=ReceiptOutcome.PLAYED,
                received_at=started + timedelta(seconds=226),
            )
        )
        a2.last_seen_at = started + timedelta(seconds=226)
    login_web(web, "vanhanh.a")
    with factory() as s:
        board = boards.build_board(s, alerts.visible_alert(s, _admin(s), alert_id))
    states = {r.uid: r.state for r in board.rows}
    assert states == {IDS.a1: boards.DeviceState.RECEIVED, IDS.a2: boards.DeviceState.PLAYED}
    assert board.time_to_s == {50: 2.0, 90: 226.0, 99: 226.0}

    page = web.get(f"/alerts/{alert_id}").text
    assert 'hx-trigger="every 2s"' in page and "2/2" in page and "Đã phát" in page and "Đã nhận" in page
    fragment = web.get(f"/alerts/{alert_id}/board", headers={"HX-Request": "true"}).text
    assert "<body" not in fragment and "sau 226" in fragment and "sau 2 giây" not in fragment
    csv_text = web.get(f"/alerts/{alert_id}/board.csv").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Cụm loa,Xã,Tình trạng") and len(lines) == 3
    assert any(line.startswith("Cụm loa chợ Ba Tơ,Ba Tơ,Đã phát") for line in lines)

    web.post(f"/api/v1/alerts/{alert_id}/stop", headers=bearer(web, "vanhanh.a"))
    with factory() as s, s.begin():
        (stop,) = s.scalars(select(DeviceCommandBatch).where(DeviceCommandBatch.kind == "stop"))
        fleet.materialise_batch(s, batch=stop, sent_at=stop.issued_at)
        for r in s.scalars(select(DeviceCommand).where(DeviceCommand.batch_id == stop.id)):
            if r.device_id == a1.id:
                r.result, r.acked_at = "done", datetime.now(UTC)
    api = web.get(f"/api/v1/alerts/{alert_id}/board", headers=bearer(web, "xem.a")).json()
    assert api["stopped_confirmed"] == 1 and api["total"] == 2
    stops = {d["device_id"]: d["stop_result"] for d in api["devices"]}
    assert stops == {IDS.a1: "done", IDS.a2: None}
    assert "Chưa xác nhận dừng" in web.get(f"/alerts/{alert_id}/board").text
    # Another commune's operator sees nothing of it.
    other = web.get(f"/api/v1/alerts/{alert_id}/board", headers=bearer(web, "vanhanh.b"))
    assert other.status_code == 404


def _admin(s: Session) -> Principal:
    return principal_of(s, "quantri")


def principal_of(s: Session, username: str) -> Principal:
    user = s.scalars(select(User).where(User.username == username)).one()
    return principal_for(s, user)


def test_levels_show_in_their_colours_on_the_list_the_dashboard_and_the_fleet_page(
    web: TestClient, world_engine: Engine
) -> None:
    add_asset(world_engine)
    factory = sessions_of(web)
    with factory() as s, s.begin():
        alerts.start_alert(
            s,
            principal=principal_of(s, "vanhanh.a"),
            commune_codes=[COMMUNE_A],
            audio_sha256=SHA,
            hazard="flash_flood",
            risk_level=3,
            aired=alerts.aired_audio(web.app.state.settings),  # type: ignore[attr-defined]
        )
    login_web(web, "vanhanh.a")
    for path in ("/alerts", "/", "/alerts/active"):
        page = web.get(path).text
        assert "Lũ quét · Cấp độ 3" in page, path
        assert "background:#f39c34" in page, path  # orange, as the decision colours level 3
    assert 'hx-get="/alerts/active"' in web.get("/fleet").text
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(EmergencyAlert)) == 1

"""The alerts send form (issue 15, points 3–5), on a real database and real speech:

- targeting counts loudspeakers and people for a province, communes, villages, groups and a polygon
  (point in polygon on the server), and refuses another area's commune, village or group;
- the sender confirms on a second step: without a token bound to what was shown nothing is sent;
- a typed warning becomes audio (TTS, levelled, stored) and an alert with commands in one step, timed;
- the province's two-person rule: the same person, another role or a leader of another area cannot
  confirm; a leader of the alert's area can, and the alert then sounds."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent, User
from loa.accounts.principal import Principal, Role
from loa.accounts.service import principal_for
from loa.alerts import compose, confirm, targeting
from loa.alerts.models import AlertTiming, EmergencyAlert
from loa.alerts.service import AiredAudio, aired_audio
from loa.alerts.targeting import TargetChoice
from loa.db import make_session_factory
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.fleet import service as fleet
from loa.fleet.models import Device, DeviceGroup
from loa.speech.models import AudioAsset, JobStatus, SpeechJob
from loa.units.models import AdminUnit, UnitKind
from tests.fleet.harness import SAFETY_NET_S, wav_bytes
from tests.fleet.world import COMMUNE_A, COMMUNE_B, IDS, commands
from tests.support.auth import bearer, login_web, make_user

# Around loudspeaker a1 (14.772, 108.723) only, and around both of commune A.
AROUND_A1 = ((14.775, 108.720), (14.775, 108.726), (14.769, 108.726), (14.769, 108.720))
AROUND_A = ((14.78, 108.71), (14.78, 108.74), (14.76, 108.74), (14.76, 108.71))


def _extend_world(engine: Engine) -> None:
    """Villages with people in commune A (a1 stands in Thôn 1), a group of A, and leaders."""
    with make_session_factory(engine)() as s, s.begin():
        a = s.scalars(select(AdminUnit).where(AdminUnit.code == COMMUNE_A)).one()
        for code, name, people, lat, lon in (
            ("2148401", "Thôn 1", 1200, 14.772, 108.724),
            ("2148402", "Thôn Làng Trui", 800, 14.790, 108.760),
        ):
            s.add(
                AdminUnit(
                    code=code, kind=UnitKind.VILLAGE, name=name, name_folded=name.lower(), parent_id=a.id,
                    path=f"{a.path}{code}/", population=people, latitude=lat, longitude=lon,
                )
            )  # fmt: skip
        a2 = s.scalars(select(Device).where(Device.uid == IDS.a2)).one()
        a2.village = "thôn 1"  # typed by hand: matched by folded name
        group = DeviceGroup(name="Loa ven sông", commune_id=a.id)
        s.add(group)
        s.flush()
        fleet.set_group_members(s, group=group, device_ids=[a2.id])
        make_user(s, "lanhdao", Role.APPROVER, "51")
        make_user(s, "lanhdao.b", Role.APPROVER, COMMUNE_B)


def _principal(session: Session, username: str) -> Principal:
    return principal_for(session, session.scalars(select(User).where(User.username == username)).one())


@pytest.fixture
def db(world_engine: Engine) -> Session:
    _extend_world(world_engine)
    return make_session_factory(world_engine)()


def test_point_in_polygon() -> None:
    square = ((0.0, 0.0), (0.0, 2.0), (2.0, 2.0), (2.0, 0.0))
    assert targeting.inside((1.0, 1.0), square)
    assert not targeting.inside((3.0, 1.0), square) and not targeting.inside((1.0, -0.1), square)
    notch = ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 2.0), (0.0, 4.0))  # concave: a notch at the top
    assert targeting.inside((1.0, 1.0), notch) and not targeting.inside((1.0, 3.0), notch)
    assert targeting.parse_polygon("[[14.7, 108.7], [14.8, 108.7], [14.8, 108.8]]")[2] == (14.8, 108.8)
    for bad in ("[[1, 2], [3, 4]]", "[[1, 2], [3, 4], [95, 4]]", "không phải", "[[1, 2], [3], [4, 5]]"):
        with pytest.raises(InvalidInput, match="Vùng vẽ trên bản đồ không hợp lệ"):
            targeting.parse_polygon(bad)


def test_targeting_counts_loudspeakers_and_people(db: Session) -> None:
    operator = _principal(db, "vanhanh.a")
    province = targeting.resolve(db, operator, TargetChoice(mode="province"))
    assert (province.devices, province.device_uids, province.commune_codes) == (2, None, [COMMUNE_A])
    assert (province.people, province.villages_counted) == (2000, 2)
    villages = targeting.resolve(db, operator, TargetChoice(mode="villages", villages=("2148401",)))
    assert (villages.devices, villages.device_uids, villages.people) == (1, [IDS.a2], 1200)
    assert villages.target == {"mode": "villages", "villages": ["2148401"]}
    group_id = db.scalars(select(DeviceGroup.id)).one()
    groups = targeting.resolve(db, operator, TargetChoice(mode="groups", groups=(group_id,)))
    assert (groups.devices, groups.device_uids, groups.people) == (1, [IDS.a2], 1200)
    small = targeting.resolve(db, operator, TargetChoice(mode="polygon", polygon=AROUND_A1))
    assert (small.devices, small.device_uids, small.people) == (
        1,
        [IDS.a1],
        1200,
    )  # Thôn 1's centre is inside
    wide = targeting.resolve(db, operator, TargetChoice(mode="polygon", polygon=AROUND_A))
    assert (wide.devices, wide.device_uids, wide.commune_codes) == (2, sorted([IDS.a1, IDS.a2]), [COMMUNE_A])
    # The same polygon drawn by commune B's operator covers nothing of A.
    other = targeting.resolve(db, _principal(db, "vanhanh.b"), TargetChoice(mode="polygon", polygon=AROUND_A))
    assert (other.devices, other.people) == (0, None)


def test_targeting_refuses_another_area(db: Session) -> None:
    b = _principal(db, "vanhanh.b")
    group_id = db.scalars(select(DeviceGroup.id)).one()
    with pytest.raises(PermissionDenied, match="Xã Ba Tơ nằm ngoài địa bàn"):
        targeting.resolve(db, b, TargetChoice(mode="communes", communes=(COMMUNE_A,)))
    with pytest.raises(PermissionDenied, match="Thôn 1 nằm ngoài địa bàn"):
        targeting.resolve(db, b, TargetChoice(mode="villages", villages=("2148401",)))
    with pytest.raises(PermissionDenied, match="Nhóm Loa ven sông nằm ngoài địa bàn"):
        targeting.resolve(db, b, TargetChoice(mode="groups", groups=(group_id,)))
    with pytest.raises(NotFound):
        targeting.resolve(db, b, TargetChoice(mode="villages", villages=("999",)))


def test_templates_fill_and_read() -> None:
    values = {"station": "Trà Khúc", "river": "Trà Khúc", "time": "14 giờ", "level_m": "5.8"}
    text = compose.fill("water_level", {**values, "alarm": "báo động III", "trend": "đang lên"})
    assert "là 5,8 mét, ở mức báo động III" in text
    reading = compose.reading(text)
    assert "năm phẩy tám" in reading and "5,8" not in reading
    with pytest.raises(InvalidInput, match="chưa điền «Thời điểm»"):
        compose.fill("storm", {"number": "5"})
    with pytest.raises(InvalidInput, match="«Mực nước \\(m\\)» phải là một số"):
        compose.fill(
            "water_level",
            {"station": "x", "river": "y", "time": "z", "level_m": "cao", "alarm": "báo động I"},
        )


def test_confirmation_token_is_bound_to_person_content_and_time() -> None:
    content = {"text": "Lũ", "communes": ["1"]}
    token = confirm.sign("k", purpose="alert", username="a", content=content, now_s=1000)
    assert confirm.check("k", token, purpose="alert", username="a", content=content, now_s=1100)
    assert not confirm.check("k", token, purpose="alert", username="b", content=content, now_s=1100)
    assert not confirm.check(
        "k", token, purpose="alert", username="a", content={**content, "text": "Bão"}, now_s=1100
    )
    assert not confirm.check("k", token, purpose="play_now", username="a", content=content, now_s=1100)
    assert not confirm.check("k", token, purpose="alert", username="a", content=content, now_s=1000 + 16 * 60)
    assert not confirm.check("other", token, purpose="alert", username="a", content=content, now_s=1100)
    assert not confirm.check("k", "", purpose="alert", username="a", content=content)


def _form(token: str, **extra: object) -> dict[str, object]:
    return {
        "csrf_token": token,
        "text": "Lũ quét tại thôn 1, mực nước 3,5 m. Người dân sơ tán ngay.",
        "hazard": "flash_flood",
        "risk_level": "3",
        "repeat_gap_s": "20",
        "mode": "communes",
        "communes": [COMMUNE_A],
        **extra,
    }


def test_web_form_confirms_then_sends_typed_warning(web: TestClient, world_engine: Engine) -> None:
    token = login_web(web, "vanhanh.a")
    review = web.post("/alerts", data=_form(token, step="review"))
    assert review.status_code == 200 and 'data-testid="confirm-step"' in review.text
    assert "2 cụm loa" in review.text and "ba phẩy năm mét" in review.text
    assert commands(world_engine) == []  # the first step sends nothing
    confirm_token = re.search(r'name="confirm_token" value="([^"]+)"', review.text)
    assert confirm_token is not None

    # Without the token, with another text than the one confirmed: the confirmation again, nothing sent.
    for data in (
        _form(token, step="send"),
        _form(token, step="send", text="Khác", confirm_token=confirm_token[1]),
    ):
        again = web.post("/alerts", data=data)
        assert again.status_code == 200 and "Trang xác nhận đã cũ hoặc nội dung đã thay đổi" in again.text
    assert commands(world_engine) == []

    sent = web.post(
        "/alerts", data=_form(token, step="send", confirm_token=confirm_token[1]), follow_redirects=False
    )
    assert sent.status_code == 303
    assert "» tới 2 cụm loa." in web.get("/alerts").text
    with make_session_factory(world_engine)() as s:
        alert = s.scalars(select(EmergencyAlert)).one()
        assert (alert.status, alert.hazard, alert.risk_level) == ("active", "flash_flood", 3)
        assert alert.message_text is not None and alert.message_text.startswith("Lũ quét")
        asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == alert.audio_sha256)).one()
        assert asset.duration_ms > 2000 and abs(asset.loudness_lufs - (-16.0)) < 1.5  # spoken, levelled
        timing = s.get(AlertTiming, alert.id)
        assert timing is not None and timing.prepare_ms > 0
    sent_args = [
        (uid, args["audio_sha256"]) for uid, kind, args in commands(world_engine) if kind == "play_now"
    ]
    # What sounds each round: the level's lead-in signal then the spoken warning, made once.
    aired = alert.aired_sha256 or alert.audio_sha256
    assert alert.aired_sha256 is not None and alert.aired_sha256 != alert.audio_sha256
    assert sent_args == [(IDS.a1, aired), (IDS.a2, aired)]


def test_web_form_refuses_missing_level_and_empty_target(web: TestClient, world_engine: Engine) -> None:
    token = login_web(web, "vanhanh.a")
    no_level = web.post("/alerts", data=_form(token, step="review", risk_level=""))
    assert no_level.status_code == 422 and "Chưa chọn cấp độ rủi ro." in no_level.text
    too_high = web.post("/alerts", data=_form(token, step="review", hazard="fog", risk_level="3"))
    assert too_high.status_code == 422 and "sương mù đến cấp độ 1" in too_high.text
    empty = web.post(
        "/alerts",
        data=_form(token, step="review", mode="polygon", polygon="[[1,1],[1,2],[2,2]]", communes=[]),
    )
    assert empty.status_code == 422 and "chưa có cụm loa nào đang hoạt động" in empty.text
    coverage = web.get("/alerts/coverage", params={"mode": "polygon", "polygon": json.dumps(AROUND_A1)})
    assert ">1 cụm loa<" in coverage.text


def test_two_person_rule(db: Session, world_engine: Engine, settings: object) -> None:
    from loa.speech.runtime import SpeechRuntime

    admin = _principal(db, "quantri")
    confirm.set_policy(db, principal=admin, province_code="51", from_level=3)
    with pytest.raises(PermissionDenied):
        confirm.set_policy(db, principal=_principal(db, "lanhdao"), province_code="51", from_level=1)
    db.commit()
    runtime = SpeechRuntime.build(settings, make_session_factory(world_engine), recover=False)  # type: ignore[arg-type]
    try:
        operator = _principal(db, "vanhanh.a")
        coverage = targeting.resolve(db, operator, TargetChoice(mode="communes", communes=(COMMUNE_A,)))
        warning = compose.Warning(
            coverage, "landslide", 3, 30, None, text="Sạt lở đất ở thôn 1, sơ tán ngay."
        )
        alert = compose.send(
            db, principal=operator, context=runtime.context, warning=warning, pressed_at=_now(),
            aired=_aired(settings),
        )  # fmt: skip
        low = compose.send(
            db, principal=operator, context=runtime.context, pressed_at=_now(), aired=_aired(settings),
            warning=compose.Warning(coverage, "landslide", 2, 30, None, text="Nguy cơ sạt lở đất."),
        )  # fmt: skip
        db.commit()
    finally:
        runtime.close()
    assert (alert.status, low.status) == ("pending_confirmation", "active")  # level 2 sounds at once
    assert [
        kind for _, kind, args in commands(world_engine) if args["audio_sha256"] == alert.audio_sha256
    ] == []

    with pytest.raises(PermissionDenied, match="Chỉ lãnh đạo"):
        # an editor
        confirm.confirm_pending(
            db, principal=_principal(db, "tinh"), alert_id=alert.id, aired=_aired(settings)
        )
    with pytest.raises(PermissionDenied, match="Chỉ lãnh đạo"):
        # the sender, an operator
        confirm.confirm_pending(db, principal=operator, alert_id=alert.id, aired=_aired(settings))
    with pytest.raises(NotFound):
        confirm.confirm_pending(
            # another commune
            db,
            principal=_principal(db, "lanhdao.b"),
            alert_id=alert.id,
            aired=_aired(settings),
        )
    assert confirm.pending_for(db, _principal(db, "lanhdao")) == [alert]
    assert confirm.pending_for(db, _principal(db, "lanhdao.b")) == []

    sent = confirm.confirm_pending(
        db, principal=_principal(db, "lanhdao"), alert_id=alert.id, aired=_aired(settings)
    )
    db.commit()
    assert (sent.status, sent.confirmed_by, sent.started_by) == ("active", "lanhdao", "vanhanh.a")
    # Confirmed by the second person, it airs with the lead-in of its level, like every alert.
    assert sent.aired_sha256 is not None and sent.aired_sha256 != alert.audio_sha256
    played = [
        uid for uid, kind, args in commands(world_engine) if args.get("audio_sha256") == sent.aired_sha256
    ]
    assert played == [IDS.a1, IDS.a2]
    with pytest.raises(Conflict):
        confirm.confirm_pending(
            db, principal=_principal(db, "lanhdao"), alert_id=alert.id, aired=_aired(settings)
        )
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(alert.id))).all()
    assert "alert.confirm" in actions and "alert.start" in actions


def test_the_sender_cannot_be_the_second_person(db: Session, world_engine: Engine, settings: object) -> None:
    from loa.speech.runtime import SpeechRuntime

    admin = _principal(db, "quantri")  # may broadcast and confirm: still not both for one alert
    confirm.set_policy(db, principal=admin, province_code="51", from_level=1)
    runtime = SpeechRuntime.build(settings, make_session_factory(world_engine), recover=False)  # type: ignore[arg-type]
    try:
        coverage = targeting.resolve(db, admin, TargetChoice(mode="province"))
        warning = compose.Warning(coverage, "storm", 4, 30, None, text="Bão số 5 sắp đổ bộ.")
        alert = compose.send(
            db,
            principal=admin,
            context=runtime.context,
            warning=warning,
            pressed_at=_now(),
            aired=_aired(settings),
        )
        db.commit()
    finally:
        runtime.close()
    with pytest.raises(PermissionDenied, match="phải là một người khác"):
        confirm.confirm_pending(db, principal=admin, alert_id=alert.id, aired=_aired(settings))
    assert db.get(EmergencyAlert, alert.id).status == "pending_confirmation"  # type: ignore[union-attr]


def _aired(settings: object) -> AiredAudio:
    return aired_audio(settings)  # type: ignore[arg-type]


def _now():  # type: ignore[no-untyped-def]
    from loa.db.base import utcnow

    return utcnow()


def test_api_counts_speaks_and_waits_for_the_second_person(web: TestClient, world_engine: Engine) -> None:
    _extend_world(world_engine)
    operator, leader = bearer(web, "vanhanh.a"), bearer(web, "lanhdao")
    polygon = {"mode": "polygon", "polygon": [list(p) for p in AROUND_A1]}
    counted = web.post("/api/v1/alerts/coverage", json=polygon, headers=operator).json()
    assert (counted["devices"], counted["people"], counted["communes"]) == (1, 1200, ["Ba Tơ"])
    villages = web.post(
        "/api/v1/alerts/coverage", json={"mode": "villages", "villages": ["2148401"]}, headers=leader
    )
    assert villages.status_code == 403  # a leader confirms, but does not send
    bad = web.post(
        "/api/v1/alerts/coverage", json={"mode": "polygon", "polygon": [[1, 2], [3, 4]]}, headers=operator
    )
    assert bad.status_code == 422 and "Vùng vẽ trên bản đồ không hợp lệ" in bad.json()["title"]

    body = {
        "target": polygon,
        "text": "Lũ quét ở thôn 1. Sơ tán ngay.",
        "hazard": "flash_flood",
        "risk_level": 3,
    }
    at_once = web.post("/api/v1/alerts", json=body, headers=operator)
    assert at_once.status_code == 202, at_once.text
    assert (at_once.json()["status"], at_once.json()["device_count"]) == ("active", 1)
    assert [uid for uid, kind, _ in commands(world_engine) if kind == "play_now"] == [IDS.a1]

    with make_session_factory(world_engine)() as s, s.begin():
        confirm.set_policy(s, principal=_principal(s, "quantri"), province_code="51", from_level=3)
    waiting = web.post("/api/v1/alerts", json={**body, "text": "Lũ quét lần hai."}, headers=operator).json()
    assert waiting["status"] == "pending_confirmation"
    assert web.post(f"/api/v1/alerts/{waiting['id']}/confirm", headers=operator).status_code == 403
    confirmed = web.post(f"/api/v1/alerts/{waiting['id']}/confirm", headers=leader)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_by"] == "lanhdao"
    assert len([uid for uid, kind, _ in commands(world_engine) if kind == "play_now"]) == 2


def test_an_uploaded_recording_is_levelled_and_offered_for_an_alert(
    web: TestClient, world_engine: Engine
) -> None:
    token = login_web(web, "vanhanh.a")
    recording = wav_bytes(2.0, 660.0)
    sent = web.post(
        "/alerts/upload",
        data={"csrf_token": token},
        files={"file": ("canh-bao-lu.wav", recording, "audio/wav")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "Đã nhận tệp: đang chuẩn hóa âm lượng" in web.get("/alerts").text
    factory = make_session_factory(world_engine)
    deadline = time.monotonic() + SAFETY_NET_S  # a safety net against a hang, not a speed check
    while True:
        with factory() as s:
            job = s.scalars(select(SpeechJob)).one()
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                break
        assert time.monotonic() < deadline, "the upload was never levelled"
        time.sleep(0.05)
    assert job.status is JobStatus.DONE and job.result_sha256
    assert "canh-bao-lu.wav" in web.get("/alerts").text  # offered in the list of recordings
    form = {
        "csrf_token": token, "audio_sha256": job.result_sha256, "hazard": "flood", "risk_level": "2",
        "mode": "communes", "communes": [COMMUNE_A],
    }  # fmt: skip
    review = web.post("/alerts", data={**form, "step": "review"})
    assert "Bản thu: <strong>canh-bao-lu.wav</strong>" in review.text
    found = re.search(r'name="confirm_token" value="([^"]+)"', review.text)
    assert found is not None
    done = web.post(
        "/alerts", data={**form, "step": "send", "confirm_token": found[1]}, follow_redirects=False
    )
    assert done.status_code == 303
    with make_session_factory(world_engine)() as s:
        alert = s.scalars(select(EmergencyAlert)).one()
    assert alert.audio_sha256 == job.result_sha256  # the recording is the message, after the lead-in
    assert [args["audio_sha256"] for _, kind, args in commands(world_engine) if kind == "play_now"] == [
        alert.aired_sha256 or alert.audio_sha256
    ] * 2


def test_a_draft_from_cap_cannot_skip_the_two_person_rule(
    db: Session, world_engine: Engine, settings: object
) -> None:
    """A system's draft (CAP) sent by one person waits for a leader when its level asks for two."""
    from loa.alerts import service as alerts
    from tests.fleet.world import SHA as audio
    from tests.fleet.world import add_asset

    add_asset(world_engine)
    confirm.set_policy(db, principal=_principal(db, "quantri"), province_code="51", from_level=3)
    operator = _principal(db, "vanhanh.a")
    drafts = [
        alerts.start_alert(
            db, principal=operator, commune_codes=[COMMUNE_A], audio_sha256=audio, hazard="flood",
            risk_level=level, status=alerts.DRAFT, source="cap", source_ref=f"cap-{level}",
            aired=_aired(settings),
        )
        for level in (4, 2)
    ]  # fmt: skip
    db.commit()
    high = confirm.send_draft(db, principal=operator, alert_id=drafts[0].id, aired=_aired(settings))
    low = confirm.send_draft(db, principal=operator, alert_id=drafts[1].id, aired=_aired(settings))
    db.commit()
    assert (high.status, high.started_by, low.status) == ("pending_confirmation", "vanhanh.a", "active")
    sent = [args["audio_sha256"] for _, kind, args in commands(world_engine) if kind == "play_now"]
    assert len(sent) == 2  # only the level-2 draft reached the two loudspeakers
    with pytest.raises(PermissionDenied, match="Chỉ lãnh đạo"):
        # the sender, an operator
        confirm.confirm_pending(db, principal=operator, alert_id=high.id, aired=_aired(settings))
    confirmed = confirm.confirm_pending(
        db, principal=_principal(db, "lanhdao"), alert_id=high.id, aired=_aired(settings)
    )
    db.commit()
    assert (confirmed.status, confirmed.confirmed_by) == ("active", "lanhdao")


def test_one_rule_decides_the_communes_for_the_form_and_the_service(
    db: Session, world_engine: Engine, settings: object
) -> None:
    """``targeting.chosen_communes`` is the one function: the form's coverage and ``start_alert`` (which
    CAP, the exchange inbox and the API reach) refuse the same choices with the same Vietnamese words."""
    from loa.alerts import service as alerts
    from loa.errors import LoaError
    from tests.fleet.world import SHA, add_asset

    add_asset(world_engine)
    operator = _principal(db, "vanhanh.a")
    for codes, code in (
        ([" "], "no_communes"),
        (["99999"], "commune_not_found"),
        ([COMMUNE_A, COMMUNE_B], "commune_out_of_scope"),
    ):
        with pytest.raises(LoaError) as by_form:
            targeting.resolve(db, operator, TargetChoice(mode="communes", communes=tuple(codes)))
        with pytest.raises(LoaError) as by_service:
            alerts.start_alert(
                db, principal=operator, commune_codes=codes, audio_sha256=SHA, aired=_aired(settings)
            )
        assert by_form.value.code == by_service.value.code == code
        assert by_form.value.message == by_service.value.message
    assert db.scalars(select(EmergencyAlert)).all() == []

"""Out of band, server side: an administrator makes the five warning clips (real TTS, levelled); every
loudspeaker's manifest then carries them as cache-only clips its credentials may download; an operator
composes the SMS for a loudspeaker of their commune (the code verifies with that loudspeaker's key and
only that one), refused for another commune's; the composing is audited without the code."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.db import make_session_factory
from loa.fleet.clips import load_or_create_master_key
from loa.fleet.device_audio import named_for_device
from loa.fleet.models import DeviceManifest
from loa.protocol import manifest as mf
from loa.protocol import sms
from loa.settings import Settings
from loa.speech.models import AudioAsset
from tests.fleet.world import IDS, device
from tests.support.auth import bearer, csrf_token, login_web


def test_clips_reach_every_manifest_and_sms_codes_verify_on_the_device_only(
    web: TestClient, world_engine: Engine, settings: Settings
) -> None:
    operator = bearer(web, "vanhanh.a")
    assert web.post("/api/v1/alerts/clips", headers=operator).status_code == 403  # reaches every loudspeaker
    refused = web.post("/api/v1/alerts/sms", json={"device_uids": [IDS.a1], "level": 4}, headers=operator)
    assert refused.status_code == 422 and "Chưa có đoạn cảnh báo soạn sẵn" in refused.json()["title"]

    made = web.post("/api/v1/alerts/clips", headers=bearer(web, "quantri"))
    assert made.status_code == 200, made.text
    clips = made.json()
    assert [c["level"] for c in clips] == [1, 2, 3, 4, 5] and all(c["duration_ms"] > 8_000 for c in clips)
    sessions = make_session_factory(world_engine)
    with sessions() as s:
        for clip in clips:
            asset = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == clip["audio_sha256"])).one()
            assert -20 < asset.loudness_lufs < -12  # levelled like every reading
        # Every loudspeaker's newest manifest carries the five clips (cache-only: no item plays them).
        for uid in (IDS.a1, IDS.a2, IDS.b1):
            row = s.scalars(
                select(DeviceManifest)
                .where(DeviceManifest.device_id == device(s, uid).id)
                .order_by(DeviceManifest.version.desc())
            ).first()
            assert row is not None
            manifest = mf.decode_manifest(row.body)
            assert [c.audio.sha256 for c in manifest.clips] == [c["audio_sha256"] for c in clips]
            assert not {i.audio.sha256 for i in manifest.items} & {c["audio_sha256"] for c in clips}
            assert named_for_device(s, device(s, uid), clips[3]["audio_sha256"])  # it may download it

    composed = web.post(
        "/api/v1/alerts/sms", json={"device_uids": [IDS.a1, IDS.a2], "level": 4}, headers=operator
    )
    assert composed.status_code == 200, composed.text
    texts = {t["device_id"]: t["text"] for t in composed.json()}
    # The loudspeaker's key is the one its enrolment gave it.
    code = web.post(f"/api/v1/devices/{IDS.a1}/enrol-code", headers=operator).json()["code"]
    enrolled = web.post("/api/v1/devices/enrol", json={"code": code}).json()
    a1_key = base64.b64decode(enrolled["sms_key"])
    # A device enrolled before keys existed asks for it with its own credentials.
    own = web.get(f"/api/v1/devices/{IDS.a1}/sms-key", auth=(IDS.a1, enrolled["secret"]))
    assert own.status_code == 200 and own.json()["sms_key"] == enrolled["sms_key"]
    assert web.get(f"/api/v1/devices/{IDS.a1}/sms-key", auth=(IDS.a1, "sai")).status_code == 401
    assert web.get(f"/api/v1/devices/{IDS.a2}/sms-key", auth=(IDS.a1, enrolled["secret"])).status_code == 401
    master = load_or_create_master_key(settings.data_dir)
    assert a1_key == sms.device_key(master, IDS.a1) and len(a1_key) == 32
    counter = int(texts[IDS.a1].split()[2])
    trigger = sms.verify(texts[IDS.a1], key=a1_key, device_id=IDS.a1, last_counter=0, now_s=counter)
    assert (trigger.action, trigger.counter) == (4, counter)
    try:  # a1's code is worthless on a2
        sms.verify(
            texts[IDS.a1], key=sms.device_key(master, IDS.a2), device_id=IDS.a2, last_counter=0, now_s=counter
        )
        raise AssertionError("a1's code verified on a2")
    except sms.SmsRefused as err:
        assert err.code == "forged"

    other = web.post("/api/v1/alerts/sms", json={"device_uids": [IDS.b1], "level": 4}, headers=operator)
    assert other.status_code == 422 and "ngoài địa bàn" in other.json()["title"]
    with sessions() as s:
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["alert.clips", "alert.sms_code"])))
        )
    assert [e.action for e in events if e.action.startswith("alert.")] == ["alert.clips", "alert.sms_code"]
    assert texts[IDS.a1].split()[-1] not in json.dumps(events[1].details)  # the code is not kept

    # The page: the clips, and the texts to send from a phone.
    token = login_web(web, "vanhanh.a")
    page = web.get("/alerts/sms").text
    assert "Cảnh báo soạn sẵn — Cấp độ 4" in page and "Cụm loa chợ Ba Tơ" in page
    shown = web.post("/alerts/sms", data={"csrf_token": token, "level": "0", "devices": [IDS.a2]})
    assert shown.status_code == 200 and "LOA 0 " in shown.text
    bad = web.post("/alerts/sms", data={"csrf_token": csrf_token(web), "level": "4"})
    assert bad.status_code == 422 and "Chưa chọn cụm loa nào." in bad.text

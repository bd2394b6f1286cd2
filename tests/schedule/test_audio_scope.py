"""Audio by its SHA-256 stays inside its area (issue 20, point 8): a person of one commune cannot read,
preview, play or schedule another commune's audio (a draft's included) by naming its hash — the answer
is the one a hash that names nothing gets — and a loudspeaker downloads only audio that its own
manifests or commands name. On SQLite and PostgreSQL, through the API and the pages."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.content import renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.fleet import service as fleet
from loa.fleet.models import DeviceCommand
from loa.schedule import running_orders, service
from loa.schedule.manifests import compile_and_store, signing_key
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.speech.store import LocalAudioStore
from tests.schedule.world import BA_TO, BA_VI, World
from tests.support.auth import bearer, login_web

MISSING = "0" * 64


def stored_audio(session: Session, settings: Settings, name: str, maker: Principal) -> str:
    """Real bytes in the server's audio store and their row, made by ``maker``; returns the SHA-256."""
    data = b"ID3" + hashlib.sha256(name.encode()).digest() * 64
    sha = LocalAudioStore(settings.audio_dir).put(data, "mp3").sha256
    session.add(
        AudioAsset(
            sha256=sha,
            format="mp3",
            size_bytes=len(data),
            duration_ms=12_000,
            loudness_lufs=-16.0,
            true_peak_dbtp=-1.5,
            sample_rate=22050,
            source_kind=AudioSourceKind.UPLOAD,
            original_filename=f"{name}.mp3",
            created_by_id=maker.user_id,
        )
    )
    session.flush()
    return sha


def draft_with_recording(
    session: Session, settings: Settings, world: World, who: Principal, area: str
) -> str:
    """A draft bulletin of ``area`` read by a person's recording; returns the recording's SHA-256."""
    bulletin = content.create_bulletin(
        session, principal=who, draft=DraftInput(title="Bản nháp", body="Chưa duyệt.", area_code=area)
    )
    sha = stored_audio(session, settings, f"nhap-{area}", who)
    renditions.attach_recording(
        session, principal=who, bulletin_id=bulletin.id, language="vi", audio_sha256=sha, duration_ms=12_000
    )
    session.commit()
    return sha


@pytest.fixture
def ba_vi_draft(session: Session, settings: Settings, world: World) -> str:
    return draft_with_recording(session, settings, world, world.other_operator, BA_VI)


def test_another_communes_audio_is_not_found_by_its_hash(
    client: TestClient, session: Session, world: World, settings: Settings, ba_vi_draft: str
) -> None:
    own = draft_with_recording(session, settings, world, world.operator, BA_TO)
    a = bearer(client, "canbo.bato")
    for url in ("/api/v1/audio/{}", "/api/v1/audio/{}/info"):
        assert client.get(url.format(own), headers=a).status_code == 200
        missing = client.get(url.format(MISSING), headers=a)
        other = client.get(url.format(ba_vi_draft), headers=a)
        assert other.status_code == 404, url
        assert other.json() == missing.json()
        assert client.get(url.format(ba_vi_draft), headers=bearer(client, "canbo.bavi")).status_code == 200
        assert client.get(url.format(ba_vi_draft), headers=bearer(client, "quantri")).status_code == 200
    # The pages' player and the bulletin's own audio link, signed in by cookie.
    login_web(client, "canbo.bato")
    for url in ("/media/audio/{}", "/media/bulletin-audio/{}"):
        assert client.get(url.format(own)).status_code == 200
        assert client.get(url.format(ba_vi_draft)).status_code == 404
        assert client.get(url.format(MISSING)).status_code == 404


def test_another_communes_audio_cannot_be_played_or_scheduled(
    client: TestClient, session: Session, world: World, settings: Settings, ba_vi_draft: str
) -> None:
    a = bearer(client, "canbo.bato")
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    attempts = {
        "play now": (
            "post",
            "/api/v1/devices/commands",
            {"device_ids": ["loa-bt-01"], "kind": "play_now", "args": {"audio_sha256": "{}"}},
        ),
        "alert": ("post", "/api/v1/alerts", {"commune_codes": [BA_TO], "audio_sha256": "{}"}),
        "announcement": (
            "post",
            "/api/v1/announcements",
            {
                "title": "Thông báo",
                "targets": [{"kind": "commune", "code": BA_TO}],
                "start_at": tomorrow,
                "audio_sha256": "{}",
            },
        ),
    }
    programme = _daily_programme(session, world)
    attempts["running order"] = (
        "put",
        f"/api/v1/programmes/{programme}/running-order",
        {"items": [{"kind": "recording", "audio_sha256": "{}", "title": "Bản ghi"}]},
    )
    for name, (method, url, body) in attempts.items():
        missing = client.request(method, url, json=_with(body, MISSING), headers=a)
        other = client.request(method, url, json=_with(body, ba_vi_draft), headers=a)
        assert missing.status_code == 422, (name, missing.text)
        assert (other.status_code, other.json()["title"]) == (422, missing.json()["title"]), name
    # Nor mixed into one's own synthetic speech as its opening or closing jingle.
    for field in ("intro_sha256", "outro_sha256"):
        job = {"text": "Thông báo của xã.", field: "{}"}
        missing = client.post("/api/v1/speech/jobs", json=_with(job, MISSING), headers=a)
        other = client.post("/api/v1/speech/jobs", json=_with(job, ba_vi_draft), headers=a)
        assert missing.status_code == 404, missing.text
        assert (other.status_code, other.json()) == (404, missing.json()), field
    session.expire_all()
    assert session.scalars(select(DeviceCommand)).all() == []
    # The play-now form of the loudspeakers page answers the same.
    csrf = login_web(client, "canbo.bato")
    form = {"csrf_token": csrf, "action": "play_now", "device_ids": ["loa-bt-01"]}
    page = client.post("/fleet/commands", data={**form, "audio_sha256": ba_vi_draft})
    assert page.status_code == 422 and "Chưa chọn tệp âm thanh" in page.text
    assert client.get("/fleet").text.count(ba_vi_draft) == 0  # not offered either


def test_a_loudspeaker_downloads_only_audio_of_its_manifests_and_commands(
    client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    secrets = {}
    for uid in ("loa-bt-01", "loa-bv-01"):
        code = fleet.issue_enrol_code(session, device=world.device(session, uid))
        secrets[uid] = fleet.enrol(session, code=code).secret
    played = stored_audio(session, settings, "phat-ngay", world.operator)
    scheduled = stored_audio(session, settings, "ban-tin", world.editor)
    session.commit()

    def fetch(uid: str, sha: str) -> int:
        return client.get(f"/api/v1/devices/{uid}/audio/{sha}", auth=(uid, secrets[uid])).status_code

    assert fetch("loa-bt-01", played) == 404  # in the store, but named by nothing sent to this device
    sent = client.post(
        "/api/v1/devices/commands",
        json={"device_ids": ["loa-bt-01"], "kind": "play_now", "args": {"audio_sha256": played}},
        headers=bearer(client, "canbo.bato"),
    )
    assert sent.status_code == 202, sent.text
    assert (fetch("loa-bt-01", played), fetch("loa-bv-01", played)) == (200, 404)

    # A bulletin on the programme of Ba Tơ: in the manifests of Ba Tơ's loudspeakers, not Ba Vì's.
    bulletin = content.create_bulletin(
        session, principal=world.editor, draft=DraftInput(title="Tin sáng", body="Nội dung.", area_code=BA_TO)
    )
    renditions.attach_recording(
        session,
        principal=world.editor,
        bulletin_id=bulletin.id,
        language="vi",
        audio_sha256=scheduled,
        duration_ms=12_000,
    )
    content.transition(session, principal=world.editor, bulletin_id=bulletin.id, action=Action.SUBMIT)
    content.transition(session, principal=world.approver, bulletin_id=bulletin.id, action=Action.APPROVE)
    _daily_programme(session, world, bulletin.id)
    session.commit()
    assert fetch("loa-bt-01", scheduled) == 404
    compile_and_store(session, key=signing_key(settings.data_dir), now=utcnow())
    session.commit()
    assert (fetch("loa-bt-01", scheduled), fetch("loa-bv-01", scheduled)) == (200, 404)
    assert fetch("loa-bt-01", MISSING) == 404


def _with(body: dict[str, object], sha: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(body).replace('"{}"', json.dumps(sha)))
    return loaded


def _daily_programme(session: Session, world: World, bulletin_id: int | None = None) -> int:
    tomorrow = to_local(utcnow()).date() + timedelta(days=1)
    outcome = service.create_programme(
        session,
        principal=world.operator,
        data=ProgrammeInput(
            name="Bản tin sáng",
            start_local=datetime.combine(tomorrow, datetime.min.time()).replace(hour=7),
            slot_minutes=30,
            targets=[TargetInput("commune", BA_TO)],
            rrule="FREQ=DAILY",
            until_cancelled=True,
        ),
        now=utcnow(),
    )
    assert outcome.programme is not None
    if bulletin_id is not None:
        running_orders.set_running_order(
            session,
            principal=world.operator,
            key=None,
            programme_id=outcome.programme.id,
            items=[running_orders.ItemInput("bulletin", bulletin_id)],
            now=utcnow(),
        )
    session.commit()
    return outcome.programme.id

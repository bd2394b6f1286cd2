"""What airs is what was approved (issue 20, point 1): the text, the reading the voice gives it (the
area's abbreviation readings applied) and the audio are sealed when a bulletin is submitted for
approval; any later change, synthetic speech included, makes a new revision that needs approval, and
the manifests carry only sealed audio. On SQLite and PostgreSQL, through the API where a person acts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.content import renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Bulletin, BulletinRevision
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.fleet.models import DeviceManifest
from loa.schedule import running_orders, service
from loa.schedule.manifests import compile_and_store, signing_key
from loa.schedule.recurrence import to_local
from loa.schedule.service import ProgrammeInput
from loa.schedule.targets import TargetInput
from loa.settings import Settings
from loa.speech.runtime import runtime_for
from tests.schedule.world import BA_TO, World, approved_bulletin, audio_asset
from tests.support.auth import bearer

BODY = "UBND xã Ba Tơ thông báo lịch tiêm phòng cho gia súc vào sáng thứ Bảy."
FORGED = "ủy ban lừa đảo"


@pytest.fixture
def speech_app(app: FastAPI) -> Iterator[FastAPI]:
    yield app
    runtime = getattr(app.state, "speech_runtime", None)
    if runtime is not None:
        runtime.close()


def _daily_programme(session: Session, world: World, bulletin_id: int) -> None:
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
    running_orders.set_running_order(
        session,
        principal=world.operator,
        key=None,
        programme_id=outcome.programme.id,
        items=[running_orders.ItemInput("bulletin", bulletin_id)],
        now=utcnow(),
    )


def _manifest_audio(session: Session, world: World, settings: Settings) -> set[str]:
    """The audio the market loudspeaker of Ba Tơ is told to play, after a fresh compilation."""
    compile_and_store(session, key=signing_key(settings.data_dir), now=utcnow())
    session.commit()
    device = world.device(session, "loa-bt-01")
    body = session.scalars(
        select(DeviceManifest.body)
        .where(DeviceManifest.device_id == device.id)
        .order_by(DeviceManifest.version.desc())
        .limit(1)
    ).one()
    return {item["audio"]["sha256"] for item in json.loads(body)["items"] if item["audio"].get("sha256")}


def _revision(session: Session, bulletin: Bulletin, number: int) -> BulletinRevision:
    return session.scalars(
        select(BulletinRevision).where(
            BulletinRevision.bulletin_id == bulletin.id, BulletinRevision.number == number
        )
    ).one()


def test_new_readings_and_speech_after_approval_do_not_reach_the_loudspeakers(
    speech_app: FastAPI, client: TestClient, session: Session, world: World, settings: Settings
) -> None:
    # A text-only bulletin is written, submitted and approved: its reading is sealed with it.
    bulletin = content.create_bulletin(
        session,
        principal=world.editor,
        draft=DraftInput(title="Tiêm phòng gia súc", body=BODY, priority="normal", area_code=BA_TO),
    )
    content.transition(session, principal=world.editor, bulletin_id=bulletin.id, action=Action.SUBMIT)
    content.transition(session, principal=world.approver, bulletin_id=bulletin.id, action=Action.APPROVE)
    _daily_programme(session, world, bulletin.id)
    session.commit()
    sealed = _revision(session, bulletin, 1).snapshot
    assert _manifest_audio(session, world, settings) == set()  # nothing to play yet

    # The commune's operator changes what "UBND" is read as, then asks for speech of the approved text.
    operator = bearer(client, "canbo.bato")
    changed = client.put(
        f"/api/v1/speech/overrides/{BA_TO}", json={"text": f"UBND = {FORGED}"}, headers=operator
    )
    assert changed.status_code == 200, changed.text
    started = client.post(f"/api/v1/bulletins/{bulletin.id}/renditions/vi/tts", headers=operator)
    assert started.status_code == 202, started.text
    assert runtime_for(speech_app.state).jobs.wait_idle(120)
    job = client.get(started.json()["status_url"], headers=operator).json()
    assert job["status"] == "done", job
    spoken = job["audio_url"].rsplit("/", 1)[-1]

    # The new speech is a new revision waiting for approval; the approved one is untouched.
    session.expire_all()
    assert spoken not in _manifest_audio(session, world, settings)
    current = client.get(f"/api/v1/bulletins/{bulletin.id}", headers=operator).json()
    assert (current["status"], current["revision_no"]) == ("draft", 2)
    assert _revision(session, bulletin, 1).snapshot == sealed
    assert "ủy ban nhân dân" in sealed["readings"]["vi"]  # what the approver approved, in words
    assert FORGED not in json.dumps(sealed, ensure_ascii=False)
    changes = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "speech.overrides_update", AuditEvent.target_id == BA_TO
        )
    ).all()
    assert [(e.actor_user_id, e.details["added"]) for e in changes] == [(world.operator.user_id, ["UBND"])]

    # Once someone approves the new revision (and hears what it says), it airs.
    submitted = client.post(f"/api/v1/bulletins/{bulletin.id}/submit", headers=operator)
    assert submitted.status_code == 200, submitted.text
    assert FORGED in _revision(session, bulletin, 2).snapshot["readings"]["vi"]
    approved = client.post(f"/api/v1/bulletins/{bulletin.id}/approve", headers=bearer(client, "duyet.bato"))
    assert approved.status_code == 200, approved.text
    session.expire_all()
    assert spoken in _manifest_audio(session, world, settings)


def test_a_recording_replacing_approved_audio_needs_approval(
    session: Session, world: World, settings: Settings
) -> None:
    first = audio_asset(session, "ban-doc-duyet", 60)
    bulletin = approved_bulletin(session, world, "Lịch tiếp công dân", {"vi": first})
    _daily_programme(session, world, bulletin.id)
    session.commit()
    assert _manifest_audio(session, world, settings) == {first}

    other = audio_asset(session, "ban-doc-khac", 60)
    renditions.attach_recording(
        session,
        principal=world.operator,
        bulletin_id=bulletin.id,
        language="vi",
        audio_sha256=other,
        duration_ms=1,
    )
    session.commit()
    assert (bulletin.status.value, bulletin.revision_no) == ("draft", 2)
    # The approved revision is off air until the new one is approved (a draft is never aired).
    assert other not in _manifest_audio(session, world, settings)
    content.transition(session, principal=world.operator, bulletin_id=bulletin.id, action=Action.SUBMIT)
    content.transition(session, principal=world.approver, bulletin_id=bulletin.id, action=Action.APPROVE)
    session.commit()
    assert _manifest_audio(session, world, settings) == {other}


def test_speech_finishing_after_submission_does_not_change_what_is_reviewed(
    session: Session, world: World, settings: Settings
) -> None:
    bulletin = content.create_bulletin(
        session,
        principal=world.editor,
        draft=DraftInput(title="Tiêm phòng gia súc", body=BODY, priority="normal", area_code=BA_TO),
    )
    renditions.mark_tts_started(
        session, principal=world.editor, bulletin=bulletin, language="vi", job_id="j1"
    )
    content.transition(session, principal=world.editor, bulletin_id=bulletin.id, action=Action.SUBMIT)
    sealed = _revision(session, bulletin, 1).snapshot
    late = audio_asset(session, "doc-muon", 30)
    attached = renditions.audio_finished(
        session, bulletin_id=bulletin.id, language="vi", job_id="j1", audio_sha256=late, duration_ms=30_000
    )
    assert not attached
    content.transition(session, principal=world.approver, bulletin_id=bulletin.id, action=Action.APPROVE)
    _daily_programme(session, world, bulletin.id)
    session.commit()
    assert _revision(session, bulletin, 1).snapshot == sealed
    assert late not in _manifest_audio(session, world, settings)

"""Which voice a bulletin is read with: the province's region by default, then what the area's editors
chose (remembered, nearest area winning), and the TTS action on a bulletin that has no Vietnamese
rendition yet."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Principal
from loa.content import audio as content_audio
from loa.content import service as content_service
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.db import make_session_factory
from loa.errors import InvalidInput
from loa.speech import jobs, voices
from loa.speech.engines.base import Region
from loa.speech.models import JobStatus
from loa.speech.service import SpeechContext
from loa.units.models import AdminUnit
from tests.speech.overrides.conftest import COMMUNE_A, COMMUNE_B, PROVINCE
from tests.support.auth import login_web


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("Quảng Ngãi", Region.CENTRAL),
        ("Tỉnh Quảng Ngãi", Region.CENTRAL),
        ("Thành phố Hà Nội", Region.NORTH),
        ("Thành phố Hồ Chí Minh", Region.SOUTH),
        ("Tỉnh Nghệ An", Region.CENTRAL),
        ("Tỉnh Cà Mau", Region.SOUTH),
        ("Tỉnh Atlantis", Region.UNKNOWN),
    ],
)
def test_province_regions(name: str, region: Region) -> None:
    assert voices.province_region(name) is region


def test_the_34_provinces_of_2025_all_have_a_region() -> None:
    assert sum(1 for r in voices.PROVINCE_REGIONS.values() if r is not Region.UNKNOWN) >= 34


def test_region_default_then_remembered_choices_nearest_first(
    session: Session,
    units: dict[str, AdminUnit],
    principals: dict[str, Principal],
    speech_context: SpeechContext,
) -> None:
    registry = speech_context.registry
    start = voices.default_for_area(session, registry, units[COMMUNE_A].id)
    assert (start.voice.id, start.rate) == ("espeak:vi-vn-x-central", 1.0)
    assert "Quảng Ngãi" in start.reason

    operator = principals["vanhanh.a"]
    bulletin = content_service.create_bulletin(
        session,
        principal=operator,
        draft=DraftInput(title="Lịch tiêm phòng", body="Sáng 15/3.", area_code=COMMUNE_A),
    )
    job = content_audio.request_tts(
        session,
        context=speech_context,
        principal=operator,
        bulletin_id=bulletin.id,
        language="vi",
        voice="espeak:vi-vn-x-central+f3",
        rate=1.1,
    )
    assert (job.voice, job.rate, job.title) == ("espeak:vi-vn-x-central+f3", 1.1, "Lịch tiêm phòng")
    remembered = voices.default_for_area(session, registry, units[COMMUNE_A].id)
    assert (remembered.voice.id, remembered.rate) == ("espeak:vi-vn-x-central+f3", 1.1)
    assert "Xã Ba Tơ" in remembered.reason
    # The neighbouring commune is not affected; a choice for the province reaches it, not Ba Tơ.
    assert (
        voices.default_for_area(session, registry, units[COMMUNE_B].id).voice.id == "espeak:vi-vn-x-central"
    )
    voices.remember_choice(
        session,
        registry=registry,
        principal=principals["tinh"],
        area_id=units[PROVINCE].id,
        voice="espeak:vi-vn-x-south",
        rate=0.9,
    )
    assert voices.default_for_area(session, registry, units[COMMUNE_B].id).voice.id == "espeak:vi-vn-x-south"
    assert (
        voices.default_for_area(session, registry, units[COMMUNE_A].id).voice.id
        == "espeak:vi-vn-x-central+f3"
    )
    # A request without a voice starts from the remembered one and changes nothing.
    again = content_audio.request_tts(
        session, context=speech_context, principal=operator, bulletin_id=bulletin.id, language="vi"
    )
    assert (again.voice, again.rate) == ("espeak:vi-vn-x-central+f3", 1.1)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "speech.voice_choice")).all()
    assert [e.details["voice"] for e in events] == ["espeak:vi-vn-x-central+f3", "espeak:vi-vn-x-south"]
    with pytest.raises(InvalidInput):
        content_audio.request_tts(
            session,
            context=speech_context,
            principal=operator,
            bulletin_id=bulletin.id,
            language="vi",
            voice="espeak:en",
        )


def test_a_new_bulletin_offers_tts_and_the_audio_gets_its_name(
    web: TestClient, app: FastAPI, engine: Engine
) -> None:
    csrf = login_web(web, "vanhanh.a")
    created = web.post(
        "/bulletins/new",
        data={
            "csrf_token": csrf,
            "title": "Thông báo cắt điện",
            "body": "Mất điện từ 7h00 đến 16h30 ngày 12/10.",
            "area_code": COMMUNE_A,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page_url = created.headers["location"].split("#", 1)[0]
    page = web.get(page_url).text
    # No Vietnamese rendition yet: the voice controls are there, and say what will be read.
    assert 'data-testid="tts-form-vi"' in page and 'data-testid="vi-reads-body"' in page
    assert '<option value="espeak:vi-vn-x-central" selected>' in page
    bulletin_id = int(page_url.rstrip("/").rsplit("/", 1)[-1])
    started = web.post(
        f"/bulletins/{bulletin_id}/renditions/vi/tts",
        data={"csrf_token": csrf, "voice": "espeak:vi-vn-x-south", "rate": "1.1", "title": "Tin cắt điện"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert started.status_code == 200 and 'data-testid="tts-progress"' in started.text
    assert app.state.speech_runtime.jobs.wait_idle(120)
    page = web.get(page_url).text
    assert 'data-testid="audio-title-vi"' in page and "Tin cắt điện" in page
    with make_session_factory(engine)() as session:
        bulletin = session.get(Bulletin, bulletin_id)
        assert bulletin is not None
        rendition = next(r for r in bulletin.renditions if r.language == "vi")
        assert rendition.text == "" and rendition.audio_sha256
        job = jobs.get_job(session, rendition.tts_job_id or "")
        assert job.status is JobStatus.DONE and job.voice == "espeak:vi-vn-x-south" and job.rate == 1.1
    # The next bulletin of the commune starts from that choice.
    assert '<option value="espeak:vi-vn-x-south" selected>' in web.get(page_url).text

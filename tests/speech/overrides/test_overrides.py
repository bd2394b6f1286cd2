"""Per-area abbreviation readings: merged along the area's path (nearer wins), edited in the web UI
and the API with per-line errors, scoped, audited, and used by TTS jobs of the area's bulletins."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.audit import ACTION_LABELS
from loa.accounts.models import AuditEvent
from loa.accounts.principal import Principal
from loa.content import audio as content_audio
from loa.content import service as content_service
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.renditions import find
from loa.db import make_session_factory
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.speech import jobs
from loa.speech.models import JobStatus, SpeechOverrides
from loa.speech.normalize import normalize
from loa.speech.overrides import effective_overrides, merge, save_overrides
from loa.speech.service import SpeechContext
from loa.units.models import AdminUnit
from tests.speech.overrides.conftest import COMMUNE_A, COMMUNE_B, PROVINCE
from tests.support.auth import bearer, login_web

SENTENCE = "TT-VH-TT xã tổ chức tuyên truyền phòng chống thiên tai."
READ_A = "trung tâm văn hóa thông tin"
READ_B = "trung tâm truyền thông văn hóa thể thao"
TEXT_A = f"# Trung tâm của xã\nTT-VH-TT = {READ_A}\n"
TEXT_B = f"TT-VH-TT = {READ_B}"
TEXT_PROVINCE = "TT-VH-TT = trung tâm văn hóa thể thao\nHTX = hợp tác xã"


def test_merge_lets_the_nearer_area_win_whatever_the_case() -> None:
    merged = merge([{"TT-VH-TT": "tỉnh", "HTX": "hợp tác xã"}, {"tt-vh-tt": "xã"}])
    assert merged == {"HTX": "hợp tác xã", "tt-vh-tt": "xã"}
    assert normalize("TT-VH-TT họp.", overrides=merged).text == "xã họp."


def test_each_commune_reads_its_own_meaning_and_inherits_the_rest(
    session: Session, units: dict[str, AdminUnit], principals: dict[str, Principal]
) -> None:
    default = normalize(SENTENCE)
    assert [u.token for u in default.unreadable] == ["TT-VH-TT"]  # ambiguous without a site reading

    save_overrides(session, principal=principals["tinh"], unit=units[PROVINCE], text=TEXT_PROVINCE)
    save_overrides(session, principal=principals["vanhanh.a"], unit=units[COMMUNE_A], text=TEXT_A)
    save_overrides(session, principal=principals["vanhanh.b"], unit=units[COMMUNE_B], text=TEXT_B)
    session.commit()

    read = {
        code: normalize(SENTENCE + " HTX họp.", overrides=effective_overrides(session, units[code].id))
        for code in (PROVINCE, COMMUNE_A, COMMUNE_B)
    }
    assert read[COMMUNE_A].text.startswith(READ_A + " xã tổ chức")
    assert read[COMMUNE_B].text.startswith(READ_B + " xã tổ chức")
    assert read[PROVINCE].text.startswith("trung tâm văn hóa thể thao xã")
    for result in read.values():
        assert "hợp tác xã họp." in result.text  # the province's HTX reaches both communes
        assert result.unreadable == []  # a site reading is no guess: nothing left to check

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "speech.overrides_update").order_by(AuditEvent.id)
    ).all()
    assert [e.target_id for e in events] == [PROVINCE, COMMUNE_A, COMMUNE_B]
    assert events[1].details["added"] == ["TT-VH-TT"] and events[1].area_id == units[COMMUNE_A].id
    assert ACTION_LABELS["speech.overrides_update"] == "Sửa từ điển viết tắt của địa bàn"


def test_bad_lines_are_refused_line_by_line_and_nothing_is_saved(
    session: Session, units: dict[str, AdminUnit], principals: dict[str, Principal]
) -> None:
    operator = principals["vanhanh.a"]
    save_overrides(session, principal=operator, unit=units[COMMUNE_A], text=TEXT_A)
    session.commit()
    bad = f"{TEXT_A}HTX hợp tác xã\nUB ND = ủy ban\nQĐ = 12\n"
    with pytest.raises(InvalidInput) as caught:
        save_overrides(session, principal=operator, unit=units[COMMUNE_A], text=bad, expected_version=1)
    assert [d["line"] for d in caught.value.details] == [3, 4, 5]
    assert "dòng 3: thiếu dấu “=”" in caught.value.message
    session.rollback()
    row = session.get(SpeechOverrides, units[COMMUNE_A].id)
    assert row is not None and row.version == 1 and row.text == TEXT_A.strip()

    with pytest.raises(Conflict):  # someone saved since version 0
        save_overrides(session, principal=operator, unit=units[COMMUNE_A], text=TEXT_B, expected_version=0)
    with pytest.raises(NotFound):  # another commune's list is not theirs to find
        save_overrides(session, principal=principals["vanhanh.b"], unit=units[COMMUNE_A], text=TEXT_B)
    with pytest.raises(PermissionDenied):  # a viewer sees it but may not change it
        save_overrides(session, principal=principals["xem.a"], unit=units[COMMUNE_A], text=TEXT_B)


def test_api_get_put_scope_errors_and_normalize_with_area(web: TestClient) -> None:
    tinh, a, b = bearer(web, "tinh"), bearer(web, "vanhanh.a"), bearer(web, "vanhanh.b")
    url = f"/api/v1/speech/overrides/{COMMUNE_A}"
    assert web.put(
        f"/api/v1/speech/overrides/{PROVINCE}", json={"text": TEXT_PROVINCE}, headers=tinh
    ).is_success
    saved = web.put(url, json={"text": TEXT_A, "version": 0}, headers=a)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["version"] == 1 and body["entries"] == {"TT-VH-TT": READ_A} and body["can_edit"]
    assert body["inherited"][0]["area_code"] == PROVINCE
    assert body["effective"] == {"TT-VH-TT": READ_A, "HTX": "hợp tác xã"}

    refused = web.put(url, json={"text": "HTX hợp tác xã\nQĐ = 12", "version": 1}, headers=a)
    assert refused.status_code == 422
    assert [d["line"] for d in refused.json()["details"]] == [1, 2]
    assert web.get(url, headers=a).json()["text"] == TEXT_A.strip()  # unchanged
    stale = web.put(url, json={"text": TEXT_B, "version": 0}, headers=a)
    assert stale.status_code == 409 and stale.json()["details"]["current_version"] == 1

    # Another commune's operator may neither read nor change it (it is not found for them, like a
    # code that names nothing); the province editor may do both.
    assert web.put(url, json={"text": TEXT_B}, headers=b).status_code == 404
    assert web.get(url, headers=b).status_code == 404
    assert web.get(url, headers=tinh).json()["can_edit"] is True
    assert web.get("/api/v1/speech/overrides/99999", headers=a).status_code == 404

    def reading(headers: dict[str, str], area: str | None) -> str:
        response = web.post(
            "/api/v1/speech/normalize", json={"text": SENTENCE, "area": area}, headers=headers
        )
        assert response.status_code == 200, response.text
        text: str = response.json()["text"]
        return text

    assert reading(a, COMMUNE_A).startswith(READ_A)
    assert reading(b, COMMUNE_B).startswith("trung tâm văn hóa thể thao")  # B inherits the province's
    assert reading(a, None).startswith("truyền thông văn hóa thể thao")  # no area: the dictionary
    assert (
        web.post(
            "/api/v1/speech/normalize", json={"text": SENTENCE, "area": COMMUNE_A}, headers=b
        ).status_code
        == 404
    )


def test_overrides_page_previews_saves_and_refuses_bad_lines(web: TestClient, app: FastAPI) -> None:
    csrf = login_web(web, "vanhanh.a")
    page = web.get("/speech/overrides")
    assert page.status_code == 200 and "Từ điển viết tắt của địa bàn" in page.text
    assert f'name="area_code" value="{COMMUNE_A}"' in page.text  # own commune chosen by default
    assert f'value="{COMMUNE_B}"' not in page.text  # other communes are not offered
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}

    form = {"area_code": COMMUNE_A, "text": TEXT_A, "sample": SENTENCE, "version": "0"}
    preview = web.post("/speech/overrides/preview", data=form, headers=hx)
    assert "Máy sẽ đọc là" in preview.text and READ_A in preview.text

    bad = web.post("/speech/overrides", data={**form, "text": "TT-VH-TT trung tâm"}, headers=hx)
    assert bad.status_code == 200 and "Chưa lưu." in bad.text
    assert "Dòng 1: thiếu dấu “=”" in bad.text and "TT-VH-TT trung tâm</textarea>" in bad.text
    assert web.get(f"/api/v1/speech/overrides/{COMMUNE_A}").json()["version"] == 0

    saved = web.post("/speech/overrides", data=form, headers=hx)
    assert "Đã lưu từ điển viết tắt của Xã Ba Tơ (phiên bản 1)." in saved.text
    assert 'name="version" value="1"' in saved.text
    assert (
        web.post("/speech/overrides", data={**form, "text": "x"}, headers={"HX-Request": "true"}).status_code
        == 403
    )

    # The bulletin editor's live preview and the /speech page read with the area's list.
    editor = web.post(
        "/bulletins/preview", data={"title": "", "body": SENTENCE, "area_code": COMMUNE_A}, headers=hx
    )
    assert READ_A in editor.text
    speech = web.post("/speech/preview", data={"text": SENTENCE, "area_code": COMMUNE_A}, headers=hx)
    assert READ_A in speech.text
    foreign = web.get(f"/speech/overrides?area={COMMUNE_B}")
    assert foreign.status_code == 404


def test_a_bulletin_tts_job_reads_with_its_communes_list(
    engine: Engine,
    session: Session,
    units: dict[str, AdminUnit],
    principals: dict[str, Principal],
    speech_context: SpeechContext,
    runner: jobs.ThreadJobRunner,
) -> None:
    tinh = principals["tinh"]
    save_overrides(session, principal=tinh, unit=units[COMMUNE_A], text=TEXT_A)
    save_overrides(session, principal=tinh, unit=units[COMMUNE_B], text=TEXT_B)
    made: dict[str, tuple[int, str]] = {}
    for code in (COMMUNE_A, COMMUNE_B):
        bulletin = content_service.create_bulletin(
            session, principal=tinh, draft=DraftInput(title="Thông báo", body=SENTENCE, area_code=code)
        )
        job = content_audio.request_tts(
            session, context=speech_context, principal=tinh, bulletin_id=bulletin.id, language="vi"
        )
        made[code] = (bulletin.id, job.id)
    session.commit()
    for _, job_id in made.values():
        runner.submit(job_id)
    assert runner.wait_idle(120)

    with make_session_factory(engine)() as check:
        readings = {}
        for code, (bulletin_id, job_id) in made.items():
            job = jobs.get_job(check, job_id)
            assert job.status is JobStatus.DONE, job.error_message
            assert job.area_id == units[code].id and job.reading is not None
            readings[code] = job.reading
            bulletin = check.get(Bulletin, bulletin_id)
            assert bulletin is not None
            rendition = find(bulletin, "vi")
            assert rendition is not None and rendition.audio_sha256 == job.result_sha256
        assert readings[COMMUNE_A] == f"Thông báo.\n{READ_A} xã tổ chức tuyên truyền phòng chống thiên tai."
        assert readings[COMMUNE_B].startswith(f"Thông báo.\n{READ_B} xã")
        assert made[COMMUNE_A][1] != made[COMMUNE_B][1]

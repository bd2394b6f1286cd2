"""The speech API and page over HTTP, signed in through the real token endpoint and login form."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.areas.models import AdminUnit, UnitKind
from loa.db import make_session_factory
from loa.errors import InvalidInput
from loa.settings import Settings
from loa.speech import uploads
from loa.speech.audio import NOT_AUDIO_MESSAGE, VIDEO_MESSAGE
from loa.speech.runtime import SpeechRuntime
from loa.speech.service import SpeechContext
from loa.speech.store import LocalAudioStore
from tests.speech.audio.media import (
    SAMPLE_RATE,
    UPLOAD_FORMATS,
    encode_with_pyav,
    measure_file,
    png_bytes,
    silent_video_mp4,
    three_hour_mp3,
    tone,
    video_with_sound_mp4,
)
from tests.support.auth import bearer, login_web, make_user


class RemoteStore:
    """Stands in for an object store elsewhere (outside this machine): no local paths."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def local_path(self, sha256: str, extension: str) -> None:
        return None


def _wait_done(client: TestClient, app: FastAPI, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    assert app.state.speech_runtime.jobs.wait_idle(120)
    response = client.get(f"/api/v1/speech/jobs/{job_id}", headers=headers)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def _store_files(app: FastAPI) -> list[str]:
    store = app.state.speech_runtime.context.store
    assert isinstance(store, LocalAudioStore)
    return sorted(str(p) for p in store.root.rglob("*") if p.is_file())


def test_voices_and_normalize(speech_client: TestClient) -> None:
    headers = bearer(speech_client, "xem")
    voices = speech_client.get("/api/v1/speech/voices", headers=headers).json()
    assert [v["id"] for v in voices] == [
        "espeak:vi",
        "espeak:vi-vn-x-central",
        "espeak:vi-vn-x-south",
        "espeak:vi+f3",
        "espeak:vi-vn-x-central+f3",
        "espeak:vi-vn-x-south+f3",
    ]
    assert {v["gender_label"] for v in voices[3:]} == {"Nữ"}
    assert (
        voices[0]["default"]
        and voices[2]["region_label"] == "Giọng miền Nam"
        and voices[0]["gender_label"] == "Nam"
    )
    body = speech_client.post(
        "/api/v1/speech/normalize", json={"text": "Họp lúc 7h30 ngày 15/3 你好"}, headers=headers
    ).json()
    assert "bảy giờ ba mươi" in body["text"] and "mười lăm tháng ba" in body["text"]
    assert [u["token"] for u in body["unreadable"]] == ["你好"] and body["unreadable"][0]["reason"]
    assert speech_client.get("/api/v1/speech/voices").status_code == 401


def test_job_api_end_to_end_with_range_download(speech_client: TestClient, app: FastAPI) -> None:
    headers = bearer(speech_client, "bientap")
    response = speech_client.post(
        "/api/v1/speech/jobs",
        json={"text": "Sáng 15/3, UBND xã tổ chức họp dân.", "voice": "vi"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "running", "done") and job["status_label"]
    done = _wait_done(speech_client, app, str(job["id"]), headers)
    assert done["status"] == "done" and done["progress"] == 100 and done["error"] is None
    url = str(done["audio_url"])
    sha = str(done["result_sha256"])

    whole = speech_client.get(url, headers=headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/mpeg"
    assert hashlib.sha256(whole.content).hexdigest() == sha  # content-addressed
    assert "immutable" in whole.headers["cache-control"] and whole.headers["accept-ranges"] == "bytes"
    measured = measure_file(whole.content)
    assert measured.loudness_lufs == pytest.approx(-16, abs=1) and measured.true_peak_dbtp <= -1.5

    part = speech_client.get(url, headers={**headers, "Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == whole.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    assert speech_client.get(url, headers={**headers, "If-None-Match": f'"{sha}"'}).status_code == 304

    info = speech_client.get(f"/api/v1/audio/{sha}/info", headers=headers).json()
    assert info["format"] == "mp3" and info["source_kind"] == "tts"
    assert [r["format"] for r in info["renditions"]] == ["opus"]
    opus = speech_client.get(info["renditions"][0]["url"], headers=headers)
    assert opus.headers["content-type"] == "audio/ogg" and measure_file(opus.content).true_peak_dbtp <= -1.5

    # The same answers from a store that is not on this disk (an S3-compatible store later).
    runtime = app.state.speech_runtime
    runtime.context = replace(runtime.context, store=RemoteStore(runtime.context.store))
    remote_part = speech_client.get(url, headers={**headers, "Range": "bytes=100-1099"})
    assert remote_part.status_code == 206 and remote_part.content == whole.content[100:1100]
    assert remote_part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    assert speech_client.get(url, headers={**headers, "Range": "bytes=-10"}).content == whole.content[-10:]
    assert speech_client.get(url, headers=headers).content == whole.content
    assert (
        speech_client.get(url, headers={**headers, "Range": f"bytes={len(whole.content)}-"}).status_code
        == 416
    )

    # Someone else's job is not visible; a viewer cannot make audio; unknown ids are 404.
    other = bearer(speech_client, "xem")
    assert speech_client.get(f"/api/v1/speech/jobs/{job['id']}", headers=other).status_code == 404
    refused = speech_client.post("/api/v1/speech/jobs", json={"text": "Xin chào"}, headers=other)
    assert refused.status_code == 403
    assert speech_client.get(f"/api/v1/audio/{'0' * 64}", headers=headers).status_code == 404
    assert speech_client.get("/api/v1/audio/khong-hop-le", headers=headers).status_code == 404


def test_job_api_refuses_bad_text_clearly(speech_client: TestClient) -> None:
    headers = bearer(speech_client, "bientap")
    for payload, message in [
        ({"text": ""}, "Chưa có nội dung để đọc."),
        ({"text": "Xin chào. " * 100_000}, "Văn bản quá dài"),
        ({"text": "你好世界"}, "Văn bản không có chữ nào đọc được bằng giọng tiếng Việt."),
        ({"text": "Xin chào", "voice": "en-us"}, "Không có giọng đọc"),
    ]:
        response = speech_client.post("/api/v1/speech/jobs", json=payload, headers=headers)
        assert response.status_code == 422, payload
        assert message in response.json()["title"]
    assert (
        speech_client.post("/api/v1/speech/jobs", json={"text": "a", "rate": 9}, headers=headers).status_code
        == 422
    )


@pytest.mark.parametrize("container", [UPLOAD_FORMATS[2], UPLOAD_FORMATS[4]], ids=["m4a", "amr"])
def test_upload_is_decoded_levelled_and_stored(
    speech_client: TestClient, app: FastAPI, container: object
) -> None:
    from tests.speech.audio.media import Container

    assert isinstance(container, Container)
    headers = bearer(speech_client, "bientap")
    data = encode_with_pyav(tone(440, 3.0, amplitude=0.05), SAMPLE_RATE, container)
    response = speech_client.post(
        "/api/v1/audio",
        files={"file": (f"ghi-am{container.suffix}", data, "application/octet-stream")},
        data={"title": "Bản thu họp dân"},
        headers=headers,
    )
    # Accepted at once; levelled on the job worker, outside the request.
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "upload" and response.json()["title"] == "Bản thu họp dân"
    job = _wait_done(speech_client, app, str(response.json()["id"]), headers)
    assert job["status"] == "done", job
    body = speech_client.get(f"{job['audio_url']}/info", headers=headers).json()
    assert body["source_kind"] == "upload" and body["original_filename"] == f"ghi-am{container.suffix}"
    assert body["title"] == "Bản thu họp dân"
    assert body["duration_ms"] == pytest.approx(3000, abs=120)
    assert [r["format"] for r in body["renditions"]] == ["opus"]
    stored = speech_client.get(body["url"], headers=headers).content
    measured = measure_file(stored)
    assert measured.loudness_lufs == pytest.approx(-16, abs=1) and measured.true_peak_dbtp <= -1.5
    opus = measure_file(speech_client.get(body["renditions"][0]["url"], headers=headers).content)
    assert opus.true_peak_dbtp <= -1.5
    # The original is kept, byte for byte, under its own SHA-256.
    store = app.state.speech_runtime.context.store
    original = store.local_path(hashlib.sha256(data).hexdigest(), container.suffix.lstrip("."))
    assert original is not None and original.read_bytes() == data
    # The same bytes again: the levelled file at once (201), no second job.
    again = speech_client.post(
        "/api/v1/audio", files={"file": ("lai.bin", data, "application/octet-stream")}, headers=headers
    )
    assert again.status_code == 201 and again.json()["sha256"] == body["sha256"]


def test_bad_uploads_are_refused_and_leave_nothing_in_the_store(
    speech_client: TestClient, app: FastAPI
) -> None:
    headers = bearer(speech_client, "bientap")
    wav = encode_with_pyav(tone(440, 3.0), SAMPLE_RATE, UPLOAD_FORMATS[0])
    cases = [
        ("anh.png", png_bytes(), 422, NOT_AUDIO_MESSAGE),
        ("video.mp4", silent_video_mp4(), 422, VIDEO_MESSAGE),
        ("ban-tin.mp3", video_with_sound_mp4(), 422, VIDEO_MESSAGE),
        ("cut.wav", wav[: len(wav) // 2], 422, NOT_AUDIO_MESSAGE),
        ("empty.mp3", b"", 422, NOT_AUDIO_MESSAGE),
        ("ba-gio.mp3", three_hour_mp3(), 422, "Âm thanh dài quá 60 phút"),
        ("to.wav", b"RIFF" + b"\x00" * (13 * 1024 * 1024), 413, "Tệp tải lên quá lớn (tối đa 12 MB)."),
    ]
    for name, data, status, message in cases:
        response = speech_client.post(
            "/api/v1/audio", files={"file": (name, data, "audio/mpeg")}, headers=headers
        )
        assert response.status_code == status, (name, response.text)
        assert message in response.json()["title"], name
    # The upload form of the /speech page takes the same path.
    csrf = login_web(speech_client, "bientap")
    page_upload = speech_client.post(
        "/speech/upload",
        files={"file": ("ghi-am.m4a", video_with_sound_mp4(), "audio/mp4")},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert page_upload.status_code == 200 and VIDEO_MESSAGE in page_upload.text
    assert _store_files(app) == []
    viewer = bearer(speech_client, "xem")
    assert (
        speech_client.post(
            "/api/v1/audio", files={"file": ("a.wav", wav, "audio/wav")}, headers=viewer
        ).status_code
        == 403
    )


def test_speech_page_preview_generate_and_listen(speech_client: TestClient, app: FastAPI) -> None:
    csrf = login_web(speech_client, "bientap")
    page = speech_client.get("/speech")
    assert page.status_code == 200
    html = page.text
    assert "Giọng đọc" in html and "Giọng miền Trung" in html and "175 tiếng/phút" in html
    assert 'aria-current="page"' in html
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    preview = speech_client.post("/speech/preview", data={"text": "Họp lúc 7h30 😀"}, headers=hx)
    assert "bảy giờ ba mươi" in preview.text and "Chỗ khó đọc (1)" in preview.text
    made = speech_client.post(
        "/speech/generate", data={"text": "Xin chào bà con.", "voice": "espeak:vi", "rate": "1.1"}, headers=hx
    )
    assert made.status_code == 200 and 'data-testid="speech-job"' in made.text
    assert 'hx-trigger="every 1s"' in made.text  # the fragment polls until the job is done
    job_id = made.text.split('hx-get="/speech/jobs/', 1)[1].split('"', 1)[0]
    assert app.state.speech_runtime.jobs.wait_idle(60)
    done = speech_client.get(f"/speech/jobs/{job_id}", headers={"HX-Request": "true"})
    assert 'data-status="done"' in done.text and "<audio controls" in done.text and "LUFS" in done.text
    assert "every 1s" not in done.text
    sha = done.text.split('src="/media/audio/', 1)[1].split('"', 1)[0]
    assert speech_client.get(f"/media/audio/{sha}").headers["content-type"] == "audio/mpeg"
    empty = speech_client.post("/speech/generate", data={"text": "  "}, headers=hx)
    assert "Chưa có nội dung để đọc." in empty.text
    forged = speech_client.post("/speech/preview", data={"text": "x"}, headers={"HX-Request": "true"})
    assert forged.status_code == 403


def test_the_upload_duration_cap_is_a_setting(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    engine: Engine,
    session: Session,
    speech_context: SpeechContext,
) -> None:
    assert Settings.model_fields["max_upload_duration_s"].default == 3600
    monkeypatch.setenv("LOA_MAX_UPLOAD_DURATION_S", "90")
    configured = Settings(demo=True, data_dir=settings.data_dir, secret_key=settings.secret_key)
    runtime = SpeechRuntime.build(configured, make_session_factory(engine), recover=False)
    try:
        assert runtime.context.max_upload_duration_s == 90
    finally:
        runtime.close()

    wav = encode_with_pyav(tone(440, 3.0), SAMPLE_RATE, UPLOAD_FORMATS[0])
    short_cap = replace(speech_context, max_upload_duration_s=2)
    with pytest.raises(InvalidInput) as caught:
        uploads.accept_upload(session, context=short_cap, data=wav)  # refused by the probed duration
    assert caught.value.message == "Âm thanh dài quá 2 giây; hãy cắt thành nhiều tệp ngắn hơn."
    roomy = replace(speech_context, max_upload_duration_s=4)
    accepted = uploads.accept_upload(session, context=roomy, data=wav, filename="a.wav")
    assert accepted.job is not None and accepted.job.source_sha256 is not None
    rendered = uploads.render_stored_upload(
        roomy, source_sha256=accepted.job.source_sha256, source_name=accepted.job.source_name
    )
    assert rendered.primary.encoded.duration_ms == pytest.approx(3000, abs=100)


def test_the_same_recording_uploaded_in_two_communes_reaches_both(
    speech_client: TestClient, app: FastAPI, session: Session
) -> None:
    """Audio by hash is scoped (issue 20, point 8); identical bytes are levelled once, so the second
    commune's upload is recorded as its own and the file reaches its uploader too, not before."""
    province = session.scalars(select(AdminUnit).where(AdminUnit.code == "51")).one()
    session.add(
        AdminUnit(
            code="21490",
            kind=UnitKind.COMMUNE,
            name="Xã Ba Vì",
            name_folded="xa ba vi",
            parent_id=province.id,
            path="/51/21490/",
        )
    )
    session.flush()
    make_user(session, "vanhanh.bavi", Role.COMMUNE_OPERATOR, "21490")
    session.commit()
    first, second = bearer(speech_client, "bientap"), bearer(speech_client, "vanhanh.bavi")
    data = encode_with_pyav(tone(330, 2.0, amplitude=0.05), SAMPLE_RATE, UPLOAD_FORMATS[0])
    upload = {"file": ("nhac-hieu.wav", data, "audio/wav")}
    accepted = speech_client.post("/api/v1/audio", files=upload, headers=first)
    assert accepted.status_code == 202, accepted.text
    job = _wait_done(speech_client, app, str(accepted.json()["id"]), first)
    url = f"/api/v1/audio/{job['result_sha256']}"
    assert speech_client.get(url, headers=first).status_code == 200
    assert speech_client.get(url, headers=second).status_code == 404  # Ba Tơ's file, not Ba Vì's
    again = speech_client.post("/api/v1/audio", files=upload, headers=second)
    assert again.status_code == 201 and again.json()["sha256"] == job["result_sha256"]
    assert speech_client.get(url, headers=second).status_code == 200

"""The whole path through the API: write with a Vietnamese and a Hrê rendition (a real recording),
synthesise the Vietnamese reading, review across areas, publish, read the Atom feed, check the audit."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import av
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.models import AuditEvent
from loa.content.atom import ATOM_NS
from loa.speech.runtime import runtime_for
from tests.content.conftest import COMMUNE_A, World
from tests.support.auth import bearer

A = f"{{{ATOM_NS}}}"


def recording(seconds: float = 2.0, rate: int = 16_000, container: str = "ipod") -> bytes:
    """A real AAC recording (a voiced, pitch-varying tone), made with PyAV."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 40 * np.sin(2 * math.pi * 0.7 * t)
    voice = (
        0.3 * np.sin(2 * math.pi * np.cumsum(pitch) / rate) * (0.6 + 0.4 * np.sin(2 * math.pi * 3 * t) ** 2)
    )
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(voice.astype(np.float32)[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def video_with_sound() -> bytes:
    """An MP4 with a picture track and a sound track: a video, whatever its name says."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=16_000, layout="mono")
        for i in range(10):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        tone = av.AudioFrame.from_ndarray(np.zeros((1, 16_000), np.float32), format="fltp", layout="mono")
        tone.sample_rate = 16_000
        for packet in sound.encode(tone):
            out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    return buf.getvalue()


def duration_s(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
        rate = container.streams.audio[0].rate
    return float(samples / rate)


@pytest.fixture
def speech_app(app: FastAPI) -> Iterator[FastAPI]:
    yield app
    runtime = getattr(app.state, "speech_runtime", None)
    if runtime is not None:
        runtime.close()


def test_bulletin_from_writing_to_the_portal(
    speech_app: FastAPI, client: TestClient, world: World, session: Session
) -> None:
    editor, approver_b, approver_a = (
        bearer(client, "bientap.a"),
        bearer(client, "duyet.b"),
        bearer(client, "duyet.a"),
    )
    created = client.post(
        "/api/v1/bulletins",
        json={
            "title": "Thông báo lịch tiếp công dân",
            "body": "UBND xã Ba Tơ tiếp công dân vào **sáng thứ Hai** hằng tuần, từ 7h30.",
            "kind": "announcement",
            "priority": "priority",
            "topics": ["cchc"],
            "area_code": COMMUNE_A,
            "renditions": [
                {"language": "vi", "text": ""},
                {"language": "hre", "text": "Bản dịch tiếng Hrê."},
            ],
        },
        headers=editor,
    )
    assert created.status_code == 201, created.text
    bid = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert [r["language"] for r in created.json()["renditions"]] == ["vi", "hre"]

    # The Hrê rendition is a person's recording; a video posing as audio is refused.
    base = f"/api/v1/bulletins/{bid}/renditions"
    fake = client.post(
        f"{base}/hre/audio", files={"file": ("ban-doc.mp3", video_with_sound(), "audio/mpeg")}, headers=editor
    )
    assert fake.status_code == 422
    assert fake.json()["title"].startswith("Tệp là video, không phải âm thanh")
    uploaded = client.post(
        f"{base}/hre/audio", files={"file": ("ban-doc-hre.m4a", recording(), "audio/mp4")}, headers=editor
    )
    # Kept at once, levelled for broadcast on the job worker, then attached to the rendition.
    assert uploaded.status_code == 202, uploaded.text
    assert uploaded.json()["job"]["kind"] == "upload"
    assert runtime_for(speech_app.state).jobs.wait_idle(120)
    hre_job = client.get(uploaded.json()["job"]["status_url"], headers=editor).json()
    assert hre_job["status"] == "done", hre_job
    hre = next(
        r
        for r in client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()["renditions"]
        if r["language"] == "hre"
    )
    assert hre["audio_origin"] == "upload" and 1900 <= hre["audio_duration_ms"] <= 2200
    assert hre["audio_url"] == hre_job["audio_url"]

    # Synthetic reading of the Vietnamese text, as a background job.
    started = client.post(f"{base}/vi/tts", headers=editor)
    assert started.status_code == 202, started.text
    assert runtime_for(speech_app.state).jobs.wait_idle(120)
    job = client.get(started.json()["status_url"], headers=editor).json()
    assert (job["status"], job["progress"], job["error"]) == ("done", 100, None)
    vi_audio = client.get(job["audio_url"], headers=editor)
    assert vi_audio.status_code == 200 and vi_audio.headers["content-type"] == "audio/mpeg"
    assert duration_s(vi_audio.content) > 2.0
    current = client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()
    vi = next(r for r in current["renditions"] if r["language"] == "vi")
    assert vi["audio_origin"] == "tts" and vi["audio_url"] == job["audio_url"]

    assert client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor).status_code == 200
    refused = client.post(f"/api/v1/bulletins/{bid}/approve", headers=approver_b)  # another commune
    assert refused.status_code in (403, 404)
    assert client.get("/api/v1/bulletins/review", headers=approver_b).json() == []
    returned = client.post(
        f"/api/v1/bulletins/{bid}/return", json={"comment": "Ghi rõ địa điểm tiếp dân."}, headers=approver_a
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert returned.json()["review_comment"] == "Ghi rõ địa điểm tiếp dân."

    edited = client.patch(
        f"/api/v1/bulletins/{bid}",
        json={
            "version": returned.json()["version"],
            "body": "UBND xã Ba Tơ tiếp công dân tại hội trường UBND, sáng thứ Hai, từ 7h30.",
        },
        headers=editor,
    )
    assert edited.status_code == 200 and edited.json()["revision_no"] == 2
    assert client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor).status_code == 200
    diff = client.get(f"/api/v1/bulletins/{bid}/diff", params={"from": 1, "to": 2}, headers=approver_a).json()
    assert "<ins>" in next(f for f in diff["fields"] if f["field"] == "body")["html"]
    approved = client.post(
        f"/api/v1/bulletins/{bid}/approve", json={"version": edited.json()["version"] + 1}, headers=approver_a
    )
    assert approved.status_code == 200, approved.text
    published = client.post(f"/api/v1/bulletins/{bid}/publish", headers=editor)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()["status"] == "published"

    feed = client.get(
        "/feeds/bulletins.atom", params={"topic": "cchc", "area": COMMUNE_A, "kind": "announcement"}
    )
    assert feed.status_code == 200
    root = ET.fromstring(feed.content)
    assert root.tag == f"{A}feed" and root.findtext(f"{A}id") and root.findtext(f"{A}updated")
    entries = root.findall(f"{A}entry")
    assert [e.findtext(f"{A}title") for e in entries] == ["Thông báo lịch tiếp công dân"]
    entry = entries[0]
    assert "hội trường" in (entry.findtext(f"{A}content") or "")
    enclosures = [
        link.get("href", "") for link in entry.findall(f"{A}link") if link.get("rel") == "enclosure"
    ]
    assert len(enclosures) == 2  # Vietnamese TTS and the Hrê recording
    public_audio = client.get(enclosures[0].replace("http://testserver", ""))
    assert public_audio.status_code == 200  # published: no sign-in needed
    assert (
        ET.fromstring(client.get("/feeds/bulletins.atom", params={"topic": "y-te"}).content).findall(
            f"{A}entry"
        )
        == []
    )

    trail = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "bulletin", AuditEvent.target_id == str(bid))
        .order_by(AuditEvent.id)
    ).all()
    for action in (
        "bulletin.create",
        "bulletin.rendition_save",
        "bulletin.rendition_audio",
        "bulletin.tts_request",
        "bulletin.submit",
        "bulletin.return",
        "bulletin.update",
        "bulletin.approve",
        "bulletin.publish",
    ):
        assert action in trail
    assert trail.index("bulletin.return") < trail.index("bulletin.update") < trail.index("bulletin.approve")
    assert trail[-1] == "bulletin.publish"

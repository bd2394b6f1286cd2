"""CAP 1.2 in and out: realistic Quảng Ngãi warnings (tests/alerts/samples) become draft alerts with
read-aloud audio and the right hazard, level, communes, loudspeakers and expiry; a person sends one; a
Cancel stops it; hostile XML (billion laughs, an external entity to a local file, 50 MB streamed) is
refused in Vietnamese, early, and counted; an exported alert validates against the schema and comes
back through ingest with the same fields."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from loa.accounts.models import AuditEvent
from loa.alerts.cap import export, parse
from loa.alerts.models import EmergencyAlert
from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.fleet import counters
from loa.speech.models import AudioAsset
from tests.fleet.world import COMMUNE_A, COMMUNE_B, IDS, commands
from tests.support.auth import bearer, login_web

SAMPLES = Path(__file__).parent / "samples"
XML = {"Content-Type": "application/cap+xml"}


def sample(name: str, *, hours: float = 6) -> bytes:
    """A sample message, its expiry moved to ``hours`` from now (the samples are dated November)."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    later = export.cap_time(utcnow() + timedelta(hours=hours))
    return re.sub(r"<expires>[^<]*</expires>", f"<expires>{later}</expires>", text).encode()


def alerts_in(engine: Engine) -> list[EmergencyAlert]:
    with make_session_factory(engine)() as s:
        rows = list(s.scalars(select(EmergencyAlert).order_by(EmergencyAlert.id)))
        s.expunge_all()
        return rows


def refusals(engine: Engine) -> dict[str, int]:
    with make_session_factory(engine)() as s:
        return {k: v for k, v in counters.totals(s).items() if k.startswith("cap.refused.")}


async def stream_to_app(web: TestClient, authorization: str, total: int) -> tuple[int, int]:
    """POST ``total`` bytes to /api/v1/cap in 64 KB chunks; (status, bytes the app pulled)."""
    chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
    state = {"pulled": 0, "status": 0}

    async def receive() -> dict[str, object]:
        if state["pulled"] == 0:
            state["pulled"] = 1
            return {"type": "http.request", "body": b"<alert>", "more_body": True}
        state["pulled"] += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": state["pulled"] < total}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = int(message["status"])  # type: ignore[call-overload]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/cap",
        "raw_path": b"/api/v1/cap",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", authorization.encode()),
            (b"content-type", b"application/cap+xml"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await web.app(scope, receive, send)  # type: ignore[arg-type]
    return state["status"], state["pulled"]


def test_storm_warning_becomes_a_draft_a_person_sends_and_a_cancel_stops(
    web: TestClient, world_engine: Engine
) -> None:
    province = bearer(web, "quantri")
    posted = web.post("/api/v1/cap", content=sample("storm-ba-to.xml"), headers={**province, **XML})
    assert posted.status_code == 202, posted.text
    assert posted.json()["outcome"] == "draft"
    assert "chờ xác nhận" in posted.json()["message"] or "cần người xác nhận" in posted.json()["message"]
    (alert,) = alerts_in(world_engine)
    assert (alert.status, alert.source, alert.source_ref) == ("draft", "cap", "VN-KTTV-QNG-2026-BAO13-001")
    assert (alert.hazard, alert.risk_level) == ("storm", 4)
    assert json.loads(alert.commune_codes) == [COMMUNE_A, COMMUNE_B] and alert.device_count == 3
    assert alert.title == "Tin bão khẩn cấp: bão số 13 đổ bộ vào Quảng Ngãi"
    assert alert.message_text is not None and "chằng chống nhà cửa" in alert.message_text
    assert alert.expires_at is not None and alert.expires_at > utcnow() + timedelta(hours=5)
    assert commands(world_engine) == []  # a draft reaches no loudspeaker
    with make_session_factory(world_engine)() as s:
        audio = s.scalars(select(AudioAsset).where(AudioAsset.sha256 == alert.audio_sha256)).one()
        assert audio.source_kind.value == "tts" and audio.duration_ms > 5_000  # the text, read aloud
        assert -20 < audio.loudness_lufs < -12  # levelled like every reading

    again = web.post("/api/v1/cap", content=sample("storm-ba-to.xml"), headers={**province, **XML})
    assert again.json()["outcome"] == "duplicate" and len(alerts_in(world_engine)) == 1

    # An Update replaces the draft: the new text waits, the old draft is withdrawn (nothing was sent).
    update = sample("storm-ba-to.xml").replace(b"BAO13-001</identifier>", b"BAO13-002</identifier>")
    update = update.replace(b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>").replace(
        b"<scope>Public</scope>",
        b"<scope>Public</scope><references>dai-kttv-quangngai@nchmf.gov.vn,VN-KTTV-QNG-2026-BAO13-001,"
        b"2026-11-05T16:00:00+07:00</references>",
    )
    updated = web.post("/api/v1/cap", content=update, headers={**province, **XML})
    assert updated.status_code == 202 and updated.json()["outcome"] == "updated", updated.text
    first, replacement = alerts_in(world_engine)
    assert (first.status, replacement.status) == ("stopped", "draft") and commands(world_engine) == []
    # The Cancel below names the first message; the update is the one a person sends.
    alert = replacement

    # The page lists the draft; a person sends it.
    login_web(web, "quantri")
    page = web.get("/alerts/cap").text
    assert "Tin bão khẩn cấp" in page and "Cấp độ 4 (đỏ)" in page and "Bão" in page
    assert 'href="/alerts/cap"' in web.get("/alerts").text
    sent = web.post(f"/api/v1/cap/drafts/{alert.id}/send", headers=province)
    assert sent.status_code == 200, sent.text
    assert {uid for uid, kind, _ in commands(world_engine) if kind == "play_now"} == {IDS.a1, IDS.a2, IDS.b1}

    cancel = sample("cancel-storm.xml").replace(
        b"VN-KTTV-QNG-2026-BAO13-001,2026-11-05T16:00:00+07:00",
        b"VN-KTTV-QNG-2026-BAO13-001,2026-11-05T16:00:00+07:00 "
        b"dai-kttv-quangngai@nchmf.gov.vn,VN-KTTV-QNG-2026-BAO13-002,2026-11-05T18:00:00+07:00",
    )
    stopped = web.post("/api/v1/cap", content=cancel, headers={**province, **XML})
    assert stopped.status_code == 202 and stopped.json()["outcome"] == "stopped"
    assert [a.status for a in alerts_in(world_engine)] == ["stopped", "stopped"]
    assert {uid for uid, kind, _ in commands(world_engine) if kind == "stop"} == {IDS.a1, IDS.a2, IDS.b1}
    with make_session_factory(world_engine)() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("alert."))))
    assert "alert.draft" in actions and "alert.start" in actions and "alert.stop" in actions


def test_flood_polygon_reaches_only_the_loudspeakers_inside(web: TestClient, world_engine: Engine) -> None:
    posted = web.post(
        "/api/v1/cap", content=sample("flood-song-lien.xml"), headers={**bearer(web, "quantri"), **XML}
    )
    assert posted.status_code == 202, posted.text
    (alert,) = alerts_in(world_engine)
    assert (alert.hazard, alert.risk_level) == ("flood", 3)  # Severe, Expected, Likely
    assert json.loads(alert.commune_codes) == [COMMUNE_A]
    target = json.loads(alert.target or "{}")
    assert target["device_uids"] == [IDS.a1] and len(target["polygon"]) == 5  # a2 is outside
    assert alert.device_count == 1


def test_out_of_scope_and_unmatched_areas_are_refused(web: TestClient, world_engine: Engine) -> None:
    commune_b = bearer(web, "vanhanh.b")
    storm = web.post("/api/v1/cap", content=sample("storm-ba-to.xml"), headers={**commune_b, **XML})
    assert storm.status_code == 403 and "ngoài địa bàn" in storm.json()["title"]
    flood = web.post("/api/v1/cap", content=sample("flood-song-lien.xml"), headers={**commune_b, **XML})
    assert flood.status_code == 422 and "không trùng với xã nào" in flood.json()["title"]
    viewer = web.post(
        "/api/v1/cap", content=sample("storm-ba-to.xml"), headers={**bearer(web, "xem.a"), **XML}
    )
    assert viewer.status_code == 403
    expired = web.post(
        "/api/v1/cap", content=sample("storm-ba-to.xml", hours=-1), headers={**bearer(web, "quantri"), **XML}
    )
    assert expired.status_code == 422 and "hết hiệu lực" in expired.json()["title"]
    assert alerts_in(world_engine) == []


def test_hostile_xml_is_refused_early_in_vietnamese_and_counted(
    web: TestClient, world_engine: Engine, tmp_path: Path
) -> None:
    province = {**bearer(web, "quantri"), **XML}
    laughs = web.post("/api/v1/cap", content=(SAMPLES / "billion-laughs.xml").read_bytes(), headers=province)
    assert laughs.status_code == 422 and "thực thể XML" in laughs.json()["title"]

    secret = tmp_path / "mat-khau.txt"
    secret.write_text("bí mật của máy chủ")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>'
    )
    refused = web.post("/api/v1/cap", content=xxe.encode(), headers=province)
    assert refused.status_code == 422 and "bí mật" not in refused.text
    assert "thực thể XML" in refused.json()["title"] or "bên ngoài" in refused.json()["title"]

    dtd_only = b'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd"><alert/>'
    assert web.post("/api/v1/cap", content=dtd_only, headers=province).status_code == 422

    # 50 MB streamed without a length: the app stops reading soon after its 512 KB limit. Driven at
    # the ASGI seam, because the test client would buffer the whole body before the app sees it.
    status, pulled = asyncio.run(stream_to_app(web, province["Authorization"], 50 * 1024 * 1024))
    assert status == 413
    assert pulled < 1024 * 1024  # read ≈ the limit plus one chunk, never the 50 MB

    invalid = web.post(
        "/api/v1/cap",
        content=b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
        headers=province,
    )
    assert invalid.status_code == 422 and "lược đồ CAP 1.2" in invalid.json()["title"]
    assert web.post("/api/v1/cap", content=b"khong phai xml", headers=province).status_code == 422

    assert alerts_in(world_engine) == []
    counted = refusals(world_engine)
    assert counted["cap.refused.entities"] >= 2 and counted["cap.refused.oversized"] == 1
    assert counted["cap.refused.schema"] == 1 and counted["cap.refused.not_xml"] == 1
    # Visible to administrators (their counters page) and to Prometheus.
    login_web(web, "quantri")
    assert "Bản tin CAP bị từ chối: khai báo thực thể XML" in web.get("/fleet/counters").text


def test_export_validates_and_round_trips_through_ingest(web: TestClient, world_engine: Engine) -> None:
    province = bearer(web, "quantri")
    web.post("/api/v1/cap", content=sample("flood-song-lien.xml"), headers={**province, **XML})
    (alert,) = alerts_in(world_engine)
    exported = web.get(f"/api/v1/alerts/{alert.id}.cap", headers=province)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/cap+xml")
    parse.validate(exported.content)  # the shipped OASIS schema accepts it
    message = parse.parse(exported.content)
    assert message.identifier == f"loa@localhost.alert.{alert.id}" and message.msg_type == "Alert"

    # Ingested again as another system would: the same hazard, level, communes, loudspeakers, expiry.
    again = web.post("/api/v1/cap", content=exported.content, headers={**province, **XML})
    assert again.status_code == 202, again.text
    _, copy = alerts_in(world_engine)
    assert (copy.hazard, copy.risk_level) == (alert.hazard, alert.risk_level)
    assert copy.commune_codes == alert.commune_codes and copy.expires_at == alert.expires_at.replace(
        microsecond=0
    )
    assert json.loads(copy.target or "{}")["device_uids"] == [IDS.a1]
    assert (
        copy.title == alert.title and alert.message_text and alert.message_text in (copy.message_text or "")
    )

    # The Atom feed lists active alerts only: the drafts are not there until one is sent.
    assert "<entry>" not in web.get("/api/v1/cap/alerts.atom", headers=province).text
    web.post(f"/api/v1/cap/drafts/{alert.id}/send", headers=province)
    feed = web.get("/api/v1/cap/alerts.atom", headers=province)
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert f"/api/v1/alerts/{alert.id}.cap" in feed.text and "Cảnh báo lũ trên sông Liên" in feed.text

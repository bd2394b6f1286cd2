"""The exchange pages through the real forms (TestClient): an administrator registers a connected system
and issues its key (shown once); a commune operator schedules, orders or declines bulletins from above
in the inbox; the figures lower systems reported; what a person without the right does not get."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.alerts.service import aired_audio
from loa.content import renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.exchange import inbox
from loa.exchange.audio import ingest_now
from loa.exchange.models import ExchangeKey, ExchangePeer, InboxItem, InboxState, OutboxMessage, PeerRelation
from loa.exchange.peers import Caller
from loa.exchange.wire import BulletinIn
from loa.settings import Settings
from loa.speech.service import SpeechContext
from tests.exchange.conftest import connect
from tests.exchange.world import BA_TO, VIETNAM, bulletin_body, people, tone
from tests.support.auth import login_web


@pytest.fixture
def client(app: FastAPI, lower: Session) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _received(
    lower: Session, caller: Caller, speech: SpeechContext, settings: Settings, rid: str, priority: str
) -> InboxItem:
    item = inbox.receive_bulletin(
        lower,
        caller=caller,
        data=BulletinIn.model_validate(
            bulletin_body(rid, priority, [BA_TO], tone(1.0), title=f"Tin cấp trên {rid}")
        ),
        speech_context=speech,
        context=inbox.Context(settings.data_dir, utcnow(), aired_audio(settings)),
    )
    lower.commit()
    return item


def test_an_administrator_registers_a_system_and_its_key_is_shown_once(
    client: TestClient, lower: Session
) -> None:
    csrf = login_web(client, "quantri")
    added = client.post(
        "/exchange/connections",
        data={
            "csrf_token": csrf,
            "name": "Hệ thống thông tin nguồn trung ương",
            "relation": "upper",
            "areas": [BA_TO],
            "push_url": "https://ttn.example.gov.vn/api/exchange/v1",
            "push_key": "lx_1234567890abcdef.khoa-cua-ho",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    peer = lower.scalars(select(ExchangePeer)).one()
    assert peer.push_key_encrypted and "khoa-cua-ho" not in peer.push_key_encrypted
    page = client.post(f"/exchange/connections/{peer.id}/keys", data={"csrf_token": csrf})
    shown = re.search(r'data-testid="new-key">([^<]+)<', page.text)
    assert shown and shown.group(1).startswith("lx_")
    again = client.get("/exchange/connections").text
    assert shown.group(1) not in again and "Xã Ba Tơ" in again
    key = lower.scalars(select(ExchangeKey)).one()
    assert shown.group(1).split(".")[1] not in key.secret_sha256
    bad = client.post(
        "/exchange/connections", data={"csrf_token": csrf, "name": "Thiếu địa bàn", "relation": "lower"}
    )
    assert bad.status_code == 422 and "Hãy chọn ít nhất một địa bàn" in bad.text
    client.post("/logout", data={"csrf_token": csrf})
    login_web(client, "vanhanh.bato")
    assert client.get("/exchange/connections").status_code == 403


def test_an_operator_decides_in_the_inbox(
    client: TestClient, lower: Session, upper_caller: Caller, speech: SpeechContext, settings: Settings
) -> None:
    normal = _received(lower, upper_caller, speech, settings, "n-1", "normal")
    other = _received(lower, upper_caller, speech, settings, "n-2", "normal")
    csrf = login_web(client, "vanhanh.bato")
    page = client.get("/exchange").text
    assert "Tin cấp trên n-1" in page and "Chờ xã xếp lịch" in page and "Xếp lịch phát" in page
    when = (utcnow() + timedelta(hours=2)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    done = client.post(
        f"/exchange/inbox/{normal.id}/schedule",
        data={"csrf_token": csrf, "start_local": when},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Đã xếp lịch phát tin của cấp trên" in client.get("/exchange").text
    refused = client.post(f"/exchange/inbox/{other.id}/decline", data={"csrf_token": csrf, "reason": ""})
    assert refused.status_code == 422 and "Hãy ghi lý do không phát" in refused.text
    client.post(
        f"/exchange/inbox/{other.id}/decline", data={"csrf_token": csrf, "reason": "Trùng nội dung đã phát"}
    )
    lower.expire_all()
    assert lower.get_one(InboxItem, normal.id).state is InboxState.SCHEDULED
    assert lower.get_one(InboxItem, other.id).state is InboxState.DECLINED
    assert {m.kind for m in lower.scalars(select(OutboxMessage))} == {"ack"}
    forged = client.post(f"/exchange/inbox/{other.id}/decline", data={"reason": "x"})
    assert forged.status_code == 403


def test_the_statistics_page_shows_what_lower_systems_reported(client: TestClient, lower: Session) -> None:

    caller, token = connect(
        lower, relation=PeerRelation.LOWER, areas=[BA_TO], name="Hệ thống xã Ba Tơ", push_url=""
    )
    lower.commit()
    now = utcnow()
    plays = {
        "plays": [
            {
                "key": "loa-x:1",
                "device": "loa-x",
                "commune_code": BA_TO,
                "started_at": now.isoformat(),
                "ended_at": (now + timedelta(minutes=3)).isoformat(),
                "outcome": "played",
            }
        ]
    }
    assert (
        client.post(
            "/api/exchange/v1/plays",
            json=plays,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"},
        ).status_code
        == 200
    )
    login_web(client, "quantri")
    page = client.get("/exchange/statistics").text
    assert "Hệ thống xã Ba Tơ" in page and "Xã Ba Tơ" in page and "01 lượt phát trọn vẹn" not in page
    assert re.search(r"<td>Xã Ba Tơ</td><td class=\"num\">1</td>", page)
    assert caller.peer.name in page


def test_an_approved_bulletin_is_sent_down_from_the_page(
    client: TestClient, lower: Session, speech: SpeechContext
) -> None:

    caller, _ = connect(
        lower,
        relation=PeerRelation.LOWER,
        areas=[BA_TO],
        name="Hệ thống huyện cũ Ba Tơ",
        push_url="http://huyen.example/api/exchange/v1",
    )
    staff = people(lower)
    bulletin = content.create_bulletin(
        lower,
        principal=staff["vanhanh.bato"],
        draft=DraftInput(
            title="Lịch cắt điện tuần sau", body="Cắt điện thứ Ba.", priority="priority", area_code=BA_TO
        ),
    )
    asset = ingest_now(lower, context=speech, filename="tone.wav", title="Âm thanh thử", data=tone(1.5).data)
    renditions.attach_recording(
        lower,
        principal=staff["vanhanh.bato"],
        bulletin_id=bulletin.id,
        language="vi",
        audio_sha256=asset.sha256,
        duration_ms=asset.duration_ms,
    )
    content.transition(lower, principal=staff["vanhanh.bato"], bulletin_id=bulletin.id, action=Action.SUBMIT)
    content.transition(lower, principal=staff["quantri"], bulletin_id=bulletin.id, action=Action.APPROVE)
    lower.commit()
    csrf = login_web(client, "vanhanh.bato")
    page = client.get("/exchange/sent").text
    assert "Lịch cắt điện tuần sau" in page and "Hệ thống huyện cũ Ba Tơ" in page
    sent = client.post(
        "/exchange/sent",
        data={
            "csrf_token": csrf,
            "peer_id": str(caller.peer.id),
            "bulletin_id": str(bulletin.id),
            "communes": [BA_TO],
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    message = lower.scalars(select(OutboxMessage).where(OutboxMessage.kind == "bulletin")).one()
    body = BulletinIn.model_validate_json(message.body)  # what goes down is a valid push
    assert body.priority == "priority" and body.areas == [BA_TO] and body.audio.sha256 == asset.sha256
    listed = client.get("/exchange/sent").text
    assert "Chờ gửi" in listed and "Đã gửi, chưa có phản hồi" in listed
    refused = client.post(
        "/exchange/sent",
        data={
            "csrf_token": csrf,
            "peer_id": str(caller.peer.id),
            "bulletin_id": str(bulletin.id),
            "communes": ["21490"],
        },
    )
    assert refused.status_code == 403 and "ngoài địa bàn bạn phụ trách" in refused.text

"""The exchange API over HTTP (TestClient): keys of connected systems, area scope, the rate limit, the
call log, idempotent pushes, size limits, the old codes, what lower systems report, and the OpenAPI
document of this API alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.exchange import peers
from loa.exchange.models import (
    ExchangeCall,
    InboxItem,
    PeerRelation,
    ReceivedMessage,
    RemotePlay,
    RemoteSnapshot,
)
from tests.exchange.conftest import connect
from tests.exchange.world import BA_TO, BA_VI, DISTRICT, OLD_BA_CUNG, bulletin_body, people, tone

API = "/api/exchange/v1"


@pytest.fixture
def client(app: FastAPI, lower: Session) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def key_for(
    session: Session, *, relation: PeerRelation, areas: list[str], name: str, **extra: object
) -> dict[str, str]:
    caller, token = connect(session, relation=relation, areas=areas, name=name, push_url="")
    for field, value in extra.items():
        setattr(caller.peer, field, value)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def calls(session: Session) -> list[ExchangeCall]:
    session.expire_all()
    return list(session.scalars(select(ExchangeCall).order_by(ExchangeCall.id)))


def test_calls_without_a_valid_key_are_refused_in_vietnamese_and_logged(
    client: TestClient, lower: Session
) -> None:
    headers = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương")
    forged = {"Authorization": headers["Authorization"][:-3] + "xyz"}
    for sent in ({}, {"Authorization": "Bearer loa_not-an-exchange-key"}, forged):
        response = client.get(f"{API}/clusters", headers=sent)
        assert response.status_code == 401
        assert response.json()["title"].startswith("Khóa kết nối không hợp lệ")
    logged = calls(lower)
    assert [(c.peer_id, c.status, c.path) for c in logged] == [(None, 401, f"{API}/clusters")] * 3
    admin = people(lower)["quantri"]
    key_id = headers["Authorization"].split()[1].split(".")[0]
    peers.revoke_key(lower, principal=admin, key_id=key_id)
    lower.commit()
    assert client.get(f"{API}/clusters", headers=headers).status_code == 401


def test_a_system_reads_only_its_own_areas(client: TestClient, lower: Session) -> None:
    headers = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Sở TTTT")
    clusters = client.get(f"{API}/clusters", headers=headers).json()
    assert sorted(c["id"] for c in clusters) == ["loa-a00000000001", "loa-a00000000002"]
    assert {c["commune_code"] for c in clusters} == {BA_TO}
    assert clusters[0]["former_codes"] == [DISTRICT]  # what the old list called its area
    status = client.get(f"{API}/clusters/status", headers=headers).json()
    assert {s["id"] for s in status} == {c["id"] for c in clusters} and not any(s["online"] for s in status)
    stations = client.get(f"{API}/stations", headers=headers).json()
    assert [s["name"] for s in stations] == ["Đài truyền thanh xã Ba Tơ"]
    refused = client.get(f"{API}/clusters", params={"area": BA_VI}, headers=headers)
    assert refused.status_code == 422 and "không thuộc phạm vi" in refused.json()["title"]
    logged = calls(lower)
    assert {c.peer_id for c in logged} == {lower.scalars(select(ExchangeCall.peer_id)).first()} != {None}
    assert [c.status for c in logged] == [200, 200, 200, 422]


def test_old_codes_are_mapped_to_todays_units(client: TestClient, lower: Session) -> None:
    headers = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương")
    answer = client.get(
        f"{API}/area-codes",
        params=[("code", c) for c in (BA_TO, DISTRICT, OLD_BA_CUNG, "99999")],
        headers=headers,
    ).json()
    assert [(a["code"], a["current"], a["valid"]) for a in answer] == [
        (BA_TO, [BA_TO], True),
        (DISTRICT, [BA_TO], False),
        (OLD_BA_CUNG, [BA_TO], False),
        ("99999", [], False),
    ]


def test_the_rate_limit_is_per_system_and_says_when_to_try_again(client: TestClient, lower: Session) -> None:
    slow = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương", rate_limit_per_min=3)
    other = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Sở TTTT")
    for _ in range(3):
        assert client.get(f"{API}/stations", headers=slow).status_code == 200
    refused = client.get(f"{API}/stations", headers=slow)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "quá 3 lần trong một phút" in refused.json()["title"]
    assert client.get(f"{API}/stations", headers=other).status_code == 200
    old = calls(lower)
    for call in old[:4]:  # a minute later the window has room again
        call.at = utcnow() - timedelta(minutes=2)
    lower.commit()
    assert client.get(f"{API}/stations", headers=slow).status_code == 200


def test_a_push_is_applied_once_and_its_answer_replayed(client: TestClient, lower: Session) -> None:
    headers = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương")
    body = bulletin_body("tw-100", "normal", [BA_TO], tone(1.0))
    malformed = client.post(f"{API}/bulletins", json={**body, "priority": "khẩn"}, headers=headers)
    assert malformed.status_code == 422 and calls(lower)[-1].status == 422  # logged with its answer
    missing = client.post(f"{API}/bulletins", json=body, headers=headers)
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json()["title"]
    first = client.post(f"{API}/bulletins", json=body, headers={**headers, "Idempotency-Key": "b-1"})
    again = client.post(f"{API}/bulletins", json=body, headers={**headers, "Idempotency-Key": "b-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    assert first.json()["state"] == "received" and first.json()["state_label"] == "Chờ xã xếp lịch"
    assert len(list(lower.scalars(select(InboxItem)))) == 1
    assert len(list(lower.scalars(select(ReceivedMessage)))) == 1
    status = client.get(f"{API}/bulletins/tw-100/status", headers=headers).json()
    assert status["state"] == "received" and status["communes"] == [BA_TO]


def test_only_a_higher_system_pushes_bulletins_and_only_a_lower_one_reports(
    client: TestClient, lower: Session
) -> None:
    upper = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương")
    below = key_for(lower, relation=PeerRelation.LOWER, areas=[BA_TO], name="Hệ thống huyện cũ")
    body = bulletin_body("x-1", "emergency", [BA_TO], tone(1.0))
    refused = client.post(f"{API}/bulletins", json=body, headers={**below, "Idempotency-Key": "x"})
    assert refused.status_code == 403 and "cấp trên" in refused.json()["title"]
    plays = {"plays": []}
    assert (
        client.post(f"{API}/plays", json=plays, headers={**upper, "Idempotency-Key": "p"}).status_code == 403
    )


def test_an_oversized_push_is_refused_before_it_is_read(
    app: FastAPI, client: TestClient, lower: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"exchange_max_body_bytes": 2048})
    headers = key_for(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="Trung ương")
    body = bulletin_body("big-1", "normal", [BA_TO], tone(1.0))
    refused = client.post(f"{API}/bulletins", json=body, headers={**headers, "Idempotency-Key": "big"})
    assert refused.status_code == 413 and refused.json()["title"].startswith("Dữ liệu gửi quá lớn")
    assert lower.scalar(select(InboxItem.id)) is None
    assert calls(lower)[-1].status == 413


def test_a_lower_system_reports_plays_once_each_and_only_for_its_communes(
    client: TestClient, lower: Session
) -> None:
    headers = key_for(lower, relation=PeerRelation.LOWER, areas=[BA_TO], name="Hệ thống xã Ba Tơ")
    now = utcnow()

    def play(key: str, commune: str = BA_TO) -> dict[str, object]:
        return {
            "key": key,
            "device": "loa-x00000000001",
            "commune_code": commune,
            "title": "Bản tin sáng",
            "started_at": now.isoformat(),
            "ended_at": (now + timedelta(seconds=90)).isoformat(),
            "outcome": "played",
        }

    first = client.post(
        f"{API}/plays",
        json={"plays": [play("d:1"), play("d:2")]},
        headers={**headers, "Idempotency-Key": "p1"},
    )
    assert first.json() == {"accepted": 2, "duplicates": 0}
    overlap = client.post(
        f"{API}/plays",
        json={"plays": [play("d:2"), play("d:3")]},
        headers={**headers, "Idempotency-Key": "p2"},
    )
    assert overlap.json() == {"accepted": 1, "duplicates": 1}
    outside = client.post(
        f"{API}/plays", json={"plays": [play("d:9", BA_VI)]}, headers={**headers, "Idempotency-Key": "p3"}
    )
    assert outside.status_code == 403 and "Ba Vì" in outside.json()["title"]
    assert sorted(lower.scalars(select(RemotePlay.receipt_key))) == ["d:1", "d:2", "d:3"]
    unknown = client.post(
        f"{API}/acks",
        json={"id": "sent-999", "state": "aired", "plays": 1, "at": now.isoformat()},
        headers={**headers, "Idempotency-Key": "a1"},
    )
    assert unknown.status_code == 404
    snapshot = {"kind": "inventory", "body": {"status": [{"id": "loa-x00000000001", "online": True}]}}
    assert (
        client.post(
            f"{API}/snapshots", json=snapshot, headers={**headers, "Idempotency-Key": "s1"}
        ).status_code
        == 200
    )
    assert lower.scalars(select(RemoteSnapshot)).one().body["status"][0]["online"] is True


def test_the_api_has_its_own_openapi_document(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    assert spec["info"]["version"].startswith("1")
    assert set(spec["paths"]) >= {f"{API}/bulletins", f"{API}/clusters", f"{API}/plays", f"{API}/statistics"}
    assert all(path.startswith(API) for path in spec["paths"])
    assert {"get", "post"} <= set(spec["paths"][f"{API}/bulletins"])
    page = client.get(f"{API}/docs").text
    assert "/api/exchange/v1/openapi.json" in page and "<script>" not in page

"""The outbound connector against a fake transport: order per system, back-off, giving up on a refusal,
the lease, the idempotency key on every attempt, the keys it presents (direct, or through an LGSP
token), and the play-log cursor that never queues a receipt twice."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from loa.db.base import utcnow
from loa.errors import LoaError
from loa.exchange import connector, outbox, sealing
from loa.exchange.models import ExchangePeer, OutboxMessage, PeerRelation
from loa.exchange.transport import LgspToken, Reply, TransportError
from loa.fleet import ingest
from loa.protocol import messages as m
from tests.exchange.conftest import SECRET, connect
from tests.exchange.world import BA_TO

Responder = Callable[[str, Mapping[str, str], bytes], Reply]


@dataclass
class FakeTransport:
    """Records every post; answers with ``respond`` (200 by default)."""

    respond: Responder = lambda url, headers, body: Reply(200, b"{}")
    posts: list[tuple[str, dict[str, str], dict[str, object]]] = field(default_factory=list)
    forms: list[tuple[str, dict[str, str], tuple[str, str]]] = field(default_factory=list)
    token_replies: list[Reply] = field(default_factory=list)

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Reply:
        self.posts.append((url, dict(headers), json.loads(body)))
        return self.respond(url, headers, body)

    def post_form(self, url: str, *, form: Mapping[str, str], auth: tuple[str, str]) -> Reply:
        self.forms.append((url, dict(form), auth))
        return (
            self.token_replies.pop(0)
            if self.token_replies
            else Reply(200, b'{"access_token":"t","expires_in":3600}')
        )


def queue(session: Session, peer: ExchangePeer, key: str) -> None:
    outbox.enqueue(session, peer=peer, kind="ack", key=key, body={"id": key})


def messages(session: Session) -> dict[str, OutboxMessage]:
    session.expire_all()
    return {r.idempotency_key: r for r in session.scalars(select(OutboxMessage))}


def deliver(
    sessions: sessionmaker[Session], transport: FakeTransport, lgsp: LgspToken | None = None
) -> connector.Delivery:
    return connector.deliver_due(sessions, transport=transport, secret_key=SECRET, lgsp=lgsp)


def test_a_failing_system_keeps_its_order_and_backs_off_while_others_go_on(
    lower: Session, sessions: sessionmaker[Session]
) -> None:
    a, _ = connect(
        lower,
        relation=PeerRelation.UPPER,
        areas=[BA_TO],
        name="A",
        push_url="http://a.example/api/exchange/v1",
    )
    b, _ = connect(
        lower,
        relation=PeerRelation.UPPER,
        areas=[BA_TO],
        name="B",
        push_url="http://b.example/api/exchange/v1",
    )
    for key in ("a1", "a2"):
        queue(lower, a.peer, key)
    queue(lower, b.peer, "b1")
    assert not outbox.enqueue(lower, peer=a.peer, kind="ack", key="a1", body={"id": "again"})  # queued once
    lower.commit()
    down = FakeTransport(
        lambda url, h, body: (
            Reply(503, b'{"title":"B\\u1ea3o tr\\u00ec"}') if "a.example" in url else Reply(200, b"{}")
        )
    )
    done = deliver(sessions, down)
    assert (done.sent, done.retried, done.gave_up) == (1, 1, 0)
    assert [p[2]["id"] for p in down.posts] == ["a1", "b1"]  # a2 waits behind a1
    rows = messages(lower)
    assert rows["a1"].attempts == 1 and rows["a1"].last_error == "503: Bảo trì" and rows["a1"].sent_at is None
    assert timedelta(seconds=4) < rows["a1"].next_attempt_at - utcnow() <= timedelta(seconds=5)
    assert rows["a2"].attempts == 0 and rows["b1"].sent_at is not None
    assert deliver(sessions, down).sent == 0 and len(down.posts) == 2  # backing off: nothing tried
    lower.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    lower.commit()
    up = FakeTransport()
    assert deliver(sessions, up).sent == 2
    assert [p[2]["id"] for p in up.posts] == ["a1", "a2"]
    assert [p[1]["Idempotency-Key"] for p in up.posts] == ["a1", "a2"]
    assert up.posts[0][1]["Authorization"] == "Bearer lx_0000000000000000.their-key-for-us"
    assert up.posts[0][0] == "http://a.example/api/exchange/v1/acks"


def test_a_refused_message_is_given_up_until_someone_sends_it_again(
    lower: Session, sessions: sessionmaker[Session]
) -> None:
    a, _ = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="A")
    queue(lower, a.peer, "bad")
    lower.commit()
    refused = FakeTransport(
        lambda url, h, body: Reply(422, b'{"title":"D\\u1eef li\\u1ec7u kh\\u00f4ng h\\u1ee3p l\\u1ec7."}')
    )
    assert deliver(sessions, refused).gave_up == 1
    assert messages(lower)["bad"].gave_up_at is not None
    assert deliver(sessions, refused).gave_up == 0  # not tried again by itself
    outbox.retry_now(lower, message_id=messages(lower)["bad"].id)
    lower.commit()
    assert deliver(sessions, FakeTransport()).sent == 1


def test_no_answer_at_all_is_retried_and_a_lease_keeps_two_connectors_apart(
    lower: Session, sessions: sessionmaker[Session]
) -> None:
    a, _ = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="A")
    queue(lower, a.peer, "x")
    lower.commit()

    def cut(url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise TransportError("ConnectError: [Errno 111] Connection refused")

    assert deliver(sessions, FakeTransport(cut)).retried == 1
    row = messages(lower)["x"]
    assert "Connection refused" in row.last_error and row.lease_until is None
    lower.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    lower.commit()
    now = utcnow()
    assert outbox.claim(lower, message_id=row.id, now=now)
    assert not outbox.claim(lower, message_id=row.id, now=now)  # held by the first
    lower.commit()
    assert deliver(sessions, FakeTransport()).sent == 0  # leased elsewhere: left alone
    assert outbox.claim(
        lower, message_id=row.id, now=now + outbox.LEASE + timedelta(seconds=1)
    )  # lease ran out


def test_through_an_lgsp_the_token_is_fetched_once_and_renewed_when_refused(
    lower: Session, sessions: sessionmaker[Session]
) -> None:
    a, _ = connect(
        lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="A", push_url="http://lgsp.example/forward/tw"
    )
    a.peer.via_lgsp = True
    for key in ("l1", "l2", "l3"):
        queue(lower, a.peer, key)
    lower.commit()
    lgsp = LgspToken("http://lgsp.example/token", "loa-quang-ngai", "s3cret")
    seen: list[str] = []

    def gateway(url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        seen.append(headers["Authorization"])
        return Reply(401, b"") if headers["Authorization"] == "Bearer old" else Reply(200, b"{}")

    transport = FakeTransport(gateway, token_replies=[Reply(200, b'{"access_token":"t1","expires_in":3600}')])
    assert deliver(sessions, transport, lgsp).sent == 3
    assert len(transport.forms) == 1 and transport.forms[0][1] == {"grant_type": "client_credentials"}
    assert transport.forms[0][2] == ("loa-quang-ngai", "s3cret")
    assert seen == ["Bearer t1"] * 3
    assert {p[1]["X-Loa-Exchange-Key"] for p in transport.posts} == {"lx_0000000000000000.their-key-for-us"}
    lgsp._token = "old"  # the gateway revoked it meanwhile
    queue(lower, a.peer, "l4")
    lower.commit()
    assert deliver(sessions, transport, lgsp).sent == 1 and lgsp.fetched == 2


def test_play_receipts_are_queued_once_in_order_behind_a_cursor(
    lower: Session, sessions: sessionmaker[Session]
) -> None:
    a, _ = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO], name="A")
    now = utcnow()

    def batch(uid: str, *ids: str) -> ingest.Event:
        receipts = [
            m.Receipt(
                receipt_id=rid,
                seq=n,
                item_id="a.1",
                audio_sha256="a" * 64,
                started_at=now,
                ended_at=now + timedelta(seconds=3),
                outcome="played",
            )
            for n, rid in enumerate(ids)
        ]
        return (uid, now, m.ReceiptBatch(sent_at=now, receipts=receipts))

    ingest.write_events(
        lower, events=[batch("loa-a00000000001", "r1", "r2"), batch("loa-b00000000001", "r1")]
    )
    lower.commit()
    assert connector.queue_plays(lower, peer=a.peer) == 2  # Ba Vì's is not this system's
    assert connector.queue_plays(lower, peer=a.peer) == 0
    ingest.write_events(lower, events=[batch("loa-a00000000002", "r9")])
    assert connector.queue_plays(lower, peer=a.peer) == 1
    lower.commit()
    sent = [json.loads(r.body) for r in messages(lower).values() if r.kind == "plays"]
    keys = [p["key"] for body in sent for p in body["plays"]]  # type: ignore[union-attr]
    assert sorted(keys) == ["loa-a00000000001:r1", "loa-a00000000001:r2", "loa-a00000000002:r9"]
    assert {p["commune_code"] for body in sent for p in body["plays"]} == {BA_TO}  # type: ignore[union-attr]


def test_keys_other_systems_gave_us_are_kept_encrypted() -> None:
    sealed = sealing.seal("lx_abc.secret", secret_key=SECRET)
    assert "secret" not in sealed and sealing.unseal(sealed, secret_key=SECRET) == "lx_abc.secret"
    with pytest.raises(LoaError, match="nhập lại khóa"):
        sealing.unseal(sealed, secret_key="another-secret-key-0123456789abcdef")

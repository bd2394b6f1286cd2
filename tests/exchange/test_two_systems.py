"""Two Loa systems in one test: each its own app, database and data folder, served by uvicorn on its own
port, talking real HTTP through their connectors (``loa exchange run`` does the same rounds).

The upper system (a central source system) sends an emergency, a priority and a normal bulletin down;
the lower one (a province) applies Circular 39's three rules: the emergency is a group "play now" at
the emergency rung for every loudspeaker of the commune at once, the priority bulletin an announcement
ahead of the programmes, the normal one waits for the commune's choice. The loudspeakers' receipts
(through the gateway's own ingest) go back up as acknowledgements and play logs, and the upper
system's statistics show them. Then the link is cut mid-push (answers lost, the server stopped and
started again, the connector process restarted): nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from loa.alerts.models import EmergencyAlert
from loa.alerts.service import aired_audio
from loa.app import create_app
from loa.content import renditions
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.errors import PermissionDenied
from loa.exchange import connector, inbox, lower, peers, sending
from loa.exchange.audio import ingest_now
from loa.exchange.models import (
    ExchangeCall,
    InboxItem,
    InboxState,
    OutboxMessage,
    PeerRelation,
    ReceivedMessage,
    RemotePlay,
    SentBulletin,
)
from loa.exchange.transport import HttpTransport, LgspToken, Reply, TransportError
from loa.fleet import ingest
from loa.fleet.models import DeviceCommandBatch, DeviceManifest, PlayReceipt
from loa.protocol import itemids
from loa.protocol import messages as m
from loa.protocol.manifest import decode_manifest
from loa.schedule.models import Announcement
from loa.settings import Settings
from loa.speech.service import SpeechContext
from loa.wiring import wire
from tests.conftest import Backend
from tests.exchange.fake_lgsp import FakeLgsp
from tests.exchange.servers import Live
from tests.exchange.world import BA_TO, BA_VI, PROVINCE, people, seed_lower, seed_upper, speech_context, tone

pytestmark = pytest.mark.slow


@dataclass
class System:
    settings: Settings
    engine: Engine
    app: FastAPI
    live: Live
    speech: SpeechContext

    @property
    def sessions(self) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = self.app.state.session_factory
        return factory

    @property
    def secret(self) -> str:
        return self.settings.secret_key.get_secret_value()


def _system(engine: Engine, root: Path, secret: str, seed: Callable[[Session], None]) -> System:
    settings = Settings(demo=True, data_dir=root, secret_key=secret)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine)
    with app.state.session_factory() as s, s.begin():
        seed(s)
    return System(settings, engine, app, Live(app), speech_context(settings.audio_dir))


def _link(upper: System, below: System) -> None:
    """Each system registers the other and hands it a key; each knows the other's address."""
    with upper.sessions() as u, u.begin():
        admin = people(u)["quantri"]
        on_upper = peers.create_peer(
            u,
            principal=admin,
            name="Hệ thống thông tin nguồn tỉnh Quảng Ngãi",
            relation=PeerRelation.LOWER,
            area_codes=[PROVINCE],
            secret_key=upper.secret,
        )
        key_for_lower = peers.issue_key(u, principal=admin, peer_id=on_upper.id).token
    with below.sessions() as lw, lw.begin():
        admin = people(lw)["quantri"]
        on_lower = peers.create_peer(
            lw,
            principal=admin,
            name="Hệ thống thông tin nguồn trung ương",
            relation=PeerRelation.UPPER,
            area_codes=[PROVINCE],
            push_url=upper.live.api,
            push_key=key_for_lower,
            secret_key=below.secret,
        )
        key_for_upper = peers.issue_key(lw, principal=admin, peer_id=on_lower.id).token
    with upper.sessions() as u, u.begin():
        peers.set_push_target(
            u,
            principal=people(u)["quantri"],
            peer_id=on_upper.id,
            push_url=below.live.api,
            push_key=key_for_upper,
            via_lgsp=False,
            secret_key=upper.secret,
        )


@pytest.fixture
def systems(backend: Backend, tmp_path: Path) -> Iterator[tuple[System, System]]:
    with backend.database() as upper_engine, backend.database() as lower_engine:
        upper = _system(upper_engine, tmp_path / "upper", "upper-secret-key-0123456789abcdef", seed_upper)
        below = _system(lower_engine, tmp_path / "lower", "lower-secret-key-0123456789abcdef", seed_lower)
        _link(upper, below)
        upper.live.start()
        below.live.start()
        try:
            yield upper, below
        finally:
            upper.live.stop()
            below.live.stop()


def _approved(system: System, title: str, priority: str, seconds: float) -> int:
    """A bulletin written, read aloud (a real recording), submitted and approved on the upper system."""
    with system.sessions() as s, s.begin():
        staff = people(s)
        bulletin = content.create_bulletin(
            s,
            principal=staff["bientap"],
            draft=DraftInput(
                title=title, body=f"{title}. Đề nghị bà con chú ý.", priority=priority, area_code=PROVINCE
            ),
        )
        asset = ingest_now(
            s,
            context=system.speech,
            filename="tone.wav",
            title="Âm thanh thử",
            data=tone(seconds, 500.0 + seconds).data,
        )
        renditions.attach_recording(
            s,
            principal=staff["bientap"],
            bulletin_id=bulletin.id,
            language="vi",
            audio_sha256=asset.sha256,
            duration_ms=asset.duration_ms,
        )
        content.transition(s, principal=staff["bientap"], bulletin_id=bulletin.id, action=Action.SUBMIT)
        content.transition(s, principal=staff["duyet"], bulletin_id=bulletin.id, action=Action.APPROVE)
        return bulletin.id


def _send_down(upper: System, bulletin_id: int, communes: list[str]) -> int:
    with upper.sessions() as s, s.begin():
        peer = sending.lower_peers(s)[0]
        sent = sending.send_bulletin(
            s,
            principal=people(s)["duyet"],
            peer_id=peer.id,
            bulletin_id=bulletin_id,
            area_codes=communes,
            store=upper.speech.store,
            now=utcnow(),
        )
        return sent.id


def _play(below: System, uid: str, item_id: str, receipt_id: str, seconds: int = 3) -> None:
    """A loudspeaker's receipt, written by the gateway's own ingest (what MQTT would deliver)."""
    now = utcnow()
    receipt = m.Receipt(
        receipt_id=receipt_id,
        seq=1,
        item_id=item_id,
        audio_sha256="b" * 64,
        started_at=now,
        ended_at=now + timedelta(seconds=seconds),
        outcome="played",
    )
    with below.sessions() as s, s.begin():
        ingest.write_events(s, events=[(uid, now, m.ReceiptBatch(sent_at=now, receipts=[receipt]))])


def _due_now(system: System) -> None:
    """The back-off has passed (without waiting for it in a test)."""
    with system.sessions() as s, s.begin():
        s.execute(
            update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(next_attempt_at=utcnow())
        )


@dataclass
class Flaky:
    """The real HTTP transport, with a hook before/after each post that may cut the link."""

    real: HttpTransport
    hook: Callable[[int, Callable[[], Reply]], Reply]
    count: int = 0

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> Reply:
        self.count += 1
        return self.hook(self.count, lambda: self.real.post(url, body=body, headers=headers))

    def post_form(self, url: str, *, form: Mapping[str, str], auth: tuple[str, str]) -> Reply:
        return self.real.post_form(url, form=form, auth=auth)


def test_two_systems_exchange_bulletins_acknowledgements_and_play_logs(
    systems: tuple[System, System],
) -> None:
    upper, below = systems
    transport = HttpTransport(10.0)
    ids = {
        "emergency": _approved(upper, "Cảnh báo lũ quét trên sông Liên", "emergency", 2.0),
        "priority": _approved(upper, "Thông báo lịch tiêm chủng đợt 2", "priority", 3.0),
        "normal": _approved(upper, "Tuyên truyền cải cách hành chính", "normal", 4.0),
    }
    sent = {p: _send_down(upper, b, [BA_TO] if p != "normal" else [BA_TO, BA_VI]) for p, b in ids.items()}
    done = connector.deliver_due(upper.sessions, transport=transport, secret_key=upper.secret)
    assert done.sent == 3 and done.retried == 0

    # The lower system applied the three rules when each push arrived.
    with below.sessions() as s:
        items = {i.remote_id: i for i in s.scalars(select(InboxItem))}
        emergency, priority, normal = (items[f"sent-{sent[p]}"] for p in ("emergency", "priority", "normal"))
        assert emergency.state is InboxState.SCHEDULED and emergency.alert_id is not None
        batch = s.scalars(select(DeviceCommandBatch)).one()  # issued while the push was answered
        command = json.loads(batch.payload)
        assert batch.group_code == BA_TO and command["args"]["priority"] == 900
        assert batch.issued_at - emergency.received_at < timedelta(seconds=5)
        assert priority.state is InboxState.SCHEDULED
        announcement = s.get_one(Announcement, priority.announcement_id)
        assert announcement.priority == 500 and announcement.asap
        assert normal.state is InboxState.RECEIVED and normal.commune_codes == [BA_TO, BA_VI]
        announcement_item = itemids.announcement_item(str(announcement.id))
        manifests = [decode_manifest(r.body) for r in s.scalars(select(DeviceManifest))]
        assert any(i.id == announcement_item and i.priority == 500 for mf in manifests for i in mf.items)
        emergency_item = itemids.command_item(batch.id)

    # The normal bulletin went to Ba Tơ and Ba Vì: Ba Tơ's operator may not decide for Ba Vì too, the
    # province's administrator schedules it.
    with below.sessions() as s, pytest.raises(PermissionDenied, match="Ba Vì"):
        inbox.schedule_item(
            s,
            principal=people(s)["vanhanh.bato"],
            item_id=normal.id,
            start_at=utcnow() + timedelta(hours=3),
            keep_overlap=False,
            context=inbox.Context(below.settings.data_dir, utcnow(), aired_audio(below.settings)),
        )
    with below.sessions() as s, s.begin():
        inbox.schedule_item(
            s,
            principal=people(s)["quantri"],
            item_id=normal.id,
            start_at=(utcnow() + timedelta(hours=3)).replace(microsecond=0),
            keep_overlap=False,
            context=inbox.Context(below.settings.data_dir, utcnow(), aired_audio(below.settings)),
        )
    # The loudspeakers play: the emergency on both clusters of Ba Tơ (and a second round on one), the
    # priority bulletin on one.
    _play(below, "loa-a00000000001", emergency_item, "e1", 2)
    _play(below, "loa-a00000000002", emergency_item, "e2", 2)
    _play(below, "loa-a00000000001", itemids.round_item(emergency_item, 2), "e3", 2)
    _play(below, "loa-a00000000002", announcement_item, "p1", 3)
    round_up = connector.run_once(below.sessions, settings=below.settings, transport=transport)
    assert round_up.acks == 2 and round_up.plays == 4 and round_up.delivery.gave_up == 0
    assert round_up.delivery.retried == 0

    with upper.sessions() as s:
        answers = {x.id: x for x in s.scalars(select(SentBulletin))}
        assert (answers[sent["emergency"]].state, answers[sent["emergency"]].plays) == ("aired", 3)
        assert answers[sent["emergency"]].played_ms == 6000
        assert (answers[sent["priority"]].state, answers[sent["priority"]].plays) == ("aired", 1)
        assert (
            answers[sent["normal"]].state == "scheduled" and answers[sent["normal"]].scheduled_for is not None
        )
        plays = list(s.scalars(select(RemotePlay)))
        assert len(plays) == 4 and {p.commune_code for p in plays} == {BA_TO}
        assert {p.sent_id for p in plays} == {sent["emergency"], sent["priority"]}
        stats = lower.remote_statistics(
            s,
            principal=people(s)["quantri"],
            start=utcnow() - timedelta(hours=1),
            end=utcnow() + timedelta(hours=1),
        )
        assert len(stats) == 1 and stats[0].played == 4 and stats[0].played_ms == 9000
        ba_to = stats[0].communes[0]
        assert (ba_to.code, ba_to.played, ba_to.ours, len(ba_to.devices)) == (BA_TO, 4, 4, 2)
        assert (stats[0].clusters, stats[0].online) == (3, 2)  # inventory: the two that reported are online


def test_a_cut_link_loses_nothing_and_doubles_nothing(systems: tuple[System, System]) -> None:
    upper, below = systems
    real = HttpTransport(10.0)

    # Down: an emergency whose answer is lost after the lower system applied it.
    bulletin = _approved(upper, "Cảnh báo sạt lở đất", "emergency", 2.0)
    sent = _send_down(upper, bulletin, [BA_TO])

    def answer_lost(n: int, post: Callable[[], Reply]) -> Reply:
        reply = post()
        if n == 1:
            raise TransportError("ReadError: connection reset by peer (after the request arrived)")
        return reply

    assert (
        connector.deliver_due(
            upper.sessions, transport=Flaky(real, answer_lost), secret_key=upper.secret
        ).retried
        == 1
    )
    _due_now(upper)
    restarted = wire(upper.engine, upper.settings).sessions  # the connector process started again
    assert connector.deliver_due(restarted, transport=real, secret_key=upper.secret).sent == 1
    with below.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.remote_id == f"sent-{sent}"))
            == 1
        )
        assert s.scalar(select(func.count()).select_from(EmergencyAlert)) == 1  # played once, not twice
        assert s.scalar(select(func.count()).select_from(DeviceCommandBatch)) == 1
    with upper.sessions() as s:
        message = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "bulletin")).one()
        assert message.attempts == 2 and message.sent_at is not None

    # The lower system acknowledged the emergency (once: the replay changed nothing there).
    assert connector.deliver_due(below.sessions, transport=real, secret_key=below.secret).sent == 1

    # Up: four batches of play logs; the link is cut mid-push, first after an answer, then the
    # upper system's server stops, then it comes back on the same address.
    for n in range(4):
        _play(below, "loa-a00000000001", f"a.{100 + n}", f"cut-{n}")
        with below.sessions() as s, s.begin():
            peer = s.scalars(select(peers.ExchangePeer)).one()
            assert connector.queue_plays(s, peer=peer) == 1

    def cut(n: int, post: Callable[[], Reply]) -> Reply:
        if n == 1:
            post()
            raise TransportError("ReadError: the link dropped before the answer")
        if n == 3:
            upper.live.stop()  # mid-push: the second batch finds nobody there
        return post()

    flaky = Flaky(real, cut)
    first = connector.deliver_due(below.sessions, transport=flaky, secret_key=below.secret)
    assert (first.sent, first.retried) == (0, 1)  # the first batch: applied there, not known here
    _due_now(below)
    second = connector.deliver_due(below.sessions, transport=flaky, secret_key=below.secret)
    assert (second.sent, second.retried) == (1, 1)  # the replayed first one, then the server is gone
    with below.sessions() as s:
        waiting = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        assert waiting == 3
    upper.live.start()
    _due_now(below)
    restarted = wire(below.engine, below.settings).sessions
    third = connector.deliver_due(restarted, transport=real, secret_key=below.secret)
    assert third.sent == 3 and third.retried == 0

    with below.sessions() as s:
        keys = sorted(s.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.kind == "plays")))
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
            == 0
        )
        receipts = s.scalar(select(func.count()).select_from(PlayReceipt))
    with upper.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RemotePlay)) == receipts == 4
        recorded = sorted(
            s.scalars(select(ReceivedMessage.idempotency_key).where(ReceivedMessage.kind == "plays"))
        )
        assert recorded == keys  # recorded on both sides, once each
        replays = s.execute(
            select(ExchangeCall.idempotency_key, func.count())
            .where(ExchangeCall.path.endswith("/plays"), ExchangeCall.status == 200)
            .group_by(ExchangeCall.idempotency_key)
        ).all()
        assert sorted(n for _, n in replays) == [1, 1, 1, 2]  # the first batch arrived twice, applied once


def test_calls_through_a_provincial_lgsp_carry_its_token_and_our_key(systems: tuple[System, System]) -> None:
    upper, below = systems
    gateway = FakeLgsp(target=below.live.api)
    served = Live(gateway.app()).start()
    try:
        with upper.sessions() as s, s.begin():
            peer = sending.lower_peers(s)[0]
            peer.push_url, peer.via_lgsp = f"{served.url}/forward", True
        sent = _send_down(upper, _approved(upper, "Thông báo họp dân", "normal", 2.0), [BA_TO])
        token = LgspToken(f"{served.url}/token", gateway.client_id, gateway.client_secret)
        transport = HttpTransport(10.0)
        assert (
            connector.deliver_due(
                upper.sessions, transport=transport, secret_key=upper.secret, lgsp=token
            ).sent
            == 1
        )
        assert len(gateway.issued) == 1 and gateway.forwarded == [("bulletins", 202)]
        with below.sessions() as s:
            assert s.scalars(select(InboxItem.remote_id)).all() == [f"sent-{sent}"]
        # The system behind the LGSP trusts its own keys, not the gateway's token alone.
        alone = transport.post(
            f"{below.live.api}/bulletins",
            body=b"{}",
            headers={"Authorization": f"Bearer {gateway.issued[0]}", "Content-Type": "application/json"},
        )
        assert alone.status == 401
        wrong = LgspToken(f"{served.url}/token", gateway.client_id, "not-the-secret")
        with pytest.raises(TransportError, match="401"):
            wrong.get(transport)
    finally:
        served.stop()

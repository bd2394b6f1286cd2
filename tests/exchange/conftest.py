"""Fixtures of the exchange tests: the lower system's world on a fresh database, and a connected higher
system with its key (the caller as the API would authenticate it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loa.exchange import peers
from loa.exchange.models import PeerRelation
from loa.exchange.peers import Caller
from loa.settings import Settings
from loa.speech.service import SpeechContext
from loa.wiring import wire
from tests.exchange.world import BA_TO, BA_VI, people, seed_lower, speech_context

SECRET = "test-secret-key-0123456789abcdef"
UPPER_URL = "http://trung-uong.example/api/exchange/v1"


@pytest.fixture
def sessions(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    return wire(engine, settings).sessions


@pytest.fixture
def lower(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        seed_lower(s)
        s.commit()
        yield s


def connect(
    session: Session,
    *,
    relation: PeerRelation,
    areas: list[str],
    push_url: str = UPPER_URL,
    name: str = "Trung ương",
) -> tuple[Caller, str]:
    """A connected system and its key token, as the API sees it once it presents the key."""
    admin = people(session)["quantri"]
    peer = peers.create_peer(
        session,
        principal=admin,
        name=name,
        relation=relation,
        area_codes=areas,
        push_url=push_url,
        push_key="lx_0000000000000000.their-key-for-us" if push_url else "",
        secret_key=SECRET,
    )
    key = peers.issue_key(session, principal=admin, peer_id=peer.id)
    session.flush()
    return peers.authenticate(session, key.token), key.token


@pytest.fixture
def upper_caller(lower: Session) -> Caller:
    caller, _ = connect(lower, relation=PeerRelation.UPPER, areas=[BA_TO, BA_VI])
    lower.commit()
    return caller


@pytest.fixture
def speech(tmp_path: Path) -> SpeechContext:
    return speech_context(tmp_path / "data" / "audio")

"""``loa exchange add``: a connected system registered from the command line, its key printed once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loa.exchange.models import ExchangeKey, ExchangePeer, PeerRelation
from tests.support.cli import run_loa


def test_a_system_is_added_with_its_key(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], lower: Session
) -> None:
    code, out, err = run_loa(
        monkeypatch,
        engine,
        capsys,
        "exchange",
        "add",
        "Sở TTTT Quảng Ngãi",
        "--relation",
        "cap-tren",
        "--areas",
        "51",
    )
    assert code == 0, err
    token = out.rsplit(": ", 1)[1].strip()
    assert token.startswith("lx_") and "." in token
    peer = lower.scalars(select(ExchangePeer)).one()
    assert (peer.name, peer.relation, peer.area_codes) == ("Sở TTTT Quảng Ngãi", PeerRelation.UPPER, ["51"])
    assert token.split(".")[1] not in lower.scalars(select(ExchangeKey.secret_sha256)).one()
    code, _out, err = run_loa(
        monkeypatch, engine, capsys, "exchange", "add", "X", "--relation", "ngang", "--areas", "51"
    )
    assert code != 0 and "cap-tren hoặc cap-duoi" in err

"""Issue 21's fault suite on the production path (``tests.faults.production``): Debian's Mosquitto from
``loa broker config``, ``loa serve``, ``loa gateway run`` and two real agents with file sinks. Each
scenario replays a fault of the reliability run around short slots (1 s of audio) and then checks the
receipt ledger: every expected receipt recorded, none doubled, and every agent still running."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import Engine

from tests.faults.production import Production, journal_pending, production, wait_for

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def slot_over(prod: Production, names: list[str]) -> None:
    """Until every agent's receipt for each of ``names`` is recorded (what the processes said, if not)."""
    try:
        wait_for(lambda: all((a.uid, n) in prod.recorded() for a in prod.agents for n in names), "receipts")
    except AssertionError as err:
        raise AssertionError(f"{err} of {names}\n{prod.diagnosis()}") from None


@pytest.fixture(params=["mosquitto", "embedded"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def test_agent_offline_broker_and_gateway_restarts_keep_the_ledger(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    with production(engine, monkeypatch, capsys, kind=kind) as prod:
        # Broker restart across a slot: the agents play offline and deliver their receipts after.
        names = prod.schedule(["broker-1", "broker-2"])
        prod.stop_broker()
        wait_for(
            lambda: all(_played(a, n) for a in prod.agents for n in names), "played while the broker is down"
        )
        prod.start_broker()
        prod.wait_online()
        slot_over(prod, names)
        # Gateway down across the end of a play and over the resend interval, then back.
        names = prod.schedule(["gateway-1"])
        prod.gateway.stop()
        wait_for(
            lambda: all(_played(a, "gateway-1") for a in prod.agents), "played while the gateway is down"
        )
        prod.start_gateway()
        slot_over(prod, names)
        # One agent offline for a slot (its process stopped): the slot is reported when it returns.
        names = prod.schedule(["offline-1"])
        away = prod.agents[0]
        away.stop()
        wait_for(lambda: _played(prod.agents[1], "offline-1"), "the other agent plays")
        away.start()
        slot_over(prod, names)
        prod.wait_ledger()
        outcomes = prod.outcomes()
        assert outcomes[(away.uid, "offline-1")] in ("played", "failed")  # device_down is "failed"
        assert outcomes[(prod.agents[1].uid, "offline-1")] == "played"


def test_kill_9_after_a_play_loses_and_doubles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    with production(engine, monkeypatch, capsys, kind=kind) as prod:
        victim = prod.agents[0]
        names = prod.schedule(["kill-1"])
        # The gateway is down, so the receipt waits in the journal when the agent is killed.
        prod.gateway.stop()
        wait_for(lambda: "kill-1" in journal_pending(victim), "the play's receipt in the journal")
        victim.stop(signal.SIGKILL)
        prod.start_gateway()
        victim.start()
        slot_over(prod, names)
        names = prod.schedule(["after-kill"])
        slot_over(prod, names)
        prod.wait_ledger()
        assert set(prod.outcomes().values()) == {"played"}


def _played(agent: object, item_id: str) -> bool:
    """The agent's sink wrote ``item_id`` (its file sink logs each play)."""
    from tests.faults.production import AgentProc

    assert isinstance(agent, AgentProc)
    log = agent.data_dir / "played" / "played.jsonl"
    return log.exists() and f'"item_id": "{item_id}"' in log.read_text().replace(
        '"item_id":"', '"item_id": "'
    )

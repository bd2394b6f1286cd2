"""A release download is bounded (``update.MAX_RELEASE_BYTES``, or the command's ``size_bytes`` when it
is smaller): a server that sends more — a wrong file, an endless stream — is cut off there, the partial
file removed, and the update ends ``failed``, ``too_large``.

Before: the whole body was written to ``install_root/downloads/`` whatever its length (only then did
its SHA-256 fail), so one answer could fill the device's storage and spend its data budget."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.agent import launch, update
from loa.agent.fetch import DataBudget
from tests.agent.test_update import apply, offer, release_server
from tests.support.wheels import GOOD_MAIN, build_wheel, tiny_agent_files

CAP = 256 * 1024
SLACK = 128 * 1024  # what one read of the stream may bring past the cap


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_release_larger_than_the_limit_is_cut_off(
    tmp_path: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(update, "MAX_RELEASE_BYTES", CAP, raising=False)
    root = tmp_path / "opt"
    budget = DataBudget(tmp_path / "budget.json", None)
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "4.0", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        args = offer(server, wheel, "4.0", key, served=b"\0" * (8 * CAP))  # 2 MiB in its place
        with pytest.raises(update.UpdateError) as failed:
            asyncio.run(apply(args, root, server, key, budget))
    assert budget.used <= CAP + SLACK, budget.used  # stopped reading at the limit
    assert (failed.value.code, failed.value.rejected) == ("too_large", False)
    assert not any((root / update.DOWNLOADS).iterdir())  # nothing left on the device
    assert launch.linked(root, launch.CURRENT) is None


def test_the_commands_size_is_a_limit_too(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    root = tmp_path / "opt"
    budget = DataBudget(tmp_path / "budget.json", None)
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "4.1", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        args = offer(server, wheel, "4.1", key, served=b"\0" * (4 * CAP))
        sized = args.model_copy(update={"size_bytes": wheel.stat().st_size})
        with pytest.raises(update.UpdateError, match="too_large"):
            asyncio.run(apply(sized, root, server, key, budget))
        assert budget.used <= wheel.stat().st_size + SLACK, budget.used
        # The real wheel, within its size, installs as before.
        good = offer(server, wheel, "4.1", key)
        good = good.model_copy(update={"size_bytes": wheel.stat().st_size})
        slot = asyncio.run(apply(good, root, server, key, budget))
    assert launch.linked(root, launch.CURRENT) == slot.resolve()
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == good.sha256

"""An ``update`` on a device whose install root cannot be used ends ``failed`` with a reason, and the
next ``update`` is carried out — not refused as ``busy`` forever.

Before: an ``OSError`` (the install root is a file; ``releases`` is a file; the disk is read-only) or
pip's ``TimeoutExpired`` escaped ``ReleaseState.install``: no answer was sent for the command and
``updating`` stayed set, so every later ``update`` until a restart answered ``rejected: busy``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.agent import launch, update
from loa.agent.config import AgentConfig
from loa.agent.fetch import DataBudget, ServerClient
from loa.agent.release import ReleaseState
from loa.fleet.keys import public_key_b64
from loa.protocol import messages as m
from tests.agent.test_update import DEVICE, SECRET, ReleaseServer, offer, release_server
from tests.support.wheels import GOOD_MAIN, build_wheel, tiny_agent_files


def _install_twice(
    root: Path, tmp_path: Path, server: ReleaseServer, args: m.UpdateArgs, key: Ed25519PrivateKey
) -> tuple[list[tuple[m.CommandStatus, str]], ReleaseState]:
    config = AgentConfig(
        server_url=server.url,
        data_dir=tmp_path / "data",
        install_root=root,
        release_public_key=public_key_b64(key),
    )
    release = ReleaseState(config)

    async def run() -> list[tuple[m.CommandStatus, str]]:
        client = ServerClient(server.url, DEVICE, SECRET)
        budget = DataBudget(tmp_path / "budget.json", None)
        try:
            return [
                await release.install(args, identity=None, server=client, budget=budget) for _ in range(2)
            ]
        finally:
            await client.aclose()

    return asyncio.run(run()), release


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_an_install_root_that_is_a_file_fails_the_update_each_time(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    root = tmp_path / "opt"
    root.write_text("not a directory\n")
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "2.0", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        args = offer(server, wheel, "2.0", key)
        answers, release = _install_twice(root, tmp_path, server, args, key)
        assert server.requests == []  # nothing downloaded where it could not be kept
    assert answers == [(m.CommandStatus.FAILED, "install_root_unusable")] * 2  # never "busy"
    assert not release.updating
    assert root.read_text() == "not a directory\n"


def test_a_releases_directory_that_is_a_file_fails_after_the_download(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    root = tmp_path / "opt"
    root.mkdir()
    (root / launch.RELEASES).write_text("in the way\n")
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "2.1", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        args = offer(server, wheel, "2.1", key)
        answers, release = _install_twice(root, tmp_path, server, args, key)
        assert len(server.requests) == 2  # downloaded each time, so the second one was not "busy"
    assert answers == [(m.CommandStatus.FAILED, "install_root_unusable")] * 2
    assert not release.updating
    assert launch.linked(root, launch.CURRENT) is None  # nothing switched
    assert not any((root / update.DOWNLOADS).iterdir())  # the wheel is not kept


def test_pip_running_out_of_time_fails_the_update(
    tmp_path: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(update, "PIP_TIMEOUT_S", 0.01)  # pip cannot even start in that time
    root = tmp_path / "opt"
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "2.2", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        args = offer(server, wheel, "2.2", key)
        answers, release = _install_twice(root, tmp_path, server, args, key)
    assert answers == [(m.CommandStatus.FAILED, "install_failed")] * 2
    assert not release.updating
    assert not launch.slot_dir(root, "2.2").exists()
    assert not [p for p in (root / launch.RELEASES).iterdir() if p.name.endswith(".installing")]

"""The ``update`` command on the device (issue 18.4), with real wheels installed by pip into slots and
the launcher run as systemd would run it:

* a GOOD release built from Loa's own agent code: verified, downloaded from the device's own server
  with its credentials, installed into ``releases/<version>``, ``current`` switched; the launcher then
  runs the new slot's code;
* TAMPERED releases: signed by another key (refused before any download), or altered on the server
  after signing (downloaded, refused on its SHA-256, nothing installed or switched);
* a FAILING release that starts but never becomes healthy: three starts, then the launcher goes back
  to the previous version, which reports the rollback in its status.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loa.agent import launch, update
from loa.agent.config import AgentConfig
from loa.agent.fetch import DataBudget, ServerClient
from loa.agent.release import ReleaseState
from loa.agent.storage import AudioCache
from loa.agent.transfers import Transfers
from loa.fleet.keys import public_key_b64
from loa.protocol import messages as m
from tests.support.wheels import FAILING_MAIN, GOOD_MAIN, SRC, build_wheel, loa_agent_files, tiny_agent_files

DEVICE, SECRET = "dev-upd-1", "s3cret-of-the-device"


@dataclass
class ReleaseServer:
    """The server's release route as a device sees it: Basic auth, the wheel by SHA-256 and name."""

    files: dict[str, bytes] = field(default_factory=dict)  # url path -> bytes
    requests: list[str] = field(default_factory=list)
    url: str = ""


@contextmanager
def release_server() -> Iterator[ReleaseServer]:
    state = ReleaseServer()
    expected = "Basic " + base64.b64encode(f"{DEVICE}:{SECRET}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            data = state.files.get(self.path)
            if data is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def offer(
    server: ReleaseServer, wheel: Path, version: str, key: Ed25519PrivateKey, served: bytes | None = None
) -> m.UpdateArgs:
    """Publish ``wheel`` on the server (``served``: other bytes in its place) and make the command."""
    data = wheel.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    path = f"/api/v1/devices/{DEVICE}/releases/{sha}/{wheel.name}"
    server.files[path] = data if served is None else served
    signature = base64.b64encode(key.sign(m.release_signed_bytes(version, sha))).decode()
    return m.UpdateArgs(
        version=version, url=f"/api/v1/devices/releases/{sha}/{wheel.name}", sha256=sha, signature=signature
    )


async def apply(
    args: m.UpdateArgs, root: Path, server: ReleaseServer, key: Ed25519PrivateKey, budget: DataBudget
) -> Path:
    client = ServerClient(server.url, DEVICE, SECRET)
    try:
        return await update.apply(
            args, root=root, release_key_b64=public_key_b64(key), server=client, budget=budget
        )
    finally:
        await client.aclose()


def launcher(root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """``loa-agent-launch`` as systemd's ``ExecStart`` runs it (the launcher from this checkout)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "loa.agent.launch", "--root", str(root), "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def release_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_good_release_of_the_agent_is_verified_installed_and_run(
    tmp_path: Path, release_key: Ed25519PrivateKey
) -> None:
    root = tmp_path / "opt"
    budget = DataBudget(tmp_path / "budget.json", daily_bytes=50_000_000)
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "0.2.0", loa_agent_files())
    with release_server() as server:
        args = offer(server, wheel, "0.2.0", release_key)
        slot = asyncio.run(apply(args, root, server, release_key, budget))
    assert slot == launch.slot_dir(root, "0.2.0")
    assert (slot / "lib" / "loa" / "agent" / "runtime.py").read_bytes() == (
        SRC / "loa/agent/runtime.py"
    ).read_bytes()
    assert launch.linked(root, launch.CURRENT) == slot.resolve()
    assert budget.used == wheel.stat().st_size  # counted against the day's budget
    assert not list((root / update.DOWNLOADS).iterdir())  # the download is not kept
    # What the launcher starts is the slot's code, reporting the slot's version.
    chosen = launch.choose_slot(root)
    assert chosen == slot.resolve()
    program, env = launch.command_for(chosen, tmp_path / "agent.toml")
    probe = subprocess.run(
        [
            program[0],
            "-c",
            "import os, loa.agent.runtime as r; print(r.__file__); print(os.environ['LOA_AGENT_VERSION'])",
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": env["PYTHONPATH"].split(os.pathsep)[0]},
        timeout=60,
        check=True,
    )
    where, version = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(slot.resolve()) and version == "0.2.0"
    # Not healthy yet: this start is counted; the agent marks it healthy once it is.
    assert (slot / launch.STARTS).read_text().strip() == "1"
    assert launch.mark_healthy(root, "0.2.0") and not launch.mark_healthy(root, "0.2.0")
    assert launch.choose_slot(root) == slot.resolve()
    assert (slot / launch.STARTS).read_text().strip() == "1"  # a healthy release is no longer counted


def test_tampered_releases_are_refused_and_nothing_changes(
    tmp_path: Path, release_key: Ed25519PrivateKey
) -> None:
    root = tmp_path / "opt"
    budget = DataBudget(tmp_path / "budget.json", daily_bytes=None)
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "0.3.0", tiny_agent_files(GOOD_MAIN))
    with release_server() as server:
        # Signed by another key (say, a stolen operator account's server, or the manifest key).
        forged = offer(server, wheel, "0.3.0", Ed25519PrivateKey.generate())
        with pytest.raises(update.UpdateError) as refused:
            asyncio.run(apply(forged, root, server, release_key, budget))
        assert (refused.value.code, refused.value.rejected) == ("release_signature_invalid", True)
        assert server.requests == []  # nothing downloaded for a forged command
        # A version other than the one signed.
        other = forged.model_copy(
            update={"version": "9.9.9", "signature": offer(server, wheel, "0.3.0", release_key).signature}
        )
        with pytest.raises(update.UpdateError, match="release_signature_invalid"):
            asyncio.run(apply(other, root, server, release_key, budget))
        # Properly signed, but the file on the server was altered afterwards.
        altered = bytearray(wheel.read_bytes())
        altered[len(altered) // 2] ^= 0xFF
        args = offer(server, wheel, "0.3.0", release_key, served=bytes(altered))
        with pytest.raises(update.UpdateError) as mismatch:
            asyncio.run(apply(args, root, server, release_key, budget))
        assert (mismatch.value.code, mismatch.value.rejected) == ("hash_mismatch", False)
        assert len(server.requests) == 1
    assert launch.linked(root, launch.CURRENT) is None
    assert not launch.slot_dir(root, "0.3.0").exists()
    assert not any((root / update.DOWNLOADS).iterdir())  # the bad bytes are not kept


def test_no_release_key_or_install_root_means_no_update(tmp_path: Path) -> None:
    args = m.UpdateArgs(version="1.0", url="/x/a-1.0-py3-none-any.whl", sha256="ab" * 32, signature="AAAA")
    budget = DataBudget(tmp_path / "b.json", None)
    key = Ed25519PrivateKey.generate()
    signed = args.model_copy(
        update={"signature": base64.b64encode(key.sign(m.release_signed_bytes("1.0", "ab" * 32))).decode()}
    )
    with pytest.raises(update.UpdateError, match="not_supported"):
        asyncio.run(
            update.apply(signed, root=None, release_key_b64=public_key_b64(key), server=None, budget=budget)
        )
    with pytest.raises(update.UpdateError, match="no_release_key"):
        update.verify_signature(args, None)
    with pytest.raises(ValueError):
        m.UpdateArgs(version="../../etc", url="/x.whl", sha256="ab" * 32)


def test_a_release_that_never_becomes_healthy_is_rolled_back_after_three_starts(
    tmp_path: Path, release_key: Ed25519PrivateKey
) -> None:
    root = tmp_path / "opt"
    config = tmp_path / "agent.toml"
    budget = DataBudget(tmp_path / "budget.json", daily_bytes=None)
    good = build_wheel(tmp_path / "dist", "loa-agent", "1.0", tiny_agent_files(GOOD_MAIN))
    failing = build_wheel(tmp_path / "dist", "loa-agent", "1.1", tiny_agent_files(FAILING_MAIN))
    with release_server() as server:
        asyncio.run(apply(offer(server, good, "1.0", release_key), root, server, release_key, budget))
        first = launcher(root, config)
        assert first.returncode == 0 and "started 1.0" in first.stdout
        assert (launch.slot_dir(root, "1.0") / launch.HEALTHY).exists()
        asyncio.run(apply(offer(server, failing, "1.1", release_key), root, server, release_key, budget))
    assert launch.linked(root, launch.CURRENT) == launch.slot_dir(root, "1.1").resolve()
    assert launch.linked(root, launch.PREVIOUS) == launch.slot_dir(root, "1.0").resolve()
    for start in (1, 2, 3):  # systemd's Restart=always: the failing version is tried three times
        run = launcher(root, config)
        assert run.returncode == 3 and "cannot start" in run.stderr, run.stderr
        assert (launch.slot_dir(root, "1.1") / launch.STARTS).read_text().strip() == str(start)
    back = launcher(root, config)
    assert back.returncode == 0 and "started 1.0" in back.stdout
    assert launch.linked(root, launch.CURRENT) == launch.slot_dir(root, "1.0").resolve()
    assert (launch.slot_dir(root, "1.1") / launch.FAILED).exists()
    assert launch.rolled_back_from(root) == "1.1"  # reported in the status (``rolled_back_from``)
    assert launch.linked(root, launch.PREVIOUS) is None  # never "back" onto the failed one
    again = launcher(root, config)
    assert again.returncode == 0 and "started 1.0" in again.stdout


def test_a_release_is_healthy_after_its_birth_and_the_servers_answer_about_its_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``healthy`` needs both, in this run; a server with no schedule for the device yet (404) counts,
    or a good release on a loudspeaker without a programme would be rolled back."""
    root = tmp_path / "opt"
    launch.slot_dir(root, "3.0").mkdir(parents=True)
    monkeypatch.setenv(launch.VERSION_ENV, "3.0")  # as the launcher starts it
    config = AgentConfig(server_url="http://127.0.0.1:9", data_dir=tmp_path / "data", install_root=root)
    release = ReleaseState(config)
    assert release.version == "3.0"
    release.born()
    assert not release.healthy and not (launch.slot_dir(root, "3.0") / launch.HEALTHY).exists()
    with release_server() as server:  # knows no manifest for the device: 404
        transfers = Transfers(
            config,
            AudioCache(tmp_path / "audio"),
            DataBudget(tmp_path / "b.json", None),
            core=lambda: None,  # type: ignore[arg-type,return-value]
            feed=lambda event: None,
            on_manifest_accepted=release.accepted_manifest,
        )
        transfers.config = config.model_copy(update={"server_url": server.url})
        transfers.connect(DEVICE, SECRET)
        asyncio.run(transfers.sync_manifest())
        asyncio.run(transfers.aclose())
        assert server.requests == [f"/api/v1/devices/{DEVICE}/manifest"]
    assert release.healthy and (launch.slot_dir(root, "3.0") / launch.HEALTHY).exists()

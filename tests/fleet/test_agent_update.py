"""A remote update end to end (issue 18.4), through a real broker (the embedded one and Mosquitto), the
gateway and the HTTP server: an administrator publishes a release built from Loa's own agent code and
starts a rollout; the agent (which pinned the release key at enrolment) verifies it, downloads it with
its own credentials, installs it into a new slot, answers ``done`` and restarts; the launcher, run as
systemd would, starts the new slot's agent in its own process, which announces its version, accepts
its manifest, writes ``healthy`` — and the rollout, seeing the version, is done."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from loa.agent import launch
from loa.agent.runtime import Agent, RestartRequested
from loa.app import create_app
from loa.db import make_session_factory
from loa.fleet import releases, service
from loa.fleet.models import DeviceCommand, Rollout
from loa.protocol.topics import Topics
from tests.fleet.harness import (
    ServerThread,
    broker,
    make_gateway,
    new_device,
    publish_manifest,
    running,
    unique_prefix,
    wait_until,
)
from tests.fleet.test_end_to_end import agent_config, make_settings
from tests.support.wheels import SRC, build_wheel, loa_agent_files

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def test_a_rollout_updates_a_real_agent_which_restarts_into_the_new_release(
    tmp_path: Path, engine: Engine, broker_kind: str
) -> None:
    asyncio.run(_scenario(tmp_path, engine, broker_kind))


async def _scenario(tmp_path: Path, engine: Engine, broker_kind: str) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    root = tmp_path / "opt"
    wheel = build_wheel(tmp_path / "dist", "loa-agent", "0.2.0", loa_agent_files())
    async with broker(broker_kind, engine, topics) as handle:
        settings = make_settings(tmp_path, topics.prefix, handle.host, handle.port)
        uid, code = new_device(factory, "Cụm loa thôn 7")
        gateway = make_gateway(handle, engine, topics)
        with ServerThread(create_app(settings, engine=engine)) as server:
            config = agent_config(tmp_path, "a", server.url, code, install_root=root)
            agent = Agent(config)
            async with running(gateway.run), running(agent.run) as agent_task:
                await wait_until(agent.connected.is_set, 15, "agent connects")
                assert agent.identity is not None and agent.identity.release_public_key
                assert agent.identity.release_public_key != agent.identity.manifest_public_key
                publish_manifest(factory, settings.data_dir, uid, 1, [])
                await wait_until(lambda: agent.release.healthy, 15, "the base install is healthy")
                with factory() as s, s.begin():
                    releases.publish(
                        s,
                        data=wheel.read_bytes(),
                        filename=wheel.name,
                        version="0.2.0",
                        data_dir=settings.data_dir,
                        published_by="quantri",
                    )
                    releases.start_rollout(
                        s, version="0.2.0", commune_code=None, waves=(100,), created_by="quantri"
                    )
                # The agent installs the release, answers, and leaves to be restarted into it.
                await wait_until(agent_task.done, 120, "the agent restarts after installing")
                with pytest.raises(RestartRequested):
                    agent_task.result()
            with factory() as s:
                command = s.scalar(select(DeviceCommand).where(DeviceCommand.kind == "update"))
                assert command is not None and (command.result, command.result_detail) == (
                    "done",
                    "restarting",
                )
            slot = launch.slot_dir(root, "0.2.0")
            assert launch.linked(root, launch.CURRENT) == slot.resolve()
            assert not (slot / launch.HEALTHY).exists()

            # systemd starts the launcher again: the new slot's agent runs in its own process.
            toml = tmp_path / "agent.toml"
            toml.write_text(
                "\n".join(
                    [
                        f'server_url = "{server.url}"',
                        f'data_dir = "{config.data_dir}"',
                        'sink = "null"',
                        "heartbeat_s = 1",
                        "reconnect_max_s = 1.0",
                        f'install_root = "{root}"',
                    ]
                )
                + "\n"
            )
            env = {**os.environ, "PYTHONPATH": str(SRC)}
            process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "loa.agent.launch", "--root", str(root), "--config", str(toml)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                async with running(gateway.run):

                    def version_reported() -> bool:
                        with factory() as s:
                            return service.get_device(s, uid=uid).agent_version == "0.2.0"

                    await wait_until(version_reported, 60, "the new release reports its version")
                    await wait_until((slot / launch.HEALTHY).exists, 60, "the new release writes healthy")
                    assert process.poll() is None  # still running
                    with factory() as s, s.begin():
                        rollout = s.scalar(select(Rollout))
                        assert rollout is not None
                        assert releases.advance(s, rollout, now=rollout.created_at) == "done"
            finally:
                process.terminate()
                _, err = process.communicate(timeout=30)
            assert (slot / launch.STARTS).read_text().strip() == "1"
            assert b"Traceback" not in err, err.decode()[-2000:]

"""Issue 21.7: an agent that cannot log in to the broker says so — once, at WARNING, in words a
technician understands — and keeps it in its local status (``--status``); when it gets in, it says that
once too. A real embedded broker checking real device credentials from the database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.agent import cli
from loa.agent.config import AgentConfig, Identity
from loa.agent.runtime import Agent
from loa.db import make_session_factory
from loa.fleet import service
from loa.protocol.topics import Topics
from tests.fleet.harness import broker, new_device, unique_prefix
from tests.support.device_table import PUBLIC

pytestmark = [pytest.mark.mqtt]


class Recorder(logging.Handler):
    """Keeps the link's log records and wakes the test at each one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()

    async def wait_for(self, text: str, limit_s: float = 15) -> None:
        async with asyncio.timeout(limit_s):
            while not any(text in r.getMessage() for r in self.records):
                self.arrived.clear()
                await self.arrived.wait()


def status_text(config_path: Path) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--config", str(config_path), "--status"]) == 0
    return out.getvalue()


def test_an_agent_that_cannot_log_in_says_so_once(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_login(tmp_path, engine))


async def _login(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    uid, code = new_device(factory, "Cụm loa thôn 2")
    with factory() as s, s.begin():
        secret = service.enrol(s, code=code).secret
    data_dir = tmp_path / "agent"
    data_dir.mkdir()
    config_path = tmp_path / "agent.toml"
    config_path.write_text(f'server_url = "http://127.0.0.1:9"\ndata_dir = "{data_dir}"\nsink = "null"\n')
    assert "Chưa có thông tin" in status_text(config_path)
    records = Recorder()
    logger = logging.getLogger("loa.agent.link")
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        async with broker("amqtt", engine, topics) as handle:

            def identity(password: str) -> None:
                ident = Identity(
                    device_id=uid,
                    secret=password,
                    mqtt_host=handle.host,
                    mqtt_port=handle.port,
                    topic_prefix=topics.prefix,
                    manifest_public_key=base64.b64encode(PUBLIC).decode(),
                )
                (data_dir / "identity.json").write_text(json.dumps(ident.model_dump()))

            config = AgentConfig(
                server_url="http://127.0.0.1:9", data_dir=data_dir, sink="null", reconnect_max_s=0.2
            )
            identity("not-the-secret")
            agent = Agent(config)
            task = asyncio.create_task(agent.run())
            try:
                await records.wait_for("cannot connect to the broker: not authorised")
                async with asyncio.timeout(15):
                    while agent.link.failures < 4:  # it keeps trying, saying nothing more
                        records.arrived.clear()
                        await asyncio.sleep(0.1)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            refusals = [r for r in records.records if "not authorised" in r.getMessage()]
            assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
            assert "từ chối tên đăng nhập hoặc mật khẩu" in status_text(config_path)

            identity(secret)  # enrolled again: the right secret
            records.records.clear()
            agent = Agent(config)
            task = asyncio.create_task(agent.run())
            try:
                await records.wait_for("connected to the broker")
                await asyncio.wait_for(agent.connected.wait(), 15)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            assert [r.levelno for r in records.records] == [logging.INFO]
            assert "Đã kết nối" in status_text(config_path)
    finally:
        logger.removeHandler(records)

"""A command's answer survives a lost broker connection: the agent answers a "play now" the moment it
takes it, and on a cluster the node it answers through may die right then (tests/faults/
test_horizontal.py kills one during a "play now"). The broker redelivers the command to the agent's
session on another node, where the agent drops it as a duplicate: an answer lost with the old
connection was lost for good, and the operator saw the loudspeaker as never answering although it
played. The agent keeps an answer it could not hand to the broker and sends it once connected again
(the server keeps the first answer to a command, so one sent twice changes nothing). A real embedded
broker checking real device credentials from the database; a backend client listening."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loa.agent.config import AgentConfig, Identity
from loa.agent.runtime import Agent
from loa.db import make_session_factory
from loa.fleet import service
from loa.protocol import messages as m
from loa.protocol.device import signals as s
from loa.protocol.mqtt_lite import LiteClient
from loa.protocol.topics import Channel, Topics
from tests.fleet.harness import BACKEND_PASSWORD, BACKEND_USER, broker, new_device, unique_prefix
from tests.support.device_table import PUBLIC

pytestmark = [pytest.mark.mqtt]


def test_an_answer_made_while_the_link_is_down_is_sent_once_connected(tmp_path: Path, engine: Engine) -> None:
    asyncio.run(_answer_kept(tmp_path, engine))


async def _answer_kept(tmp_path: Path, engine: Engine) -> None:
    topics = Topics(unique_prefix())
    factory = make_session_factory(engine)
    uid, code = new_device(factory, "Cụm loa thôn 3")
    with factory() as session, session.begin():
        secret = service.enrol(session, code=code).secret
    data_dir = tmp_path / "agent"
    data_dir.mkdir()
    async with broker("amqtt", engine, topics) as handle:
        ident = Identity(
            device_id=uid,
            secret=secret,
            mqtt_host=handle.host,
            mqtt_port=handle.port,
            topic_prefix=topics.prefix,
            manifest_public_key=base64.b64encode(PUBLIC).decode(),
        )
        (data_dir / "identity.json").write_text(json.dumps(ident.model_dump()))
        config = AgentConfig(
            server_url="http://127.0.0.1:9", data_dir=data_dir, sink="null", reconnect_max_s=0.2
        )
        answers: list[m.CommandResult] = []
        arrived = asyncio.Event()

        def on_message(topic: str, payload: bytes) -> None:
            answers.append(m.CommandResult.model_validate_json(payload))
            arrived.set()

        listener = LiteClient("answers-listener", on_message=on_message)
        await listener.connect(handle.host, handle.port, username=BACKEND_USER, password=BACKEND_PASSWORD)
        await listener.subscribe([(topics.device(uid, Channel.RESULT), 1)])
        agent = Agent(config)
        answer = m.CommandResult(
            command_id="cmd-0001", status=m.CommandStatus.DONE, at=datetime.now(UTC).replace(microsecond=0)
        )
        agent._do_result(s.SendResult(answer))  # no connection yet: the link is down
        task = asyncio.create_task(agent.run())
        try:
            await asyncio.wait_for(agent.connected.wait(), 15)
            await asyncio.wait_for(arrived.wait(), 15)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await listener.disconnect()
        assert [(a.command_id, a.status) for a in answers] == [("cmd-0001", m.CommandStatus.DONE)]

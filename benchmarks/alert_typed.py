"""Alerts: typed warning text → the first loudspeaker playing it (issue 15, point 3).

The whole path as in production, on one machine: the operator's "Phát" (``loa.alerts.compose.send``:
Vietnamese normalisation, eSpeak NG speech, loudness levelling, MP3, the store, the alert and its
emergency command, committed), the gateway publishing the command on the embedded broker, and a real
device agent (``loa.agent``, file sink) that fetches the audio over HTTP from the real server and answers
when it starts playing. The clock starts at "Phát" and stops at the agent's answer as the server records
it (``compose.first_play_at``, shown on the alerts page too). Each round types a different warning, so
speech is never served from the cache. Also printed: the speech part alone (``prepare_ms``).

Environment: ``LOA_BENCH_ALERT_ROUNDS`` (default 3).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from tests.fleet.harness import (
    ServerThread,
    broker,
    make_gateway,
    running,
    unique_prefix,
    wait_event,
    wait_until,
)

from benchmarks.common import Result
from loa.accounts.principal import Role
from loa.accounts.service import create_user, principal_for
from loa.agent.config import AgentConfig
from loa.agent.runtime import Agent
from loa.alerts import compose, targeting
from loa.alerts import service as alerts
from loa.alerts.models import AlertTiming, EmergencyAlert
from loa.alerts.targeting import TargetChoice
from loa.app import create_app
from loa.db import make_engine, make_session_factory
from loa.db.base import utcnow
from loa.db.migrate import upgrade
from loa.fleet import service as fleet
from loa.protocol.topics import Topics
from loa.settings import Settings
from loa.speech.runtime import SpeechRuntime
from loa.units.models import AdminUnit, UnitKind

ROUNDS = int(os.environ.get("LOA_BENCH_ALERT_ROUNDS", "3"))
TARGET_S = 10.0  # issue 15: "from text to air in seconds"
WARNINGS = (
    "Thông báo khẩn về lũ. Lúc {n} giờ, mực nước sông Trà Khúc tại trạm Trà Khúc là 5,8 mét, ở mức báo động "
    "III. Đề nghị nhân dân vùng trũng thấp ven sông khẩn trương đưa người, tài sản đến nơi an toàn."
)


def run() -> Iterable[Result]:
    return asyncio.run(_bench())


async def _bench() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="loa-bench-alerts-") as tmp_dir:
        tmp = Path(tmp_dir)
        engine = make_engine(f"sqlite:///{tmp / 'loa.db'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as s, s.begin():
            province = AdminUnit(
                code="51", kind=UnitKind.PROVINCE, name="Quảng Ngãi", name_folded="quang ngai", path="/51/"
            )
            s.add(province)
            s.flush()
            commune = AdminUnit(
                code="21484", kind=UnitKind.COMMUNE, name="Ba Tơ", name_folded="ba to", parent_id=province.id,
                path="/51/21484/",
            )  # fmt: skip
            s.add(commune)
            s.flush()
            create_user(s, username="vanhanh", password="mat-khau-đủ-dài-123", role=Role.COMMUNE_OPERATOR,
                        display_name=None, area_codes=("21484",))  # fmt: skip
            device = fleet.create_device(s, name="Cụm loa thôn 1", commune_id=commune.id)
            code = fleet.issue_enrol_code(s, device=device)
        topics = Topics(unique_prefix())
        prepare, to_play = [], []
        async with broker("amqtt", engine, topics) as handle:
            settings = Settings(  # type: ignore[call-arg]
                demo=True, data_dir=tmp / "server", secret_key="bench-secret-key-0123456789abcdef",  # type: ignore[arg-type]
                mqtt_topic_prefix=topics.prefix, mqtt_host=handle.host, mqtt_port=handle.port,
            )  # fmt: skip
            speech = SpeechRuntime.build(settings, factory, recover=False)
            gateway = make_gateway(handle, engine, topics)
            try:
                with ServerThread(create_app(settings, engine=engine)) as server:
                    async with running(gateway.run, "gateway"):
                        await wait_event(gateway.ready, "gateway ready")
                        agent = Agent(
                            AgentConfig(
                                server_url=server.url,
                                data_dir=tmp / "agent",
                                enrol_code=code,
                                sink="file",
                                sink_dir=tmp / "agent" / "played",
                                heartbeat_s=5,
                                reconnect_max_s=1.0,
                            )
                        )
                        async with running(agent.run, "agent"):
                            await wait_until(agent.connected.is_set, 30, "agent connects")
                            for n in range(ROUNDS):
                                alert_id = await asyncio.to_thread(_press, factory, speech, settings, n)
                                await wait_until(lambda a=alert_id: _played(factory, a), 60, "first play")
                                seconds, prepare_ms = _timing(factory, alert_id)
                                to_play.append(seconds)
                                prepare.append(prepare_ms)
                                await asyncio.to_thread(_stop, factory, alert_id)
            finally:
                speech.close()
                engine.dispose()
    return [
        Result("alerts.typed_text_to_first_play", statistics.median(to_play), "s", TARGET_S),
        Result("alerts.typed_text_speech", statistics.median(prepare), "ms", None),
    ]


def _operator(session):  # type: ignore[no-untyped-def]
    from loa.accounts.models import User

    return principal_for(session, session.scalars(select(User).where(User.username == "vanhanh")).one())


def _press(factory, speech: SpeechRuntime, settings: Settings, n: int) -> int:  # type: ignore[no-untyped-def]
    """The operator presses "Phát" on a typed warning (after the confirmation step)."""
    with factory() as s:
        operator = _operator(s)
        coverage = targeting.resolve(s, operator, TargetChoice(mode="province"))
        warning = compose.Warning(coverage, "flood", 3, 30, None, text=WARNINGS.format(n=n + 10))
        alert = compose.send(
            s, principal=operator, context=speech.context, warning=warning, pressed_at=utcnow(),
            aired=alerts.aired_audio(settings),  # the lead-in is made in the request, as in production
        )  # fmt: skip
        s.commit()
        return alert.id


def _played(factory, alert_id: int) -> bool:  # type: ignore[no-untyped-def]
    with factory() as s:
        alert = s.get(EmergencyAlert, alert_id)
        return alert is not None and compose.first_play_at(s, alert) is not None


def _timing(factory, alert_id: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    with factory() as s:
        alert = s.get(EmergencyAlert, alert_id)
        timing = s.get(AlertTiming, alert_id)
        assert alert is not None and timing is not None
        first = compose.first_play_at(s, alert)
        assert first is not None
        return (first - timing.pressed_at).total_seconds(), timing.prepare_ms


def _stop(factory, alert_id: int) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        alerts.stop_alert(s, principal=_operator(s), alert_id=alert_id)
        s.commit()

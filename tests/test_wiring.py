"""What ``loa.wiring`` connects, in processes started the way the entry points start them (a ``loa``
command — ``loa gateway run``, ``loa speech say`` — through the context ``loa.cli`` builds, the web
app through ``create_app``): a change announced in each domain reaches its handler. A device added
(fleet) and a bulletin withdrawn (content) recompile the manifests (schedule) and the new manifests
ring the process's doorbell (outbox → gateway); a reading finished by the speech worker reaches its
bulletin (speech → content). And no module but ``loa.wiring`` subscribes to anything."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import loa
from loa.app import create_app
from loa.cli import cli_context_for
from loa.cli_support import CliContext
from loa.content import audio as content_audio
from loa.content import service as content
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.fleet import service as fleet
from loa.fleet.models import (
    Device,
    DeviceStatusLog,
    PlayReceipt,
    ReceiptOutcome,
    ReceiptSummaryMonth,
    StatusEvent,
)
from loa.reports.summary import month_key
from loa.settings import Settings
from loa.speech.runtime import SpeechRuntime
from tests.conftest import Backend
from tests.fleet.test_schedule_hooks import programme_for_ba_to
from tests.schedule.test_service_db import manifest_items
from tests.schedule.world import BA_TO, load_world, seed_world


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


@pytest.fixture
def command(engine: Engine, settings: Settings) -> Iterator[CliContext]:
    """The context every ``loa`` command runs in (``loa.cli`` builds it so), on the test database."""
    context = cli_context_for(
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=settings.data_dir,
        secret_key=settings.secret_key.get_secret_value(),
        demo=True,
    )
    yield context
    context.engine.dispose()


def test_a_loa_command_recompiles_on_fleet_and_content_changes_and_rings_its_gateway(
    engine: Engine, command: CliContext
) -> None:
    programme_for_ba_to(engine)  # set up through a session factory nobody wired: no manifest yet
    rings: list[int] = []
    command.process.doorbell.hold(lambda: rings.append(1))  # what the gateway of ``run_fleet`` does
    with command.session() as s:  # fleet announces "devices"
        news_id = s.scalars(select(Bulletin.id).where(Bulletin.title == "Tin bão số 3")).one()
        fleet.create_device(
            s, name="Cụm loa mới", uid="loa-bt-09", commune_id=load_world(s).unit(s, BA_TO).id
        )
        assert rings == []  # before the commit, nobody is woken
    with command.session() as s:
        assert {i["bulletin_id"] for i in manifest_items(s, "loa-bt-09")} == {str(news_id)}
    assert len(rings) == 1  # the new manifests are queued: the gateway is woken once, after the commit

    with command.session() as s:  # content announces "bulletin"
        content.transition(s, principal=load_world(s).editor, bulletin_id=news_id, action=Action.ARCHIVE)
    with command.session() as s:
        assert manifest_items(s, "loa-bt-01") == [] and manifest_items(s, "loa-bt-09") == []
    assert len(rings) == 2

    # What ``loa gateway run`` repeats beside the gateway (``loa.wiring``).
    recompile, expiry, history, alarms, rollouts, relays = command.process.periodic
    assert (alarms.what, rollouts.what) == ("fleet health alarms", "agent rollouts")
    assert relays.what.startswith("relays")  # the relay puller (loa.live.puller)
    assert recompile.interval_s == command.settings.manifest_recompile_interval_s
    assert expiry.interval_s == command.settings.alert_expiry_check_s
    recompile.work()
    expiry.work()  # no alert is due: nothing is stopped, nobody woken
    assert len(rings) == 2  # nothing changed since: no new manifest, nobody woken
    assert history.interval_s == command.settings.history_maintenance_interval_s
    with command.session() as s:
        device_id = s.scalars(select(Device.id).where(Device.uid == "loa-bt-09")).one()
        for at in (utcnow() - timedelta(days=3 * 366), utcnow()):
            s.add(DeviceStatusLog(device_id=device_id, at=at, event=StatusEvent.ONLINE))
        played_at = utcnow() - timedelta(days=150)
        s.add(
            PlayReceipt(
                device_id=device_id, receipt_id="r-1", seq=1, item_id="cmd-1", audio_sha256="0" * 64,
                started_at=played_at, ended_at=played_at + timedelta(seconds=30),
                outcome=ReceiptOutcome.PLAYED, received_at=played_at,
            )
        )  # fmt: skip
    history.work()  # the months ahead's partitions (PostgreSQL), the status log's retention
    with command.session() as s:
        assert s.scalar(select(func.count()).select_from(DeviceStatusLog)) == 1  # the recent one
        # and the closed months' receipt summaries, three months a run, oldest first
        made = s.scalars(select(ReceiptSummaryMonth).order_by(ReceiptSummaryMonth.month)).all()
        assert [m.month for m in made][:1] == [month_key(played_at)] and len(made) == 3
        assert not any(m.dirty for m in made) and made[0].groups == 1


def test_a_reading_made_by_the_speech_worker_of_a_loa_command_reaches_its_bulletin(
    command: CliContext,
) -> None:
    speech = SpeechRuntime.build(
        command.settings, command.process.sessions, recover=False
    )  # as ``loa speech``
    try:
        with command.session() as s:
            world = load_world(s)
            draft = DraftInput(
                title="Thông báo họp dân", body="Mời bà con dự họp lúc 19 giờ.", area_code=BA_TO
            )
            bulletin = content.create_bulletin(s, principal=world.editor, draft=draft)
            job = content_audio.request_tts(
                s, context=speech.context, principal=world.editor, bulletin_id=bulletin.id, language="vi"
            )
        speech.jobs.submit(job.id)
        assert speech.jobs.wait_idle(120)
    finally:
        speech.close()
    with command.process.sessions() as s:
        [rendition] = s.get_one(Bulletin, bulletin.id).renditions
        assert rendition.audio_sha256 and rendition.tts_job_id == job.id


def test_the_web_app_uses_the_process_it_is_given_or_wires_its_own(
    engine: Engine, settings: Settings
) -> None:
    own = create_app(settings, engine=engine)
    assert own.state.session_factory is own.state.process.sessions and own.state.process.periodic
    shared = cli_context_for().wire(engine, settings)  # ``loa demo``: one process for app and gateway
    app = create_app(settings, engine=engine, process=shared)
    assert app.state.session_factory is shared.sessions and app.state.process is shared


SUBSCRIBING = {"on_commit", "after_commit"}  # loa.db.changes
SQLALCHEMY_EVENTS = {"listen", "listens_for"}  # event.listen(…), @event.listens_for(…)
# Where SQLAlchemy events may be listened to, and why none of them is a domain reacting to another.
EVENT_PLUMBING = {
    "loa/wiring.py": "the subscriptions",
    "loa/db/changes.py": "the mechanism itself",
    "loa/db/session.py": "SQLite pragmas on each new connection",
    "loa/accounts/models.py": "the audit log refuses updates and deletes (a guard, not a reaction)",
}


def test_only_loa_wiring_subscribes() -> None:
    root = Path(loa.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if rel in EVENT_PLUMBING:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            on_event = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "event"
            if name in SUBSCRIBING or (on_event and name in SQLALCHEMY_EVENTS):
                found.append(f"{rel}:{node.lineno} {name}")
    assert found == [], "subscriptions are made in loa.wiring only"
    assert all((root.parent / rel).is_file() for rel in EVENT_PLUMBING)

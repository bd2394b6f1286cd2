"""Fleet changes reach the schedule: a device created, moved, retired or regrouped through the app's
session factory gets (or loses) its manifest in the same commit; the gateway's periodic task stores
fresh manifests on its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select

from loa.db import make_session_factory
from loa.db.base import utcnow
from loa.db.changes import pending_changes
from loa.fleet import service as fleet
from loa.fleet.models import DeviceManifest
from loa.fleet.runner import run_periodic
from loa.schedule import running_orders, service
from loa.settings import Settings
from loa.wiring import wire
from tests.conftest import Backend
from tests.schedule.test_service_db import commune, daily, manifest_items
from tests.schedule.world import BA_TO, BA_VI, approved_bulletin, audio_asset, load_world, seed_world


@pytest.fixture
def engine(backend: Backend) -> Iterator[Engine]:
    with backend.database("schedule-world", seed=seed_world) as eng:
        yield eng


def manifests(engine: Engine, uid: str) -> int:
    with make_session_factory(engine)() as s:
        device = fleet.get_device(s, uid=uid)
        return int(s.scalar(select(func.count()).where(DeviceManifest.device_id == device.id)) or 0)


def programme_for_ba_to(engine: Engine) -> None:
    with make_session_factory(engine)() as s, s.begin():
        world = load_world(s)
        news = approved_bulletin(s, world, "Tin bão số 3", {"vi": audio_asset(s, "bao3", 90)})
        outcome = service.create_programme(
            s, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=utcnow()
        )
        assert outcome.programme is not None
        running_orders.set_running_order(
            s,
            principal=world.operator,
            key=None,
            programme_id=outcome.programme.id,
            items=[running_orders.ItemInput("bulletin", news.id)],
            now=utcnow(),
        )


def test_device_changes_recompile_manifests_in_the_same_commit(engine: Engine, settings: Settings) -> None:
    programme_for_ba_to(engine)
    factory = wire(engine, settings).sessions
    with factory() as s:
        world = load_world(s)
        ba_to, ba_vi = world.unit(s, BA_TO), world.unit(s, BA_VI)
        fleet.create_device(s, name="Cụm loa mới", uid="loa-bt-09", commune_id=ba_to.id)
        s.commit()  # the commit hook compiles: no explicit call
    assert manifests(engine, "loa-bt-09") == 1
    with factory() as s:
        assert len(manifest_items(s, "loa-bt-09")) >= 1  # the Ba Tơ morning bulletin
    with factory() as s:
        device = fleet.get_device(s, uid="loa-bt-09")
        fleet.move_device(s, device=device, commune_id=ba_vi.id, station_id=None, village="")
        s.commit()
    assert manifests(engine, "loa-bt-09") == 2  # moved away: a new (empty) schedule for Ba Vì
    with factory() as s:
        assert manifest_items(s, "loa-bt-09") == []
    with factory() as s:
        device = fleet.get_device(s, uid="loa-bt-09")
        fleet.move_device(s, device=device, commune_id=ba_vi.id, station_id=None, village="")
        s.commit()
    assert manifests(engine, "loa-bt-09") == 2  # nothing changed, nothing compiled
    with factory() as s:
        world = load_world(s)
        device = fleet.get_device(s, uid="loa-bt-09")
        fleet.set_group_members(s, group=world.group, device_ids=[device.id])
        assert pending_changes(s, "devices") == {True}  # the commit hook will recompile
        s.commit()
        assert pending_changes(s, "devices") == set()
        fleet.deactivate_device(s, device=fleet.get_device(s, uid="loa-bt-01"))
        assert pending_changes(s, "devices") == {True}
        s.commit()
    with factory() as s:
        from loa.fleet.models import DeviceGroupMember

        members = set(s.scalars(select(DeviceGroupMember.device_id)))
        assert members == {fleet.get_device(s, uid="loa-bt-09").id}


def test_the_gateways_periodic_task_stores_new_manifests(engine: Engine, settings: Settings) -> None:
    programme_for_ba_to(engine)
    assert manifests(engine, "loa-bt-01") == 0

    async def scenario() -> None:
        recompile, _relays = wire(engine, settings).periodic  # what ``loa gateway run`` runs beside it
        task = asyncio.create_task(run_periodic(replace(recompile, interval_s=0.05)))
        try:
            for _ in range(200):
                if manifests(engine, "loa-bt-01") >= 1:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert manifests(engine, "loa-bt-01") >= 1


def test_a_failing_periodic_compilation_is_logged_once_and_never_crashes(
    settings: Settings, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    from sqlalchemy import create_engine

    broken = create_engine("sqlite:////nonexistent-dir/x.sqlite3")

    async def scenario() -> None:
        recompile, _relays = wire(broken, settings).periodic
        task = asyncio.create_task(run_periodic(replace(recompile, interval_s=0.01)))
        await asyncio.sleep(0.2)
        assert not task.done()  # still running after many failures
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    failures = [r for r in caplog.records if "recompilation failed" in r.getMessage()]
    assert len(failures) == 1

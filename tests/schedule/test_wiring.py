"""The run-time wiring between domains: a change committed through the application's session factory
reaches the devices' manifests without anybody calling the scheduler by hand."""

from __future__ import annotations

from sqlalchemy import Engine

from loa.content import service as content
from loa.content.workflow import Action
from loa.db.base import utcnow
from loa.schedule import hooks, running_orders, service
from loa.settings import Settings
from loa.wiring import wire
from tests.schedule.test_service_db import commune, daily, manifest_items
from tests.schedule.world import approved_bulletin, audio_asset, load_world


def test_archiving_a_scheduled_bulletin_updates_manifests_in_the_same_commit(
    engine: Engine, settings: Settings
) -> None:
    factory = wire(engine, settings).sessions
    with factory() as session:
        world = load_world(session)
        news = approved_bulletin(session, world, "Tin bão số 3", {"vi": audio_asset(session, "bao3", 90)})
        keep = approved_bulletin(session, world, "Tin tiêm chủng", {"vi": audio_asset(session, "tiem", 60)})
        outcome = service.create_programme(
            session, principal=world.operator, data=daily("Bản tin sáng", 6, 0, 30, commune()), now=utcnow()
        )
        assert outcome.programme is not None
        running_orders.set_running_order(
            session,
            principal=world.operator,
            key=None,
            programme_id=outcome.programme.id,
            items=[
                running_orders.ItemInput("bulletin", news.id),
                running_orders.ItemInput("bulletin", keep.id),
            ],
            now=utcnow(),
        )
        hooks.publish(session, data_dir=settings.data_dir, reason="test")
        session.commit()
        assert {i["bulletin_id"] for i in manifest_items(session, "loa-bt-01")} == {
            str(news.id),
            str(keep.id),
        }

        content.transition(session, principal=world.editor, bulletin_id=news.id, action=Action.ARCHIVE)
        session.commit()  # no explicit recompilation: the commit hook does it

        assert {i["bulletin_id"] for i in manifest_items(session, "loa-bt-01")} == {str(keep.id)}


def test_a_rolled_back_change_leaves_no_pending_notice(engine: Engine, settings: Settings) -> None:
    factory = wire(engine, settings).sessions
    with factory() as session:
        world = load_world(session)
        news = approved_bulletin(session, world, "Tin mưa lũ", {"vi": audio_asset(session, "mualu", 30)})
        session.rollback()
        assert "loa.changes" not in session.info
        assert news.id is not None

"""How the domains are connected at run time: the session factory every entry point uses, with the
cross-domain change handlers subscribed (see ``loa.db.changes``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.db.changes import on_commit
from loa.settings import Settings


def wired_session_factory(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    from loa.schedule import hooks

    factory = make_session_factory(engine)

    def bulletins_changed(session: Session, bulletin_ids: set[Any]) -> None:
        for bulletin_id in sorted(bulletin_ids):
            hooks.bulletin_changed(session, bulletin_id=bulletin_id, data_dir=settings.data_dir)

    def devices_changed(session: Session, _keys: set[Any]) -> None:
        hooks.devices_changed(session, data_dir=settings.data_dir)

    on_commit(factory, "bulletin", bulletins_changed)
    on_commit(factory, "devices", devices_changed)
    return factory

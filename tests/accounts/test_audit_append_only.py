"""The database itself refuses to rewrite the audit log: raw SQL (what a script, a bug outside the
ORM or an intruder with the application's account would send) cannot UPDATE, DELETE or TRUNCATE
``audit_events``, on SQLite and on PostgreSQL. Inserting goes on as before."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from loa.accounts import audit
from loa.accounts.models import AuditEvent
from loa.db import make_session_factory


def test_raw_sql_cannot_rewrite_or_erase_the_audit_log(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        audit.record(s, action="broadcast.emergency", target_type="bulletin", target_id="42")
    statements = [
        "UPDATE audit_events SET actor_name = 'someone else'",
        "DELETE FROM audit_events",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(DBAPIError) as refused, engine.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(refused.value), statement
    with factory() as s, s.begin():
        audit.record(s, action="bulletin.approve", target_type="bulletin", target_id="43")
    with factory() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.actor_name).order_by(AuditEvent.id)).all()
        assert [r.action for r in rows] == ["broadcast.emergency", "bulletin.approve"]
        assert "someone else" not in {r.actor_name for r in rows}
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 2

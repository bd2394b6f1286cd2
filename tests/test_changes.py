"""``loa.db.changes``: the one way a domain reacts to another's change. Handlers run inside the
transaction just before it commits (and see what other handlers announce), callbacks after it
committed; a savepoint is not the commit; a rollback forgets; an isolated handler's failure is
logged and its own writes undone, without failing the change."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from loa.db import make_session_factory
from loa.db.changes import after_commit, mark_changed, on_commit
from loa.topics.models import Topic


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def codes(factory: sessionmaker[Session]) -> set[str]:
    with factory() as s:
        return set(s.scalars(select(Topic.code)))


def test_handlers_run_before_the_commit_and_callbacks_after(factory: sessionmaker[Session]) -> None:
    seen: list[tuple[str, object]] = []

    def handler(session: Session, keys: set[Any]) -> None:
        seen.append(("before", sorted(keys)))
        session.add(Topic(code="them-boi-handler", name="Thêm bởi handler"))  # commits with the change

    on_commit(factory, "bulletin", handler)
    after_commit(factory, "bulletin", lambda keys: seen.append(("after", sorted(keys))))
    with factory() as s, s.begin():
        mark_changed(s, "bulletin", 2)
        mark_changed(s, "bulletin", 1)
        mark_changed(s, "bulletin", 2)
        mark_changed(s, "unheard", 9)  # nobody subscribed: nothing happens
        assert seen == []
    assert seen == [("before", [1, 2]), ("after", [1, 2])]
    assert "them-boi-handler" in codes(factory)

    with factory() as s, s.begin():
        pass  # nothing marked: nothing delivered (the marks of the last commit are gone)
    assert len(seen) == 2


def test_a_change_announced_by_a_handler_is_delivered_in_the_same_commit(
    factory: sessionmaker[Session],
) -> None:
    order: list[str] = []
    # Subscribed in the "wrong" order on purpose: the speech handler announces a bulletin change.
    on_commit(factory, "bulletin", lambda s, keys: order.append(f"bulletin {sorted(keys)}"))
    after_commit(factory, "outbox", lambda keys: order.append("outbox rang"))

    def speech_finished(session: Session, keys: set[Any]) -> None:
        order.append("speech")
        mark_changed(session, "bulletin", 7)
        mark_changed(session, "outbox", True)

    on_commit(factory, "speech_job", speech_finished)
    with factory() as s, s.begin():
        mark_changed(s, "speech_job", "abc")
    assert order == ["speech", "bulletin [7]", "outbox rang"]


def test_a_savepoint_is_not_the_commit_and_a_rollback_forgets(factory: sessionmaker[Session]) -> None:
    calls: list[set[Any]] = []
    on_commit(factory, "devices", lambda s, keys: calls.append(keys))
    with factory() as s, s.begin():
        with s.begin_nested():
            mark_changed(s, "devices", True)
        assert calls == []  # the savepoint committed, the transaction did not
    assert calls == [{True}]

    with factory() as s:
        s.begin()
        mark_changed(s, "devices", "rolled back")
        s.rollback()
        with s.begin():
            pass
    assert calls == [{True}]


def test_an_isolated_handler_fails_alone_and_a_plain_one_fails_the_commit(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session: Session, keys: set[Any]) -> None:
        session.add(Topic(code="nua-chung", name="Ghi dở"))
        session.flush()
        raise RuntimeError("hỏng")

    on_commit(factory, "speech_job", broken, isolated=True)
    with caplog.at_level(logging.ERROR), factory() as s, s.begin():
        s.add(Topic(code="thay-doi-chinh", name="Thay đổi chính"))
        mark_changed(s, "speech_job", "x")
    assert "thay-doi-chinh" in codes(factory) and "nua-chung" not in codes(factory)
    assert any("failed" in r.getMessage() for r in caplog.records)

    on_commit(factory, "bulletin", broken)
    with pytest.raises(RuntimeError, match="hỏng"), factory() as s, s.begin():
        s.add(Topic(code="khong-luu", name="Không lưu"))
        mark_changed(s, "bulletin", 1)
    assert "khong-luu" not in codes(factory)


def test_handlers_that_keep_announcing_are_stopped(factory: sessionmaker[Session]) -> None:
    on_commit(factory, "a", lambda s, keys: mark_changed(s, "b", 1))
    on_commit(factory, "b", lambda s, keys: mark_changed(s, "a", 1))
    with pytest.raises(RuntimeError, match="still announcing"), factory() as s, s.begin():
        mark_changed(s, "a", 1)


def test_a_failing_after_commit_callback_is_logged_and_the_commit_stands(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(keys: set[Any]) -> None:
        raise RuntimeError("chuông hỏng")

    after_commit(factory, "outbox", broken)
    with caplog.at_level(logging.ERROR), factory() as s, s.begin():
        s.add(Topic(code="van-luu", name="Vẫn lưu"))
        mark_changed(s, "outbox", True)
    assert "van-luu" in codes(factory)
    assert any("after-commit handler" in r.getMessage() for r in caplog.records)

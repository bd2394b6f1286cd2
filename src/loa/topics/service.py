"""Reading and adding topics. Keyword-only where a principal acts; session first; never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.audit import record
from loa.accounts.principal import Permission, Principal
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.topics.models import Topic
from loa.vocab.text import clean_line, fold


def list_topics(session: Session, *, include_inactive: bool = False) -> list[Topic]:
    query = select(Topic).order_by(Topic.id)
    if not include_inactive:
        query = query.where(Topic.active.is_(True))
    return list(session.scalars(query))


def topic_lookup(session: Session) -> dict[str, int]:
    table: dict[str, int] = {}
    for t in list_topics(session):
        for name in (t.code, t.name, t.abbreviation):
            if name:
                table.setdefault(fold(name), t.id)
    return table


def get_topic(session: Session, code: str) -> Topic:
    topic = session.scalar(select(Topic).where(Topic.code == code))
    if topic is None:
        raise NotFound(f"Không có chủ đề “{code}”.")
    return topic


def topic_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Topic.code, Topic.name).where(Topic.code.in_(codes))).all()
    return {code: name for code, name in rows}


def create_topic(session: Session, *, principal: Principal, code: str, name: str) -> Topic:
    if not (principal.is_admin or principal.has(Permission.APPROVE_CONTENT)):
        raise PermissionDenied("Chỉ quản trị viên hoặc lãnh đạo duyệt tin được thêm chủ đề.")
    code, name = clean_line(code).lower(), clean_line(name)
    if not code or not name or len(code) > 64 or len(name) > 200:
        raise InvalidInput("Mã chủ đề và tên chủ đề là bắt buộc (mã tối đa 64 ký tự).")
    if session.scalar(select(Topic.id).where(Topic.code == code)) is not None:
        raise Conflict(f"Chủ đề có mã «{code}» đã tồn tại.", code="duplicate_topic")
    topic = Topic(code=code, name=name)
    session.add(topic)
    session.flush()
    record(session, action="topic.create", actor=principal, target_type="topic", target_id=topic.id)
    return topic

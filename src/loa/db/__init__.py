"""Database plumbing shared by every domain package: declarative base, types, engine, sessions."""

from loa.db.base import Base, UtcDateTime, utcnow
from loa.db.session import make_engine, make_session_factory

__all__ = ["Base", "UtcDateTime", "make_engine", "make_session_factory", "utcnow"]

"""The topics table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UtcDateTime, utcnow


class Topic(Base):
    """A topic of propaganda work (e.g. CCHC). The defaults are seeded by migration 0003."""

    # The table keeps the name it had when topics belonged to the activity registers: eight foreign
    # keys and their constraint names point at it, and a rename would buy nothing but a migration.
    __tablename__ = "activity_topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

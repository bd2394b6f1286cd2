"""Tables of bulletins: bulletins, revisions (full snapshots), renditions, photos, review events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loa.content.catalog import AudioOrigin, BulletinKind, Priority, SourceKind, Status
from loa.db.base import Base, UtcDateTime, str_enum, utcnow
from loa.topics.models import Topic

_enum = str_enum


bulletin_topics = Table(
    "bulletin_topics",
    Base.metadata,
    Column("bulletin_id", ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("activity_topics.id"), primary_key=True, index=True),
)


class Bulletin(Base):
    """The working copy of a bulletin. ``version`` guards against lost updates (optimistic locking);
    what was approved and what is live are kept as revision numbers, so an edit after approval
    never changes what the public sees until the new revision is approved and published."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_status_area", "status", "area_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[BulletinKind] = mapped_column(_enum(BulletinKind, "bulletin_kind"))
    title: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    search_folded: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "bulletin_priority"), index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    area_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    source_kind: Mapped[SourceKind] = mapped_column(
        _enum(SourceKind, "bulletin_source"), default=SourceKind.OWN
    )
    source_reference: Mapped[str] = mapped_column(String(500), default="")
    rights_note: Mapped[str] = mapped_column(String(1000), default="")
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[Status] = mapped_column(_enum(Status, "bulletin_status"), default=Status.DRAFT)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    revision_no: Mapped[int] = mapped_column(Integer, default=1)
    approved_revision_no: Mapped[int | None] = mapped_column(Integer)
    published_revision_no: Mapped[int | None] = mapped_column(Integer)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    topics: Mapped[list[Topic]] = relationship(secondary=bulletin_topics, lazy="selectin", order_by=Topic.id)
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="bulletin", cascade="all, delete-orphan", lazy="selectin", order_by="Rendition.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="bulletin",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Attachment.position",
    )

    # Bumped once per save or step by the service; the UPDATE's WHERE checks the loaded value.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class BulletinRevision(Base):
    """A full snapshot of one revision. The latest revision stays open for edits until it is
    submitted (``sealed_at``); an edit after that starts the next revision."""

    __tablename__ = "bulletin_revisions"
    __table_args__ = (UniqueConstraint("bulletin_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    editor_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Rendition(Base):
    """The bulletin in one language: text to read and/or audio (an ``audio_assets`` sha256)."""

    __tablename__ = "bulletin_renditions"
    __table_args__ = (UniqueConstraint("bulletin_id", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text, default="")
    audio_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    audio_origin: Mapped[AudioOrigin | None] = mapped_column(_enum(AudioOrigin, "rendition_audio_origin"))
    audio_duration_ms: Mapped[int | None] = mapped_column(Integer)
    tts_job_id: Mapped[str | None] = mapped_column(String(64))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    bulletin: Mapped[Bulletin] = relationship(back_populates="renditions")


class Attachment(Base):
    """A photo of a bulletin, stored content-addressed; the portal shows it with the caption."""

    __tablename__ = "bulletin_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    bulletin: Mapped[Bulletin] = relationship(back_populates="attachments")


class BulletinEvent(Base):
    """One step of the review workflow, with the reviewer's comment, shown in the bulletin's history."""

    __tablename__ = "bulletin_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24), default="")
    to_status: Mapped[str] = mapped_column(String(24), default="")
    revision_no: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

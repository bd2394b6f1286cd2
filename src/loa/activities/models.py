"""Registers of the non-radio channels (and a manual radio register for what bulletins, schedules and
play receipts did not record): visual items, mobile information trips, press items, portal posts,
events; the links to their topics (``loa.topics``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loa.activities.kinds import EventKind, PortalKind, PressKind, RadioKind, VisualKind
from loa.db.base import Base, UtcDateTime, str_enum, utcnow
from loa.topics.models import Topic

_enum = str_enum


def _topic_links(table: str, record_table: str) -> Table:
    return Table(
        table,
        Base.metadata,
        Column("record_id", ForeignKey(f"{record_table}.id", ondelete="CASCADE"), primary_key=True),
        Column("topic_id", ForeignKey("activity_topics.id"), primary_key=True, index=True),
    )


visual_item_topics = _topic_links("visual_item_topics", "visual_items")
mobile_trip_topics = _topic_links("mobile_trip_topics", "mobile_trips")
press_item_topics = _topic_links("press_item_topics", "press_items")
portal_post_topics = _topic_links("portal_post_topics", "portal_posts")
radio_item_topics = _topic_links("radio_item_topics", "radio_items")
activity_event_topics = _topic_links("activity_event_topics", "activity_events")


class RegisterRecord:
    """Columns every register shares: the area it belongs to (scope), notes, who and when."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class VisualItem(RegisterRecord, Base):
    """Băng rôn, phướn, pa nô, bảng tin: where, how big, how many, from when to when. With ``ends_on``
    the row is a count entry: ``quantity`` items put up at unknown dates between ``installed_on`` and
    ``ends_on`` (a notebook's total). Banners and flags may have no size (``registers`` says which)."""

    __tablename__ = "visual_items"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= installed_on", name="ends_after_start"),
        CheckConstraint("width_m > 0", name="width_positive"),
        CheckConstraint("height_m > 0", name="height_positive"),
        CheckConstraint("sides BETWEEN 1 AND 2", name="sides_range"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("cost_vnd IS NULL OR cost_vnd >= 0", name="cost_non_negative"),
        CheckConstraint("removed_on IS NULL OR removed_on >= installed_on", name="removed_after_installed"),
        Index("ix_visual_items_area_installed", "area_id", "installed_on"),
    )

    kind: Mapped[VisualKind] = mapped_column(_enum(VisualKind, "visual_kind"))
    content: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    width_m: Mapped[float | None] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    sides: Mapped[int] = mapped_column(Integer, default=1)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    installed_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    cost_vnd: Mapped[int | None] = mapped_column(BigInteger)
    photo_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[Topic]] = relationship(secondary=visual_item_topics, lazy="selectin")


class MobileTrip(RegisterRecord, Base):
    """One trip of the mobile information vehicle (xe thông tin lưu động), or with ``ends_on`` a count
    entry: ``quantity`` trips on unknown dates between ``trip_on`` and ``ends_on``."""

    __tablename__ = "mobile_trips"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= trip_on", name="ends_after_start"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes > 0", name="duration_positive"),
        CheckConstraint("audience_estimate IS NULL OR audience_estimate >= 0", name="audience_non_negative"),
        Index("ix_mobile_trips_area_trip_on", "area_id", "trip_on"),
    )

    trip_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    route: Mapped[str] = mapped_column(String(500), default="")
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text, default="")
    audience_estimate: Mapped[int | None] = mapped_column(Integer)
    stops: Mapped[list[MobileTripStop]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MobileTripStop.position"
    )
    topics: Mapped[list[Topic]] = relationship(secondary=mobile_trip_topics, lazy="selectin")


class MobileTripStop(Base):
    """A village or residential group a trip reached: a known unit, or free text when none is known."""

    __tablename__ = "mobile_trip_stops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("mobile_trips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class PressItem(RegisterRecord, Base):
    """A piece made with (or published by) the press: provincial newspaper, radio and TV station; or
    with ``ends_on`` a count entry: ``quantity`` pieces published between ``published_on`` and
    ``ends_on`` (no title, no outlet needed)."""

    __tablename__ = "press_items"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= published_on", name="ends_after_start"),
        Index("ix_press_items_area_published", "area_id", "published_on"),
    )

    outlet: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PressKind] = mapped_column(_enum(PressKind, "press_kind"))
    published_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(1000), default="")
    topics: Mapped[list[Topic]] = relationship(secondary=press_item_topics, lazy="selectin")


class PortalPost(RegisterRecord, Base):
    """Posts on the e-portal entered by hand (one row may count several photos). Bulletins published
    in Loa are counted automatically; ``bulletin_id`` marks an entry that is the same post, so the
    report does not count it twice. With ``ends_on`` the row is a count over ``posted_on``–``ends_on``."""

    __tablename__ = "portal_posts"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= posted_on", name="ends_after_start"),
        Index("ix_portal_posts_area_posted", "area_id", "posted_on"),
    )

    kind: Mapped[PortalKind] = mapped_column(_enum(PortalKind, "portal_kind"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    posted_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(500), default="")
    link: Mapped[str] = mapped_column(String(1000), default="")
    bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="SET NULL"), index=True
    )
    topics: Mapped[list[Topic]] = relationship(secondary=portal_post_topics, lazy="selectin")


class RadioItem(RegisterRecord, Base):
    """Manual radio register (programmes, news items, articles aired) for what the system did not
    record: a period before Loa, a station without IP loudspeakers. Reports count an entry only when
    the system has no aired item of the same kind in the same commune and month (``reports.airtime``).
    With ``ends_on`` the row is a count over ``aired_on``–``ends_on``."""

    __tablename__ = "radio_items"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= aired_on", name="ends_after_start"),
        Index("ix_radio_items_area_aired", "area_id", "aired_on"),
    )

    kind: Mapped[RadioKind] = mapped_column(_enum(RadioKind, "radio_kind"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    aired_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(500), default="")
    station: Mapped[str] = mapped_column(String(200), default="")
    topics: Mapped[list[Topic]] = relationship(secondary=radio_item_topics, lazy="selectin")


class ActivityEvent(RegisterRecord, Base):
    """Conferences, seminars, contests, performances, rallies held to inform people."""

    __tablename__ = "activity_events"
    __table_args__ = (
        CheckConstraint("participants IS NULL OR participants >= 0", name="participants_non_negative"),
        Index("ix_activity_events_area_held", "area_id", "held_on"),
    )

    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "event_kind"))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(500))
    place: Mapped[str] = mapped_column(String(300), default="")
    participants: Mapped[int | None] = mapped_column(Integer)
    topics: Mapped[list[Topic]] = relationship(secondary=activity_event_topics, lazy="selectin")


class ImportStatus(StrEnum):
    PENDING = "pending"  # checked, waiting for the person to confirm the duplicate rows
    IMPORTED = "imported"
    CANCELLED = "cancelled"


class ActivityImport(Base):
    """An uploaded register file waiting for (or past) the person's confirmation. Rows that duplicate
    existing records or each other are imported only when confirmed; a confirmed import cannot be
    confirmed again, so a double submit never imports a row twice. The file is dropped once it is
    imported or cancelled; the counts stay (the audit log has them too)."""

    __tablename__ = "activity_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    register: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255), default="")
    default_area_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id", ondelete="SET NULL"))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[ImportStatus] = mapped_column(_enum(ImportStatus, "import_status"))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

"""Registers of the non-radio channels (and a manual radio register for what bulletins, schedules and
play receipts did not record): visual items, mobile information trips, press items, portal posts,
events; the links to their topics (``loa.topics``)."""

from __future__ import annotations

from datetime import date, datetime

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
    """Băng rôn, phướn, pa nô, bảng tin: where, how big, how many, from when to when."""

    __tablename__ = "visual_items"
    __table_args__ = (
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
    width_m: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float] = mapped_column(Float)
    sides: Mapped[int] = mapped_column(Integer, default=1)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    installed_on: Mapped[date] = mapped_column(Date, index=True)
    removed_on: Mapped[date | None] = mapped_column(Date)
    cost_vnd: Mapped[int | None] = mapped_column(BigInteger)
    photo_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[Topic]] = relationship(secondary=visual_item_topics, lazy="selectin")


class MobileTrip(RegisterRecord, Base):
    """One trip of the mobile information vehicle (xe thông tin lưu động)."""

    __tablename__ = "mobile_trips"
    __table_args__ = (
        CheckConstraint("duration_minutes IS NULL OR duration_minutes > 0", name="duration_positive"),
        CheckConstraint("audience_estimate IS NULL OR audience_estimate >= 0", name="audience_non_negative"),
        Index("ix_mobile_trips_area_trip_on", "area_id", "trip_on"),
    )

    trip_on: Mapped[date] = mapped_column(Date, index=True)
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
    """A piece made with (or published by) the press: provincial newspaper, radio and TV station."""

    __tablename__ = "press_items"
    __table_args__ = (Index("ix_press_items_area_published", "area_id", "published_on"),)

    outlet: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PressKind] = mapped_column(_enum(PressKind, "press_kind"))
    published_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(1000), default="")
    topics: Mapped[list[Topic]] = relationship(secondary=press_item_topics, lazy="selectin")


class PortalPost(RegisterRecord, Base):
    """Posts on the e-portal entered by hand (one row may count several photos). Bulletins published
    in Loa are counted automatically; ``bulletin_id`` marks an entry that is the same post, so the
    report does not count it twice."""

    __tablename__ = "portal_posts"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        Index("ix_portal_posts_area_posted", "area_id", "posted_on"),
    )

    kind: Mapped[PortalKind] = mapped_column(_enum(PortalKind, "portal_kind"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    posted_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    link: Mapped[str] = mapped_column(String(1000), default="")
    bulletin_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulletins.id", ondelete="SET NULL"), index=True
    )
    topics: Mapped[list[Topic]] = relationship(secondary=portal_post_topics, lazy="selectin")


class RadioItem(RegisterRecord, Base):
    """Manual radio register (programmes, news items, articles aired) for what the system did not
    record: a period before Loa, a station without IP loudspeakers. Reports count an entry only when
    the system has no aired item of the same kind in the same commune and month (``reports.airtime``)."""

    __tablename__ = "radio_items"
    __table_args__ = (
        CheckConstraint("count >= 1", name="count_positive"),
        Index("ix_radio_items_area_aired", "area_id", "aired_on"),
    )

    kind: Mapped[RadioKind] = mapped_column(_enum(RadioKind, "radio_kind"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    aired_on: Mapped[date] = mapped_column(Date, index=True)
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

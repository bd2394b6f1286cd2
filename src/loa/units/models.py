"""Tables of administrative units, their lineage across reorganisations, and radio stations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loa.db.base import Base, UtcDateTime, str_enum, utcnow


class UnitKind(StrEnum):
    """Kinds of unit. Labels and behaviour live in ``loa.areas.logic.UNIT_KINDS``."""

    PROVINCE = "province"  # tỉnh
    CITY = "city"  # thành phố trực thuộc trung ương: same tier as a province
    DISTRICT = "district"  # abolished 1 July 2025; kept as a historical grouping for old data
    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"
    VILLAGE = "village"
    RESIDENTIAL_GROUP = "residential_group"


class LineageChange(StrEnum):
    MERGE = "merge"
    SPLIT = "split"
    RENAME = "rename"
    REGROUP = "regroup"  # e.g. old commune of a (now abolished) district → new commune of a province


_enum = str_enum


class AdminUnit(Base):
    """One administrative unit. ``path`` is the materialised chain of codes (``/51/21484/``) used
    for scope checks and subtree queries without recursion."""

    __tablename__ = "admin_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"))
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True)
    former_district_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    # For former districts: the (pre-2025) province they belonged to, e.g. "Tỉnh Kon Tum".
    former_province_name: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # Known for villages a commune has entered (the map's points and "people covered"); communes take
    # their centre from the vietnamadminunits data set instead.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    population: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    parent: Mapped[AdminUnit | None] = relationship(
        remote_side="AdminUnit.id", foreign_keys=[parent_id], lazy="raise_on_sql"
    )


class AreaLineage(Base):
    """Which old unit became which new one (merges, splits, renames) and when."""

    __tablename__ = "area_lineage"
    __table_args__ = (UniqueConstraint("predecessor_id", "successor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    change: Mapped[LineageChange] = mapped_column(_enum(LineageChange, "lineage_change"))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")


class Station(Base):
    """A commune radio station (đài truyền thanh). A new commune may run several legacy systems."""

    __tablename__ = "stations"
    __table_args__ = (Index("ix_stations_commune_name", "commune_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    technology: Mapped[str] = mapped_column(String(40), default="ip")  # ip | fm | wired (see logic)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

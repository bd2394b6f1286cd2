"""Saved reports: the parameters and prose a person chose, the data snapshot the documents were made
from (``ReportData.to_json``), and the generated files with their SHA-256."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loa.db.base import Base, UtcDateTime, utcnow


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    period_kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date, index=True)
    period_end: Mapped[date] = mapped_column(Date)
    topic_code: Mapped[str | None] = mapped_column(String(64))
    area_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    prose: Mapped[dict[str, str]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    files: Mapped[list[ReportFile]] = relationship(
        back_populates="report", cascade="all, delete-orphan", lazy="raise_on_sql"
    )


class ReportFile(Base):
    """A generated document. Bytes are kept in the database (reports are tens of kilobytes), so a
    report and its files are saved in one transaction and backed up together."""

    __tablename__ = "report_files"
    __table_args__ = (UniqueConstraint("report_id", "format"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))  # docx | xlsx | pdf
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # lists must not load files
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="files", lazy="raise_on_sql")

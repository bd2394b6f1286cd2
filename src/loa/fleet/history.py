"""History that grows for years: the months ahead prepared, old device status changes forgotten.

On PostgreSQL ``play_receipts`` and ``device_status_log`` are partitioned by month (``loa.db.partitions``):
``maintain_history`` makes the partitions of the coming months (a DEFAULT partition catches anything
else, so an insert never waits for it) and drops the status log's months older than the retention; on
SQLite it deletes those rows. Play receipts are the evidence of every aired figure: no retention ever
touches them. Run by the gateway every ``history_maintenance_interval_s`` and by ``loa db maintain``;
audited whenever it changed something. The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.db import partitions
from loa.fleet.models import DeviceStatusLog

MONTHS_AHEAD = 3
SYSTEM_ACTOR = "hệ thống"


@dataclass(frozen=True)
class HistoryMaintenance:
    months_ready: list[str] = field(default_factory=list)  # "03/2027": months whose partitions were made
    partitions_made: list[str] = field(default_factory=list)
    status_log_before: datetime | None = None  # the retention's cutoff (a local month's start)
    status_partitions_dropped: list[str] = field(default_factory=list)
    status_rows_deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.partitions_made or self.status_partitions_dropped or self.status_rows_deleted)


def _month_label(start: datetime) -> str:
    local = start.astimezone(UTC) + partitions.LOCAL_OFFSET
    return f"{local.month:02d}/{local.year}"


def day_label(at: datetime) -> str:
    local = at.astimezone(UTC) + partitions.LOCAL_OFFSET
    return f"{local.day:02d}/{local.month:02d}/{local.year}"


def status_log_cutoff(now: datetime, retention_months: int) -> datetime:
    """Status changes before this instant are forgotten: whole local months, so that the current
    month and the ``retention_months`` before it are kept."""
    return partitions.add_months(partitions.month_start(now), -retention_months)


def maintain_history(
    session: Session,
    *,
    now: datetime,
    retention_months: int,
    actor_name: str = SYSTEM_ACTOR,
    via: str = "gateway",
) -> HistoryMaintenance:
    if retention_months < 1:
        raise ValueError("retention_months must be at least 1")
    connection = session.connection()
    made = partitions.ensure_partitions(connection, now=now, months_ahead=MONTHS_AHEAD)
    months = sorted(
        {
            _month_label(start)
            for name in made
            for table in partitions.MONTHLY_TABLES
            if (start := partitions.month_of(table, name)) is not None
        },
        key=lambda label: (label[3:], label[:2]),
    )
    cutoff = status_log_cutoff(now, retention_months)
    if partitions.is_partitioned(connection, partitions.STATUS_LOG):
        dropped = partitions.drop_months_before(connection, partitions.STATUS_LOG, cutoff)
        gone, rows = dropped.partitions, dropped.rows
    else:
        result = session.execute(delete(DeviceStatusLog).where(DeviceStatusLog.at < cutoff))
        gone, rows = [], max(int(getattr(result, "rowcount", 0) or 0), 0)
    outcome = HistoryMaintenance(
        months_ready=months,
        partitions_made=made,
        status_log_before=cutoff,
        status_partitions_dropped=gone,
        status_rows_deleted=rows,
    )
    if outcome.changed:
        audit.record(
            session,
            action="fleet.history_maintain",
            actor_name=actor_name,
            target_type="device_status_log",
            details={
                "via": via,
                "months_ready": months,
                "retention_months": retention_months,
                "status_log_before": day_label(cutoff),
                "status_log_rows": rows,
                "partitions": [*made, *gone],
            },
            at=now,
        )
    session.flush()
    return outcome

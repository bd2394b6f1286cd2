"""Fleet health (issue 18.3): a bounded history of what devices report, and alarms.

* History: the gateway's ingest keeps at most one ``HealthSample`` per device every ``SAMPLE_EVERY``
  (the other statuses only update the device row); ``prune`` drops samples older than the settings'
  ``health_keep_days``. So a device holds at most ``keep_days * 24 * 12`` rows, whatever its heartbeat.
* Alarms: ``ALARMS`` is the table of kinds (condition, Vietnamese label). ``evaluate`` raises an alarm
  once when its condition starts and clears it when it ends, each change audited
  (``device.alarm_raised`` / ``device.alarm_cleared``); what changed is returned for the notices
  (``loa.fleet.alarm_notices``), sent after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.fleet.models import Device, DeviceAlarm, HealthSample
from loa.protocol import messages as m
from loa.units.models import AdminUnit

SAMPLE_EVERY = timedelta(minutes=5)
DATA_BUDGET_ALARM_SHARE = 0.8
DISK_ALARM_FREE_SHARE = 0.10


def record_samples(session: Session, samples: Sequence[tuple[int, datetime, m.Status]]) -> int:
    """Keep one sample per device per ``SAMPLE_EVERY`` (the newest row decides). Returns rows added."""
    ids = sorted({device_id for device_id, _, _ in samples})
    last: dict[int, datetime] = dict(
        session.execute(
            select(HealthSample.device_id, func.max(HealthSample.at))
            .where(HealthSample.device_id.in_(ids))
            .group_by(HealthSample.device_id)
        ).all()
    )
    added = 0
    for device_id, at, status in samples:
        previous = last.get(device_id)
        if previous is not None and at - previous < SAMPLE_EVERY:
            continue
        last[device_id] = at
        network = status.network
        session.add(
            HealthSample(
                device_id=device_id,
                at=at,
                signal_dbm=network.signal_dbm if network else None,
                temperature_c=status.temperature_c,
                storage_free_bytes=status.storage_free_bytes,
                storage_total_bytes=status.storage_total_bytes,
                data_used_today_bytes=status.data_used_today_bytes,
                uptime_s=status.uptime_s,
                output_ok=None if status.output_state is None else status.output_state == "ok",
            )
        )
        added += 1
    return added


def prune(session: Session, *, now: datetime, keep_days: int) -> int:
    result = session.execute(delete(HealthSample).where(HealthSample.at < now - timedelta(days=keep_days)))
    return int(getattr(result, "rowcount", 0) or 0)


def history(session: Session, *, device_id: int, since: datetime) -> list[HealthSample]:
    return list(
        session.scalars(
            select(HealthSample)
            .where(HealthSample.device_id == device_id, HealthSample.at >= since)
            .order_by(HealthSample.at)
        )
    )


# --- alarms ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmRules:
    offline_after: timedelta


def _offline(device: Device, rules: AlarmRules, now: datetime) -> bool:
    changed = device.online_changed_at or device.enrolled_at
    return not device.online and changed is not None and now - changed >= rules.offline_after


def _data_budget(device: Device, rules: AlarmRules, now: datetime) -> bool:
    budget, used = device.data_budget_bytes, device.data_used_today_bytes
    return bool(budget) and used is not None and used >= DATA_BUDGET_ALARM_SHARE * (budget or 0)


def _disk_full(device: Device, rules: AlarmRules, now: datetime) -> bool:
    free, total = device.storage_free_bytes, device.storage_total_bytes
    return bool(total) and free is not None and free < DISK_ALARM_FREE_SHARE * (total or 0)


def _output_failing(device: Device, rules: AlarmRules, now: datetime) -> bool:
    return device.output_state == "failing"


@dataclass(frozen=True)
class AlarmKind:
    name: str
    label: str  # what a person reads (dashboard, e-mail, push)
    cleared_label: str
    condition: Callable[[Device, AlarmRules, datetime], bool]


ALARMS: tuple[AlarmKind, ...] = (
    AlarmKind("offline", "Mất kết nối quá lâu", "Đã kết nối lại", _offline),
    AlarmKind(
        "data_budget",
        "Đã dùng trên 80 % dung lượng dữ liệu trong ngày",
        "Dung lượng dữ liệu trở lại bình thường",
        _data_budget,
    ),
    AlarmKind("disk_full", "Bộ nhớ sắp đầy", "Bộ nhớ đã có chỗ trống", _disk_full),
    AlarmKind("output_failing", "Đầu ra âm thanh bị lỗi", "Đầu ra âm thanh hoạt động lại", _output_failing),
)
ALARM_KINDS = {kind.name: kind for kind in ALARMS}


def alarm_label(kind: str) -> str:
    found = ALARM_KINDS.get(kind)
    return found.label if found else "Cảnh báo khác"


@dataclass(frozen=True)
class AlarmChange:
    device_id: int
    device_name: str
    area_path: str
    kind: str
    raised: bool  # False: cleared
    at: datetime

    @property
    def text(self) -> str:
        kind = ALARM_KINDS[self.kind]
        return f"{self.device_name}: {kind.label if self.raised else kind.cleared_label}"


def evaluate(session: Session, *, now: datetime, rules: AlarmRules) -> list[AlarmChange]:
    """Raise the alarms whose condition started and clear those whose condition ended (audited)."""
    rows = session.execute(
        select(Device, AdminUnit.path)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(Device.active.is_(True), Device.enrolled_at.is_not(None))
    ).all()
    open_alarms = {
        (a.device_id, a.kind): a
        for a in session.scalars(select(DeviceAlarm).where(DeviceAlarm.cleared_at.is_(None)))
    }
    changes: list[AlarmChange] = []
    for device, path in rows:
        for kind in ALARMS:
            active = kind.condition(device, rules, now)
            alarm = open_alarms.get((device.id, kind.name))
            if active and alarm is None:
                session.add(
                    DeviceAlarm(device_id=device.id, kind=kind.name, raised_at=now, detail=kind.label)
                )
                action = "device.alarm_raised"
            elif not active and alarm is not None:
                alarm.cleared_at = now
                action = "device.alarm_cleared"
            else:
                continue
            audit.record(
                session,
                action=action,
                actor_name="hệ thống",
                target_type="device",
                target_id=device.uid,
                area_id=device.commune_id,
                details={"alarm": kind.label},
                at=now,
            )
            changes.append(AlarmChange(device.id, device.name, path or "", kind.name, active, now))
    watched = {device.id for device, _ in rows}
    for (device_id, kind_name), alarm in open_alarms.items():
        gone = session.get(Device, device_id) if device_id not in watched else None
        if gone is not None:  # a loudspeaker taken out of service: nothing left to watch
            alarm.cleared_at = now
            audit.record(
                session,
                action="device.alarm_cleared",
                actor_name="hệ thống",
                target_type="device",
                target_id=gone.uid,
                area_id=gone.commune_id,
                details={"alarm": alarm_label(kind_name), "reason": "cụm loa ngừng hoạt động"},
                at=now,
            )
    session.flush()
    return changes


def open_alarms(
    session: Session, *, device_ids: Sequence[int] | None = None, limit: int = 500
) -> list[tuple[DeviceAlarm, Device, str]]:
    """Open alarms, newest first, each with its device and the device's commune path ("" if none)."""
    query = (
        select(DeviceAlarm, Device, AdminUnit.path)
        .join(Device, Device.id == DeviceAlarm.device_id)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(DeviceAlarm.cleared_at.is_(None))
        .order_by(DeviceAlarm.raised_at.desc(), DeviceAlarm.id.desc())
        .limit(limit)
    )
    if device_ids is not None:
        query = query.where(DeviceAlarm.device_id.in_(list(device_ids)))
    return [(alarm, device, path or "") for alarm, device, path in session.execute(query).all()]

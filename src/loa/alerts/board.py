"""The live acknowledgement board of one alert: per loudspeaker, where the alert stands.

Evidence, strongest first (one read of each table, whatever the fleet's size):

* a play receipt of one of the alert's rounds (``e.<alert>``, ``e.<alert>.r<n>``, ``itemids.parse``)
  with outcome ``played`` → **played** (đã phát);
* the device's last status names one of those rounds as playing → **playing** (đang phát);
* the device answered the alert's command (``done``), or sent any receipt of its rounds (a device that
  was offline when it was sent plays it from its manifest) → **received** (đã nhận);
* otherwise → **no answer** (chưa phản hồi), listed with its last contact.

Acknowledged = received, playing or played; the times to 50 / 90 / 99 % acknowledged are measured from
the alert's start to the first evidence of each device. After a stop, the stop command's answers say
who confirmed it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loa.alerts.models import EmergencyAlert
from loa.fleet.models import Device, DeviceCommand, PlayReceipt, ReceiptOutcome
from loa.protocol import itemids
from loa.units.models import AdminUnit

QUANTILES = (50, 90, 99)


class DeviceState(StrEnum):
    PLAYED = "played"
    PLAYING = "playing"
    RECEIVED = "received"
    NO_ANSWER = "no_answer"


# Variants are data: label and colour of each state, in one table.
STATE_LABELS: dict[DeviceState, tuple[str, str]] = {
    DeviceState.PLAYED: ("Đã phát", "ok"),
    DeviceState.PLAYING: ("Đang phát", "live"),
    DeviceState.RECEIVED: ("Đã nhận", "info"),
    DeviceState.NO_ANSWER: ("Chưa phản hồi", "warn"),
}
STOP_LABELS: dict[str | None, str] = {
    None: "Chưa xác nhận dừng",
    "done": "Đã dừng",
    "expired": "Đã dừng (lệnh đến muộn)",
    "rejected": "Từ chối lệnh dừng",
    "failed": "Dừng thất bại",
}


@dataclass(frozen=True)
class BoardRow:
    uid: str
    name: str
    commune: str
    state: DeviceState
    acknowledged_at: datetime | None  # first evidence
    rounds_played: int
    online: bool
    last_seen_at: datetime | None
    stop_result: str | None  # the stop command's answer (after a stop)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state][0]

    @property
    def tone(self) -> str:
        return STATE_LABELS[self.state][1]

    @property
    def stop_label(self) -> str:
        return STOP_LABELS.get(self.stop_result, self.stop_result or "")


@dataclass(frozen=True)
class Board:
    alert: EmergencyAlert
    rows: list[BoardRow]
    counts: dict[DeviceState, int]
    time_to_s: dict[int, float | None]  # quantile % → seconds from start (None: not reached yet)
    stopped_confirmed: int  # devices that confirmed the stop

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def acknowledged(self) -> int:
        return self.total - self.counts[DeviceState.NO_ANSWER]

    @property
    def silent(self) -> list[BoardRow]:
        return [r for r in self.rows if r.state is DeviceState.NO_ANSWER]


def _carriers(raw: str | None) -> list[str]:
    return list(json.loads(raw)) if raw else []


def _command_answers(session: Session, carriers: list[str]) -> dict[int, tuple[str | None, datetime | None]]:
    """device row id → (result, when) of the commands sent as ``carriers`` (batches or single ids)."""
    if not carriers:
        return {}
    rows = session.execute(
        select(DeviceCommand.device_id, DeviceCommand.result, DeviceCommand.acked_at).where(
            or_(DeviceCommand.batch_id.in_(carriers), DeviceCommand.id.in_(carriers))
        )
    )
    return {device_id: (result, acked_at) for device_id, result, acked_at in rows}


_DeviceRow = tuple[int, str, str, str, bool, datetime | None, str | None]


def _alert_devices(session: Session, alert: EmergencyAlert) -> list[_DeviceRow]:
    """(row id, uid, name, commune name, online, last seen, playing item) of the alert's devices: those
    chosen, else the active ones of its communes (one enrolled during the alert included)."""
    chosen = json.loads(alert.target) if alert.target else {}
    uids = chosen.get("device_uids")
    query = (
        select(
            Device.id,
            Device.uid,
            Device.name,
            func.coalesce(AdminUnit.name, ""),
            Device.online,
            Device.last_seen_at,
            Device.current_item_id,
        )
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .order_by(Device.uid)
    )
    if uids is not None:
        query = query.where(Device.uid.in_(uids))
    else:
        query = query.where(AdminUnit.code.in_(json.loads(alert.commune_codes)), Device.active.is_(True))
    return [(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in session.execute(query)]


def build_board(session: Session, alert: EmergencyAlert) -> Board:
    """The board of ``alert`` (the caller checked the principal may see it)."""
    devices = _alert_devices(session, alert)
    answers = _command_answers(session, _carriers(alert.batch_ids))
    stops = _command_answers(session, _carriers(alert.stop_batch_ids))
    base = itemids.alert_item(alert.id)
    receipts: dict[int, tuple[int, datetime | None]] = {}
    ids = [d[0] for d in devices]
    if ids:
        found = session.execute(
            select(
                PlayReceipt.device_id, PlayReceipt.item_id, PlayReceipt.outcome, PlayReceipt.received_at
            ).where(
                PlayReceipt.device_id.in_(ids),
                or_(PlayReceipt.item_id == base, PlayReceipt.item_id.like(f"{base}.r%")),
                PlayReceipt.received_at >= alert.started_at,
            )
        )
        for device_id, item_id, outcome, received_at in found:
            if itemids.parse(item_id).alert_id != alert.id:
                continue
            played, first = receipts.get(device_id, (0, None))
            played += outcome == ReceiptOutcome.PLAYED
            first = received_at if first is None or received_at < first else first
            receipts[device_id] = (played, first)
    rows: list[BoardRow] = []
    for device_id, uid, name, commune, online, last_seen, current in devices:
        result, acked_at = answers.get(device_id, (None, None))
        played, first_receipt = receipts.get(device_id, (0, None))
        playing = (
            current is not None and itemids.parse(current).alert_id == alert.id and alert.stopped_at is None
        )
        if played:
            state = DeviceState.PLAYED
        elif playing:
            state = DeviceState.PLAYING
        elif result == "done" or first_receipt is not None:
            state = DeviceState.RECEIVED
        else:
            state = DeviceState.NO_ANSWER
        evidence = [t for t in (acked_at if result == "done" else None, first_receipt) if t is not None]
        if state is DeviceState.PLAYING and not evidence:
            evidence = [last_seen] if last_seen is not None else []
        rows.append(
            BoardRow(
                uid=uid,
                name=name,
                commune=commune,
                state=state,
                acknowledged_at=min(evidence) if evidence else None,
                rounds_played=played,
                online=bool(online),
                last_seen_at=last_seen,
                stop_result=stops.get(device_id, (None, None))[0] if alert.stop_batch_ids else None,
            )
        )
    counts = {s: 0 for s in DeviceState}
    for r in rows:
        counts[r.state] += 1
    return Board(
        alert=alert,
        rows=rows,
        counts=counts,
        time_to_s=time_to_quantiles(alert.started_at, [r.acknowledged_at for r in rows]),
        stopped_confirmed=sum(r.stop_result in ("done", "expired") for r in rows),
    )


def time_to_quantiles(started_at: datetime, acknowledged: list[datetime | None]) -> dict[int, float | None]:
    """Seconds from the start until 50 / 90 / 99 % of the devices had acknowledged (None: not yet)."""
    total = len(acknowledged)
    times = sorted(max(0.0, (t - started_at).total_seconds()) for t in acknowledged if t is not None)
    out: dict[int, float | None] = {}
    for q in QUANTILES:
        need = max(1, math.ceil(total * q / 100)) if total else 0
        out[q] = round(times[need - 1], 1) if total and len(times) >= need else None
    return out

"""What the gateways count, kept in the database (issue 20.11): messages dropped at the edge by reason
(bad payloads, forged or wrong topics, oversized messages, unknown devices), refused receipts, and the
traffic in and out. A gateway keeps running totals in memory (``GatewayStats``); every few seconds it
writes what grew since its last write as one upsert per counter (``CounterBatcher``), so an attack of
bad messages costs no write per message, and several gateways add up. Rows are per UTC day, so the
table stays small and the page can show a recent window. Read by the administrators' page
(``fleet.views_counters``) and the Prometheus endpoint (``fleet.metrics``)."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loa.db.base import dialect_insert
from loa.fleet.models import FleetCounter

DROP = "drop."


@dataclass(frozen=True)
class Counter:
    """One counter: the name stored, its Vietnamese label, and how Prometheus sees it."""

    name: str
    label: str
    metric: str
    metric_label: tuple[str, str] | None = None  # ("reason", "oversized")


def _drop(reason: str, label: str) -> Counter:
    return Counter(DROP + reason, label, "loa_mqtt_dropped_total", ("reason", reason))


# Reasons are the gateway's (``GatewayStats.dropped``: topic checks, ``ProtocolError`` codes, the
# batch writer) and the receipt check's; variants as data, one row each.
DROPS: tuple[Counter, ...] = (
    _drop("bad_topic", "Chủ đề MQTT sai hoặc giả mạo"),
    _drop("not_bytes", "Bản tin không có nội dung"),
    _drop("oversized", "Bản tin quá lớn"),
    _drop("not_json", "Nội dung không đọc được"),
    _drop("invalid", "Nội dung sai cấu trúc"),
    _drop("bad_version", "Phiên bản giao thức không được hỗ trợ"),
    _drop("wrong_channel", "Bản tin gửi sai kênh"),
    _drop("unknown_device", "Thiết bị không có trong hệ thống"),
    _drop("refused_receipt", "Biên nhận phát bị từ chối (nội dung không giao cho thiết bị)"),
    _drop("reused_receipt_id", "Biên nhận phát bị từ chối (mã biên nhận đã ghi với giờ phát khác)"),
    _drop("write_failed", "Không ghi được vào cơ sở dữ liệu"),
)
TRAFFIC: tuple[Counter, ...] = (
    Counter("in.messages", "Bản tin nhận từ thiết bị", "loa_mqtt_messages_received_total"),
    Counter("out.acks", "Xác nhận biên nhận đã gửi", "loa_mqtt_messages_sent_total", ("kind", "ack")),
    Counter(
        "out.states", "Thông báo lịch phát mới đã gửi", "loa_mqtt_messages_sent_total", ("kind", "state")
    ),
    Counter("out.commands", "Lệnh đã gửi", "loa_mqtt_messages_sent_total", ("kind", "command")),
    Counter("out.groups", "Lệnh nhóm đã gửi", "loa_mqtt_messages_sent_total", ("kind", "group")),
    Counter("receipts.recorded", "Biên nhận phát đã ghi", "loa_receipts_recorded_total"),
    Counter("receipts.duplicate", "Biên nhận gửi lại (đã có)", "loa_receipts_duplicate_total"),
    Counter("statuses.recorded", "Trạng thái thiết bị đã ghi", "loa_device_statuses_recorded_total"),
)


def _cap(reason: str, label: str) -> Counter:
    return Counter(
        "cap.refused." + reason,
        "Bản tin CAP bị từ chối: " + label,
        "loa_cap_refused_total",
        ("reason", reason),
    )


# CAP 1.2 messages refused at the door (``loa.alerts.cap``): hostile or malformed input, by reason.
CAP_REFUSALS: tuple[Counter, ...] = (
    _cap("oversized", "quá lớn"),
    _cap("not_xml", "không phải XML"),
    _cap("dtd", "có khai báo DTD"),
    _cap("entities", "khai báo thực thể XML"),
    _cap("external", "tham chiếu ra ngoài"),
    _cap("schema", "sai lược đồ CAP 1.2"),
    _cap("unsigned", "thiếu chữ ký số"),
    _cap("bad_signature", "chữ ký số không hợp lệ"),
)
BY_NAME: dict[str, Counter] = {c.name: c for c in (*DROPS, *TRAFFIC, *CAP_REFUSALS)}
HELP = {
    "loa_mqtt_dropped_total": "MQTT messages the gateways dropped, by reason.",
    "loa_mqtt_messages_received_total": "MQTT messages the gateways received from devices.",
    "loa_mqtt_messages_sent_total": "MQTT messages the gateways sent to devices, by kind.",
    "loa_receipts_recorded_total": "Play receipts recorded (new).",
    "loa_receipts_duplicate_total": "Play receipts received again (already recorded).",
    "loa_device_statuses_recorded_total": "Device status messages recorded.",
    "loa_cap_refused_total": "CAP messages refused (hostile or malformed), by reason.",
}


def counter(name: str) -> Counter:
    """The counter named ``name``; a drop reason not in the table still has a label and a metric."""
    known = BY_NAME.get(name)
    if known is not None:
        return known
    if name.startswith(DROP):
        return _drop(name.removeprefix(DROP), "Lý do khác")
    return Counter(name, name, "loa_fleet_other_total", ("name", name))


class _Stats(Protocol):
    received: int
    dropped: collections.Counter[str]
    statuses: int
    receipts_new: int
    receipts_duplicate: int
    acks_sent: int
    states_published: int
    commands_sent: int
    group_messages_sent: int


def stats_totals(stats: _Stats) -> dict[str, int]:
    """A gateway's running totals under the stored names."""
    totals = {
        "in.messages": stats.received,
        "out.acks": stats.acks_sent,
        "out.states": stats.states_published,
        "out.commands": stats.commands_sent,
        "out.groups": stats.group_messages_sent,
        "receipts.recorded": stats.receipts_new,
        "receipts.duplicate": stats.receipts_duplicate,
        "statuses.recorded": stats.statuses,
    }
    totals.update({DROP + reason: n for reason, n in stats.dropped.items()})
    return totals


class CounterBatcher:
    """What grew since the last successful write, at most every ``interval_s`` (monotonic seconds).
    A failed write is simply retried with the next, larger, deltas."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._written: dict[str, int] = {}
        self._next_s = 0.0

    def due(self, now_s: float) -> bool:
        if now_s < self._next_s:
            return False
        self._next_s = now_s + self.interval_s
        return True

    def deltas(self, totals: Mapping[str, int]) -> dict[str, int]:
        return {
            name: n - self._written.get(name, 0)
            for name, n in totals.items()
            if n > self._written.get(name, 0)
        }

    def written(self, deltas: Mapping[str, int]) -> None:
        for name, n in deltas.items():
            self._written[name] = self._written.get(name, 0) + n


def add_counts(session: Session, counts: Mapping[str, int], *, now: datetime) -> None:
    """Add ``counts`` to today's rows (UTC), one upsert; several gateways may add at once."""
    if not counts:
        return
    table = FleetCounter.__table__
    statement = dialect_insert(session, table).values(
        [
            {"name": name, "day": now.date(), "count": n, "updated_at": now}
            for name, n in sorted(counts.items())
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name", "day"],
        set_={"count": table.c.count + statement.excluded.count, "updated_at": statement.excluded.updated_at},
    )
    session.execute(statement)


def totals(session: Session, *, since: date | None = None) -> dict[str, int]:
    """Sums by counter name, over every day or from ``since`` on."""
    query = select(FleetCounter.name, func.sum(FleetCounter.count)).group_by(FleetCounter.name)
    if since is not None:
        query = query.where(FleetCounter.day >= since)
    return {name: int(n) for name, n in session.execute(query)}


def prometheus_text(all_time: Mapping[str, int]) -> str:
    """The counters in Prometheus' text format (0.0.4): every known counter, zero when never counted,
    so a rate exists from the first scrape."""
    series: dict[str, list[tuple[tuple[str, str] | None, int]]] = {}
    for name in sorted({*BY_NAME, *all_time}):
        c = counter(name)
        series.setdefault(c.metric, []).append((c.metric_label, all_time.get(name, 0)))
    lines: list[str] = []
    for metric, values in series.items():
        lines.append(f"# HELP {metric} {HELP.get(metric, 'Fleet counter.')}")
        lines.append(f"# TYPE {metric} counter")
        for pair, value in values:
            labels = "" if pair is None else f'{{{pair[0]}="{_escape(pair[1])}"}}'
            lines.append(f"{metric}{labels} {value}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

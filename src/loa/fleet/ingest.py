"""Writing what devices report: status, births, wills, receipts, command results — in batches.

Called by the gateway from a worker thread with one session per batch; the caller commits. Receipts
arrive at least once and each receipt id is recorded once per device: the ingest claims (device,
receipt id) in ``receipt_ledger`` with the receipt's start, in the same statement that stores the
receipt (PostgreSQL) or just before it (SQLite), in the batch's transaction. A device re-sends its
journaled receipt unchanged, start included: the same start again is a duplicate, already safely
stored; the id again with another start is refused (``IngestOutcome.reused``: not stored, counted by
the gateway) — ``play_receipts``' own key holds the start (its partition key on PostgreSQL), so it
would have stored it a second time, in another month. Every receipt id of a batch is acknowledged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from loa.db.base import dialect_insert, one_of, utcnow
from loa.db.changes import mark_changed
from loa.db.partitions import LOCAL_OFFSET, add_months, month_start
from loa.fleet import health
from loa.fleet.models import (
    Device,
    DeviceCommand,
    DeviceCommandBatch,
    DeviceStatusLog,
    PlayReceipt,
    ReceiptLedger,
    ReceiptSummaryMonth,
    StatusEvent,
)
from loa.protocol import messages as m
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

GRACE_FACTOR = 2.5  # heartbeats that may be missed before a device counts as offline
GRACE_SLACK_S = 5.0
RECEIPT_CHUNK = 1000
WENT_OFFLINE = "device_offline"  # announced (``loa.db.changes``) with the device id when one goes offline

Event = tuple[str, datetime, m.DeviceMessage]  # (device uid, received_at, message)


@dataclass
class IngestOutcome:
    acks: dict[str, list[str]] = field(default_factory=dict)
    receipts_new: int = 0
    receipts_duplicate: int = 0
    statuses: int = 0
    unknown_devices: int = 0
    came_online: list[str] = field(default_factory=list)
    went_offline: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)  # uid → receipts refused (provenance)
    # uid → receipt ids it had recorded with another start, sent again with a new one: refused
    reused: dict[str, list[str]] = field(default_factory=dict)


def offline_deadline(received_at: datetime, heartbeat_s: int) -> datetime:
    return received_at + timedelta(seconds=heartbeat_s * GRACE_FACTOR + GRACE_SLACK_S)


def write_events(session: Session, *, events: Sequence[Event]) -> IngestOutcome:
    """Apply a batch of device messages in arrival order."""
    outcome = IngestOutcome()
    uids = {uid for uid, _, _ in events}
    rows = {
        r.uid: r
        for r in session.execute(
            select(
                Device.id,
                Device.uid,
                Device.online,
                Device.heartbeat_s,
                Device.manifest_error,
            ).where(one_of(session, Device.uid, sorted(uids)))
        )
    }
    updates: dict[int, dict[str, Any]] = {}
    logs: list[DeviceStatusLog] = []
    online: dict[int, bool] = {r.id: r.online for r in rows.values()}
    errors: dict[int, str | None] = {r.id: r.manifest_error for r in rows.values()}
    receipts: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    acks: dict[str, list[str]] = {}
    samples: list[tuple[int, datetime, m.Status]] = []

    for uid, received_at, message in events:
        row = rows.get(uid)
        if row is None:
            outcome.unknown_devices += 1
            continue
        values = updates.setdefault(row.id, {"id": row.id})
        if isinstance(message, m.Lwt):
            if online[row.id]:
                online[row.id] = False
                values.update(online=False, online_changed_at=received_at, offline_deadline_at=None)
                logs.append(DeviceStatusLog(device_id=row.id, at=received_at, event=StatusEvent.OFFLINE))
                outcome.went_offline.append(uid)
                mark_changed(session, WENT_OFFLINE, row.id)
            continue
        heartbeat_s = row.heartbeat_s
        values.update(last_seen_at=received_at)
        if not online[row.id]:
            online[row.id] = True
            values.update(online=True, online_changed_at=received_at)
            logs.append(DeviceStatusLog(device_id=row.id, at=received_at, event=StatusEvent.ONLINE))
            outcome.came_online.append(uid)
        if isinstance(message, m.Status):
            outcome.statuses += 1
            heartbeat_s = message.heartbeat_s
            values.update(_status_values(message))
            samples.append((row.id, received_at, message))
            if message.manifest_error != errors[row.id]:
                event = StatusEvent.MANIFEST_ERROR if message.manifest_error else StatusEvent.MANIFEST_OK
                logs.append(
                    DeviceStatusLog(
                        device_id=row.id, at=received_at, event=event, detail=message.manifest_error or ""
                    )
                )
                errors[row.id] = message.manifest_error
        elif isinstance(message, m.Birth):
            values.update(firmware=message.firmware, manifest_version=message.manifest_version)
            if message.agent_version:
                values.update(agent_version=message.agent_version)
        elif isinstance(message, m.ReceiptBatch):
            ids = acks.setdefault(uid, [])
            for receipt in message.receipts:
                ids.append(receipt.receipt_id)
                receipts.append(_receipt_values(row.id, receipt, received_at))
            values.update(last_receipt_at=max(r.ended_at for r in message.receipts))
        elif isinstance(message, m.CommandResult):
            answer = {
                "device_id": row.id,
                "acked_at": message.at,
                "result": message.status.value,
                "result_detail": message.detail,
            }
            # The device answers with the id it received: its own command's, or the group
            # message's (see ``_record_results``).
            results.append({"id": message.command_id, "uid": uid, **answer})
        values.update(offline_deadline_at=offline_deadline(received_at, heartbeat_s))

    if updates:
        _update_devices(session, list(updates.values()))
    if results:
        first = {(r["id"], r["uid"]): r for r in reversed(results)}  # one answer per command: the first
        _record_results(session, [first[k] for k in dict.fromkeys((r["id"], r["uid"]) for r in results)])
    session.add_all(logs)
    if samples:
        health.record_samples(session, samples)
    recorded = _record_receipts(session, receipts)
    if recorded.new:
        _mark_ended_months(session, recorded.new, now=utcnow())
    outcome.receipts_new = len(recorded.new)
    outcome.receipts_duplicate = recorded.duplicate
    uid_of = {r.id: r.uid for r in rows.values()}
    for device_id, receipt_id in recorded.reused:
        outcome.reused.setdefault(uid_of[device_id], []).append(receipt_id)
    outcome.acks = {uid: list(dict.fromkeys(ids)) for uid, ids in acks.items()}  # each id once
    session.flush()
    return outcome


def _status_values(status: m.Status) -> dict[str, Any]:
    playing = status.playing
    return {
        "heartbeat_s": status.heartbeat_s,
        "volume": status.volume,
        "firmware": status.firmware,
        "current_item_id": playing.item_id if playing else None,
        "current_title": playing.title if playing else None,
        "current_priority": playing.priority if playing else None,
        "manifest_version": status.manifest_version,
        "manifest_error": status.manifest_error,
        "storage_free_bytes": status.storage_free_bytes,
        "temperature_c": status.temperature_c,
        "network_kind": status.network.kind if status.network else None,
        "signal_dbm": status.network.signal_dbm if status.network else None,
        "pending_receipts": status.pending_receipts,
        "messages_refused": status.messages_refused,
        "message_errors": status.message_errors,
        "output_switch_error": status.output_switch_error,
        "storage_total_bytes": status.storage_total_bytes,
        "operator": status.network.operator if status.network else None,
        "uptime_s": status.uptime_s,
        "data_used_today_bytes": status.data_used_today_bytes,
        "data_used_month_bytes": status.data_used_month_bytes,
        "data_budget_bytes": status.data_budget_bytes,
        "output_state": status.output_state,
        **(
            {"agent_version": status.agent_version} if status.agent_version else {}
        ),  # an older agent: keep birth's
        "rolled_back_from": status.rolled_back_from,
    }


def _heard_ms(receipt: m.Receipt) -> int | None:
    """A stream receipt's heard time, at most its span: a device claiming more (forged, or its clock
    stepped back meanwhile) is stored with its span, so no reader (the device's day, reports) meets an
    impossible value. Reports cap the same way (``loa.reports.receipt_sql.stream_heard_ms``)."""
    if receipt.heard_ms is None:
        return None
    span_ms = int((receipt.ended_at - receipt.started_at).total_seconds() * 1000)
    return max(0, min(receipt.heard_ms, span_ms))


def _receipt_values(device_id: int, receipt: m.Receipt, received_at: datetime) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "receipt_id": receipt.receipt_id,
        "seq": receipt.seq,
        "item_id": receipt.item_id,
        "audio_sha256": receipt.audio_sha256,
        "started_at": receipt.started_at,
        "ended_at": receipt.ended_at,
        "outcome": receipt.outcome.value,
        "manifest_version": receipt.manifest_version,
        "detail": receipt.detail,
        "kind": receipt.kind.value,
        "heard_ms": _heard_ms(receipt),
        "interruptions": receipt.interruptions,
        "priority": receipt.priority,
        "received_at": received_at,
    }


def _record_results(session: Session, rows: list[dict[str, Any]]) -> None:
    """Command results, a few statements per batch whatever its size (a group command answered by
    10,000 devices must not become 10,000 round trips).

    An answer to a group message is the device's row ``{batch id}.{device id}``. The gateway writes
    those rows right after publishing, so an answer can arrive first: it is upserted, if the batch
    addressed that device (a device cannot answer for a batch that was not meant for it)."""
    batch_ids = {r["id"] for r in rows}
    batches = {
        b.id: b
        for b in session.execute(
            select(
                DeviceCommandBatch.id,
                DeviceCommandBatch.group_code,
                DeviceCommandBatch.targets,
                DeviceCommandBatch.kind,
                DeviceCommandBatch.issued_by,
                DeviceCommandBatch.issued_at,
                DeviceCommandBatch.expires_at,
                DeviceCommandBatch.sent_at,
            ).where(DeviceCommandBatch.id.in_(batch_ids))
        )
    }
    singles = [r for r in rows if r["id"] not in batches]
    if singles:
        _update_results(session, singles)
    answers = [r for r in rows if r["id"] in batches]
    if not answers:
        return
    now = utcnow()
    communes = dict(
        session.execute(
            select(Device.id, AdminUnit.code)
            .join(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(Device.id.in_({r["device_id"] for r in answers}))
        ).all()
    )
    targets = {b.id: frozenset(json.loads(b.targets)) for b in batches.values() if b.targets is not None}
    members: dict[str, dict[str, Any]] = {}
    for r in answers:
        b = batches[r["id"]]
        if b.id in targets:
            addressed = r["uid"] in targets[b.id]
        else:
            addressed = not b.group_code or communes.get(r["device_id"]) == b.group_code
        if not addressed:
            log.warning("device %s answered group command %s that was not sent to it", r["uid"], b.id)
            continue
        row_id = f"{b.id}.{r['device_id']}"
        members[row_id] = {
            "id": row_id,
            "device_id": r["device_id"],
            "kind": b.kind,
            "payload": "",
            "issued_by": b.issued_by,
            "issued_at": b.issued_at,
            "expires_at": b.expires_at,
            "sent_at": b.sent_at or now,  # answered before the gateway marked it: it was sent
            "batch_id": b.id,
            "acked_at": r["acked_at"],
            "result": r["result"],
            "result_detail": r["result_detail"],
        }
    if not members:
        return
    table: Any = DeviceCommand.__table__
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={c: statement.excluded[c] for c in ("acked_at", "result", "result_detail")},
        where=table.c.result.is_(None),  # the first answer is the result (a replay changes nothing)
    )
    # In (batch, device) order, as the gateway materialises batches: no deadlock between the two.
    ordered = sorted(members.values(), key=lambda row: (str(row["batch_id"]), int(row["device_id"])))
    session.connection().execute(statement, ordered)


def _update_results(session: Session, rows: list[dict[str, Any]]) -> None:
    """Answers to single-device commands, matched by ``(id, device_id)``; only the first is kept (a
    late or replayed answer — ``expired`` from a device that got the command again after a restart —
    never overwrites a recorded result)."""
    table: Any = DeviceCommand.__table__
    columns = ("id", "device_id", "acked_at", "result", "result_detail")
    rows = [{c: r[c] for c in columns} for r in rows]
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        types = {c: table.c[c].type.compile(dialect=dialect) for c in columns}
        arrays = ", ".join(f"CAST(%({c})b AS {types[c]}[])" for c in columns)
        connection.exec_driver_sql(
            f"UPDATE {table.name} AS c SET acked_at = v.acked_at, result = v.result, "
            f"result_detail = v.result_detail FROM unnest({arrays}) AS v({', '.join(columns)}) "
            "WHERE c.id = v.id AND c.device_id = v.device_id AND c.result IS NULL",
            {c: [r[c] for r in rows] for c in columns},
        )
        return
    stmt = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.device_id == bindparam("b_device_id"),
            table.c.result.is_(None),
        )
        .values({c: bindparam(f"b_{c}") for c in ("acked_at", "result", "result_detail")})
    )
    connection.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])


def _update_devices(session: Session, rows: list[dict[str, Any]]) -> None:
    """One statement per set of changed columns. PostgreSQL: ``UPDATE … FROM unnest(arrays)``; others:
    an executemany (the ORM's bulk update by primary key emitted one statement per row on psycopg)."""
    table: Any = Device.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(k for k in row if k != "id")), []).append(row)
    connection = session.connection()
    dialect = connection.dialect
    for columns, group in groups.items():
        if not columns:  # nothing changed for these devices ("UPDATE … SET FROM" is not SQL)
            continue
        if dialect.name == "postgresql":
            types = {c: table.c[c].type.compile(dialect=dialect) for c in ("id", *columns)}
            arrays = ", ".join(f"CAST(%({c})b AS {types[c]}[])" for c in ("id", *columns))
            sets = ", ".join(f"{c} = v.{c}" for c in columns)
            pg_sql = (
                f"UPDATE {table.name} AS d SET {sets} FROM unnest({arrays}) "
                f"AS v({', '.join(('id', *columns))}) WHERE d.id = v.id"
            )
            connection.exec_driver_sql(pg_sql, {c: [r[c] for r in group] for c in ("id", *columns)})
            continue
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in columns})
        )
        connection.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in group])


_RECEIPT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("device_id", "int"),
    ("receipt_id", "text"),
    ("seq", "int"),
    ("item_id", "text"),
    ("audio_sha256", "text"),
    ("started_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("outcome", "text"),
    ("manifest_version", "int"),
    ("detail", "text"),
    ("kind", "text"),
    ("heard_ms", "bigint"),
    ("interruptions", "int"),
    ("priority", "int"),
    ("received_at", "timestamptz"),
)
_COLUMNS = ", ".join(c for c, _ in _RECEIPT_COLUMNS)
# PostgreSQL: one short statement with one array per column, whatever the batch size (a multi-row
# VALUES list is re-parsed by the driver for every batch and was the ingest's largest cost).
# Arrays travel in psycopg's binary format (``%(name)b``): the text format quotes every element with
# regular expressions, which cost a fifth of the whole ingest. The same statement claims each
# (device, receipt id) in the ledger and stores only the receipts whose claim it won: no round trip
# more than a plain insert. A key claimed by a transaction not yet committed waits for it.
_PG_RECORD_RECEIPTS = (
    f"WITH v ({_COLUMNS}) AS ("
    f"SELECT * FROM unnest({', '.join(f'CAST(%({c})b AS {t}[])' for c, t in _RECEIPT_COLUMNS)})), "
    f"claimed AS (INSERT INTO {ReceiptLedger.__tablename__} (device_id, receipt_id, started_at) "
    "SELECT device_id, receipt_id, started_at FROM v ON CONFLICT DO NOTHING RETURNING device_id, receipt_id) "
    f"INSERT INTO {PlayReceipt.__tablename__} ({_COLUMNS}) "
    "SELECT v.* FROM v JOIN claimed USING (device_id, receipt_id) "
    "ON CONFLICT (device_id, receipt_id, started_at) DO NOTHING RETURNING device_id, receipt_id"
)
_PG_LEDGER_STARTS = (
    f"SELECT l.device_id, l.receipt_id, l.started_at FROM {ReceiptLedger.__tablename__} AS l "
    "JOIN unnest(CAST(%(device_id)b AS int[]), CAST(%(receipt_id)b AS text[])) AS k(device_id, receipt_id) "
    "ON l.device_id = k.device_id AND l.receipt_id = k.receipt_id"
)


def _mark_ended_months(session: Session, started: Sequence[datetime], *, now: datetime) -> None:
    """Receipts of a month that has ended (late: a cluster that was offline) make that month's
    stored summary unreadable until it is made again (``loa.reports.summary``): one upsert per month
    touched, in the batch's transaction, in month order. The month's row is upserted even before the
    month is summarised: that upsert waits for a summariser holding the row, so a receipt is either in
    the summary or marks it dirty. Receipts of the current month touch nothing."""
    months = sorted({month_start(at) for at in started if add_months(month_start(at), 1) <= now})
    if not months:
        return
    table: Any = ReceiptSummaryMonth.__table__
    for start in months:
        local = start + LOCAL_OFFSET
        statement = dialect_insert(session, table).values(
            month=date(local.year, local.month, 1), dirty=True, groups=0
        )
        session.execute(statement.on_conflict_do_update(index_elements=["month"], set_={"dirty": True}))


_Key = tuple[int, str]  # (device id, receipt id)


@dataclass
class _Recorded:
    new: list[datetime] = field(default_factory=list)  # the starts of the receipts stored now
    duplicate: int = 0  # recorded before with the same start (or twice in this batch)
    reused: list[_Key] = field(default_factory=list)  # recorded with another start: refused


def _record_receipts(session: Session, receipts: list[dict[str, Any]]) -> _Recorded:
    """Store each receipt whose (device, receipt id) is new, claiming it in ``receipt_ledger`` in the
    same transaction; tell the others apart by the start the ledger holds for them: the same start
    is a duplicate, another one a receipt id reused (refused). Within a batch the first arrival wins."""
    recorded = _Recorded()
    if not receipts:
        return recorded
    first: dict[_Key, dict[str, Any]] = {}
    for r in receipts:
        first.setdefault((r["device_id"], r["receipt_id"]), r)
    keys = sorted(first)  # every writer claims keys in one order: concurrent batches do not deadlock
    stored = _claim_and_insert(session, [first[k] for k in keys])
    starts = _ledger_starts(session, [k for k in keys if k not in stored])
    for r in receipts:
        key = (r["device_id"], r["receipt_id"])
        if key in stored and r is first[key]:
            recorded.new.append(r["started_at"])
            continue
        start = first[key]["started_at"] if key in stored else starts.get(key)
        if start is None or start == r["started_at"]:  # None: its device was deleted meanwhile
            recorded.duplicate += 1
        else:
            recorded.reused.append(key)
    return recorded


def _claim_and_insert(session: Session, receipts: list[dict[str, Any]]) -> set[_Key]:
    """The keys of ``receipts`` (one receipt per key) whose receipt this call stored."""
    connection = session.connection()
    stored: set[_Key] = set()
    if connection.dialect.name == "postgresql":
        for start in range(0, len(receipts), RECEIPT_CHUNK):
            chunk = receipts[start : start + RECEIPT_CHUNK]
            columns = {c: [r[c] for r in chunk] for c, _ in _RECEIPT_COLUMNS}
            rows = connection.exec_driver_sql(_PG_RECORD_RECEIPTS, columns)
            stored.update((row[0], row[1]) for row in rows)
        return stored
    ledger: Any = ReceiptLedger.__table__
    table: Any = PlayReceipt.__table__
    claim = (
        sqlite.insert(ledger)
        .on_conflict_do_nothing(index_elements=["device_id", "receipt_id"])
        .returning(ledger.c.device_id, ledger.c.receipt_id)
    )
    insert = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["device_id", "receipt_id", "started_at"])
        .returning(table.c.device_id, table.c.receipt_id)
    )
    for start in range(0, len(receipts), RECEIPT_CHUNK):
        chunk = receipts[start : start + RECEIPT_CHUNK]
        keys = [{c: r[c] for c in ("device_id", "receipt_id", "started_at")} for r in chunk]
        claimed = {(row[0], row[1]) for row in connection.execute(claim, keys).all()}
        won = [r for r in chunk if (r["device_id"], r["receipt_id"]) in claimed]
        if won:
            stored.update((row[0], row[1]) for row in connection.execute(insert, won).all())
    return stored


def _ledger_starts(session: Session, keys: list[_Key]) -> dict[_Key, datetime]:
    """The start each of ``keys`` is recorded with in the ledger."""
    if not keys:
        return {}
    connection = session.connection()
    found: dict[_Key, datetime] = {}
    for start in range(0, len(keys), RECEIPT_CHUNK):
        chunk = keys[start : start + RECEIPT_CHUNK]
        if connection.dialect.name == "postgresql":
            params = {"device_id": [k[0] for k in chunk], "receipt_id": [k[1] for k in chunk]}
            rows = connection.exec_driver_sql(_PG_LEDGER_STARTS, params).all()
            found.update({(d, r): at.astimezone(UTC) for d, r, at in rows})
            continue
        ledger = ReceiptLedger.__table__
        wanted = tuple_(ledger.c.device_id, ledger.c.receipt_id).in_(chunk)
        rows = session.execute(
            select(ReceiptLedger.device_id, ReceiptLedger.receipt_id, ReceiptLedger.started_at).where(wanted)
        ).all()
        found.update({(d, r): at for d, r, at in rows})
    return found


def sweep_offline(session: Session, *, now: datetime) -> list[str]:
    """Mark devices whose heartbeats stopped as offline (the will may never come). Returns their uids."""
    rows = session.execute(
        select(Device.id, Device.uid).where(Device.online.is_(True), Device.offline_deadline_at < now)
    ).all()
    if not rows:
        return []
    session.execute(
        update(Device),
        [{"id": r.id, "online": False, "online_changed_at": now, "offline_deadline_at": None} for r in rows],
    )
    session.add_all(
        DeviceStatusLog(device_id=r.id, at=now, event=StatusEvent.OFFLINE, detail="heartbeat_timeout")
        for r in rows
    )
    session.flush()
    for r in rows:
        mark_changed(session, WENT_OFFLINE, r.id)
    return [r.uid for r in rows]

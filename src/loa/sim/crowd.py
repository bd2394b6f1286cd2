"""A crowd of registered loudspeaker clusters in the database, written in bulk (SQLAlchemy Core, one
INSERT per few thousand rows): how the pages are checked and measured at 100,000 devices. Rows only:
no credentials, no broker. Each device gets a status row, and a share of them a play receipt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from loa.fleet.models import (
    Device,
    DeviceStatusLog,
    PlayReceipt,
    ReceiptLedger,
    ReceiptOutcome,
    StatusEvent,
)
from loa.protocol import itemids

CHUNK = 5_000


def add_crowd(
    engine: Engine,
    *,
    communes: Sequence[int],
    count: int,
    first: int = 0,
    at: datetime | None = None,
    receipt_every: int = 2,
    near: tuple[float, float] | None = None,
) -> None:
    """Add devices ``first`` … ``first + count - 1`` spread over ``communes`` (unit ids): two in three
    online, one in ten never enrolled, one status row each and a receipt for every ``receipt_every``-th;
    ``near``: placed on a grid 100 m apart north-east of that point (latitude, longitude)."""
    now = at or datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(first, first + count, CHUNK):
            numbers = range(start, min(start + CHUNK, first + count))
            conn.execute(insert(Device), [_device(n, communes, now, near) for n in numbers])
            uids = [f"loa-c{n:011d}" for n in numbers]
            ids = dict(conn.execute(select(Device.uid, Device.id).where(Device.uid.in_(uids))).all())
            conn.execute(
                insert(DeviceStatusLog),
                [
                    {
                        "device_id": ids[u],
                        "at": now - timedelta(hours=1),
                        "event": StatusEvent.ONLINE,
                        "detail": "",
                    }
                    for u in uids
                ],
            )
            receipts = [
                _receipt(ids[u], n, now) for u, n in zip(uids, numbers, strict=True) if n % receipt_every == 0
            ]
            if receipts:
                conn.execute(insert(PlayReceipt), receipts)
                ledger = [{k: r[k] for k in ("device_id", "receipt_id", "started_at")} for r in receipts]
                conn.execute(insert(ReceiptLedger), ledger)  # as the ingest claims them


def _device(
    n: int, communes: Sequence[int], now: datetime, near: tuple[float, float] | None
) -> dict[str, object]:
    new = n % 10 == 9
    lat, lon = (None, None) if near is None else (near[0] + (n % 300) * 0.0009, near[1] + (n // 300) * 0.0009)
    return {
        "latitude": lat,
        "longitude": lon,
        "uid": f"loa-c{n:011d}",
        "name": f"Cụm loa số {n}",
        "commune_id": communes[n % len(communes)],
        "village": f"Thôn {n % 12 + 1}",
        "online": not new and n % 3 != 0,
        "enrolled_at": None if new else now - timedelta(days=30),
        "last_seen_at": None if new else now - timedelta(minutes=n % 60),
        "created_at": now - timedelta(days=60),
        "active": True,
        "heartbeat_s": 30,
        "pending_receipts": 0,
    }


def _receipt(device_id: int, n: int, now: datetime) -> dict[str, object]:
    started = now - timedelta(hours=2, minutes=n % 50)
    return {
        "device_id": device_id,
        "receipt_id": f"r{n}",
        "seq": 1,
        "item_id": itemids.command_item(f"crowd{n % 7}"),
        "audio_sha256": "0" * 64,
        "started_at": started,
        "ended_at": started + timedelta(minutes=5),
        "outcome": ReceiptOutcome.PLAYED,
        "received_at": now,
    }

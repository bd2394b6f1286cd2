"""Which receipts a device may send: only for items it was given (issue 20.6).

A receipt is evidence that a loudspeaker aired an item; reports count them. A device (or whoever holds
its credentials) could publish receipts for items it never had — another commune's bulletin fifty
times over. The gateway therefore screens every receipt before it is written: its item id (a later
round of a repeated message counts as its first round, ``itemids.split_round``) must be

* an item of one of that device's manifests, no newer than the version the receipt names and at most
  ``RECENT_VERSIONS`` older (a device reports with its current version; the item came in that one or
  an earlier one), or
* the item of a "play now" sent to that device in the last ``COMMAND_LOOKBACK``: its own command, or a
  group command that addressed it (``args.item_id``, else ``itemids.command_item`` of the id the
  device received).

Anything else is refused: not written, acknowledged all the same (the server's answer is final, so an
honest device does not resend it for ever), counted by the gateway and logged once per device.

Manifest bodies never change once stored, so their item ids are kept by row id in a bounded cache:
the steady state costs one small query per batch of receipts.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from loa.areas.models import AdminUnit
from loa.db.base import one_of
from loa.fleet.ingest import Event
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, DeviceManifest
from loa.protocol import itemids
from loa.protocol import messages as m

RECENT_VERSIONS = 50
COMMAND_LOOKBACK = timedelta(days=30)
CACHED_MANIFESTS = 20_000
_CHUNK = 100  # devices per manifest query (an OR of ranges stays shallow for SQLite)
_ROUND_BASE = 56  # ``itemids.round_item`` keeps this much of a long first-round id


@dataclass
class Screened:
    events: list[Event]
    refused: dict[str, list[str]] = field(default_factory=dict)  # device uid → receipt ids refused


class ManifestItems:
    """Item ids of stored manifests, by row id (least recently used dropped past ``limit``)."""

    def __init__(self, limit: int = CACHED_MANIFESTS) -> None:
        self.limit = limit
        self._items: OrderedDict[int, frozenset[str]] = OrderedDict()

    def of(self, session: Session, manifest_ids: Iterable[int]) -> dict[int, frozenset[str]]:
        wanted = list(dict.fromkeys(manifest_ids))
        missing = [i for i in wanted if i not in self._items]
        if missing:
            for row_id, body in session.execute(
                select(DeviceManifest.id, DeviceManifest.body).where(
                    one_of(session, DeviceManifest.id, missing)
                )
            ):
                self._items[row_id] = _item_ids(body)
        found = {}
        for i in wanted:
            if i in self._items:
                self._items.move_to_end(i)
                found[i] = self._items[i]
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        return found


def _item_ids(body: bytes) -> frozenset[str]:
    try:
        items = json.loads(body).get("items", [])
        return frozenset(str(it["id"]) for it in items if isinstance(it, dict) and "id" in it)
    except (ValueError, AttributeError, TypeError):
        return frozenset()


@dataclass
class _Device:
    id: int
    uid: str
    commune_code: str | None
    receipts: list[m.Receipt] = field(default_factory=list)
    manifests: list[tuple[int, frozenset[str]]] = field(default_factory=list)  # (version, item ids)
    commanded: set[str] = field(default_factory=set)  # items of "play now" sent to it

    def knows(self, receipt: m.Receipt) -> bool:
        v = receipt.manifest_version
        if _names(self.commanded, receipt.item_id):
            return True
        return v is not None and any(
            v - RECENT_VERSIONS <= version <= v and _names(items, receipt.item_id)
            for version, items in self.manifests
        )


def _names(known: frozenset[str] | set[str], item_id: str) -> bool:
    """Whether ``item_id`` is one of ``known`` or a later round of one."""
    base, _round = itemids.split_round(item_id)
    if item_id in known or base in known:
        return True
    return len(base) == _ROUND_BASE and any(k.startswith(base) for k in known)


def screen_receipts(
    session: Session, events: Sequence[Event], cache: ManifestItems, *, now: datetime
) -> Screened:
    """``events`` without the receipts their device was not given (see the module's docstring)."""
    batches = [(uid, msg) for uid, _, msg in events if isinstance(msg, m.ReceiptBatch)]
    if not batches:
        return Screened(list(events))
    devices = _devices(session, {uid for uid, _ in batches})
    for uid, batch in batches:
        if uid in devices:
            devices[uid].receipts += batch.receipts
    _learn_manifest_items(session, list(devices.values()), cache)
    doubtful = [d for d in devices.values() if not all(d.knows(r) for r in d.receipts)]
    if doubtful:
        _learn_command_items(session, doubtful, now=now)
    refused: dict[str, list[str]] = {}
    kept: list[Event] = []
    for uid, at, message in events:
        device = devices.get(uid)
        if device is None or not isinstance(message, m.ReceiptBatch):
            kept.append((uid, at, message))
            continue
        good = [r for r in message.receipts if device.knows(r)]
        bad = [r.receipt_id for r in message.receipts if not device.knows(r)]
        if bad:
            refused.setdefault(uid, []).extend(bad)
        if good:
            kept.append((uid, at, message.model_copy(update={"receipts": good}) if bad else message))
    return Screened(kept, refused)


def _devices(session: Session, uids: set[str]) -> dict[str, _Device]:
    rows = session.execute(
        select(Device.id, Device.uid, AdminUnit.code)
        .outerjoin(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(one_of(session, Device.uid, sorted(uids)))
    )
    return {uid: _Device(device_id, uid, code) for device_id, uid, code in rows}


def _learn_manifest_items(session: Session, devices: list[_Device], cache: ManifestItems) -> None:
    ranges: dict[int, tuple[int, int]] = {}
    for d in devices:
        versions = [r.manifest_version for r in d.receipts if r.manifest_version is not None]
        if versions:
            ranges[d.id] = (min(versions) - RECENT_VERSIONS, max(versions))
    by_id = {d.id: d for d in devices}
    found: list[tuple[int, int, int]] = []  # (manifest row id, device id, version)
    pairs = list(ranges.items())
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        wanted = or_(
            *(
                and_(DeviceManifest.device_id == device_id, DeviceManifest.version.between(lo, hi))
                for device_id, (lo, hi) in chunk
            )
        )
        found += [
            (r.id, r.device_id, r.version)
            for r in session.execute(
                select(DeviceManifest.id, DeviceManifest.device_id, DeviceManifest.version).where(wanted)
            )
        ]
    items = cache.of(session, (row_id for row_id, _, _ in found))
    for row_id, device_id, version in found:
        by_id[device_id].manifests.append((version, items.get(row_id, frozenset())))


def _learn_command_items(session: Session, devices: list[_Device], *, now: datetime) -> None:
    since = now - COMMAND_LOOKBACK
    by_id = {d.id: d for d in devices}
    singles = session.execute(
        select(DeviceCommand.id, DeviceCommand.device_id, DeviceCommand.payload).where(
            DeviceCommand.kind == "play_now",
            DeviceCommand.batch_id.is_(None),
            DeviceCommand.issued_at >= since,
            one_of(session, DeviceCommand.device_id, sorted(by_id)),
        )
    )
    for command_id, device_id, payload in singles:
        by_id[device_id].commanded.add(_play_item(command_id, payload))
    batches = session.execute(
        select(
            DeviceCommandBatch.id,
            DeviceCommandBatch.payload,
            DeviceCommandBatch.group_code,
            DeviceCommandBatch.targets,
        ).where(DeviceCommandBatch.kind == "play_now", DeviceCommandBatch.issued_at >= since)
    )
    for batch_id, payload, group_code, targets_json in batches:
        item = _play_item(batch_id, payload)
        targets = frozenset(json.loads(targets_json)) if targets_json is not None else None
        for d in devices:
            if targets is not None:
                addressed = d.uid in targets
            else:
                addressed = not group_code or d.commune_code == group_code
            if addressed:
                d.commanded.add(item)


def _play_item(command_id: str, payload: str) -> str:
    """The item a device makes of a "play now": its ``item_id``, else one from the command's id."""
    try:
        args: Any = json.loads(payload).get("args") or {}
        item = args.get("item_id") if isinstance(args, dict) else None
    except (ValueError, AttributeError):
        item = None
    return str(item) if item else itemids.command_item(command_id)

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

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.db.base import one_of
from loa.fleet.ingest import Event
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, DeviceManifest
from loa.protocol import itemids
from loa.protocol import messages as m
from loa.units.models import AdminUnit

RECENT_VERSIONS = 50
COMMAND_LOOKBACK = timedelta(days=30)
CACHED_MANIFESTS = 20_000
CACHED_DEVICES = 200_000
_BUCKET = 64  # devices whose versions are asked for from nearby floors share a query
_ROUND_BASE = 56  # ``itemids.round_item`` keeps this much of a long first-round id


@dataclass
class Screened:
    events: list[Event]
    refused: dict[str, list[str]] = field(default_factory=dict)  # device uid → receipt ids refused


@dataclass
class _Versions:
    """What is known of one device's stored manifests: every version from ``lo`` up to ``top`` (as
    stored when last asked), by version → manifest row id."""

    lo: int
    top: int
    rows: dict[int, int] = field(default_factory=dict)


class ManifestItems:
    """What the screening keeps between batches, so that the steady state costs no query: item ids of
    stored manifests by row id (bodies never change), and each device's versions (a device's receipt
    naming a version above the newest known asks the database again). Both bounded (least recently
    used dropped)."""

    def __init__(self, limit: int = CACHED_MANIFESTS, devices: int = CACHED_DEVICES) -> None:
        self.limit = limit
        self.device_limit = devices
        self._items: OrderedDict[int, frozenset[str]] = OrderedDict()
        self.versions: OrderedDict[int, _Versions] = OrderedDict()

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

    def learn_versions(self, session: Session, ranges: dict[int, tuple[int, int]]) -> None:
        """Make sure every version in each device's ``(lo, hi)`` that is stored is known."""
        need: dict[int, int] = {}  # device id → ask for its versions from this one up
        for device_id, (lo, hi) in ranges.items():
            known = self.versions.get(device_id)
            if known is None or lo < known.lo:
                need[device_id] = lo
            elif hi > known.top:
                need[device_id] = known.top + 1
        by_floor: dict[int, list[int]] = {}  # devices asked together from a shared floor (a bucket)
        for device_id, floor in need.items():
            by_floor.setdefault(floor // _BUCKET * _BUCKET, []).append(device_id)
        fetched: dict[int, dict[int, int]] = {device_id: {} for device_id in need}
        for floor, device_ids in by_floor.items():
            stored = session.execute(
                select(DeviceManifest.device_id, DeviceManifest.version, DeviceManifest.id).where(
                    one_of(session, DeviceManifest.device_id, sorted(device_ids)),
                    DeviceManifest.version >= floor,
                )
            )
            for device_id, version, row_id in stored:
                if version >= need[device_id]:
                    fetched[device_id][version] = row_id
        for device_id, rows in fetched.items():
            known = self.versions.get(device_id)
            lo = need[device_id] if known is None else min(known.lo, need[device_id])
            top = max([need[device_id] - 1, *rows] if known is None else [known.top, *rows])
            merged = {**(known.rows if known is not None else {}), **rows}
            # Older versions are forgotten (asked for again if a receipt names them), not those asked for now.
            floor = min(top - 2 * RECENT_VERSIONS, need[device_id])
            if lo < floor:
                merged = {v: r for v, r in merged.items() if v >= floor}
                lo = floor
            self.versions[device_id] = _Versions(lo, top, merged)
        for device_id in ranges:
            if device_id in self.versions:
                self.versions.move_to_end(device_id)
        while len(self.versions) > self.device_limit:
            self.versions.popitem(last=False)


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
    commune_code: str | None = None  # loaded only to check group commands
    receipts: list[m.Receipt] = field(default_factory=list)
    manifests: list[tuple[int, frozenset[str]]] = field(default_factory=list)  # (version, item ids)
    commanded: set[str] = field(default_factory=set)  # items of "play now" sent to it

    def knows(self, receipt: m.Receipt) -> bool:
        item_id, v = receipt.item_id, receipt.manifest_version
        base = itemids.split_round(item_id)[0] if ".r" in item_id else item_id
        if _names(self.commanded, item_id, base):
            return True
        if v is None:
            return False
        return any(
            v - RECENT_VERSIONS <= version <= v and _names(items, item_id, base)
            for version, items in self.manifests
        )


def _names(known: frozenset[str] | set[str], item_id: str, base: str) -> bool:
    """Whether ``item_id`` is one of ``known`` or a later round (of first round ``base``) of one."""
    if item_id in known or base in known:
        return True
    return base != item_id and len(base) == _ROUND_BASE and any(k.startswith(base) for k in known)


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
    verdicts = {(d.uid, r.receipt_id): d.knows(r) for d in devices.values() for r in d.receipts}
    doubtful = [d for d in devices.values() if not all(verdicts[d.uid, r.receipt_id] for r in d.receipts)]
    if doubtful:
        _learn_command_items(session, doubtful, now=now)
        for d in doubtful:
            verdicts.update({(d.uid, r.receipt_id): d.knows(r) for r in d.receipts})
    refused: dict[str, list[str]] = {}
    kept: list[Event] = []
    for uid, at, message in events:
        device = devices.get(uid)
        if device is None or not isinstance(message, m.ReceiptBatch):
            kept.append((uid, at, message))
            continue
        good = [r for r in message.receipts if verdicts[uid, r.receipt_id]]
        bad = [r.receipt_id for r in message.receipts if not verdicts[uid, r.receipt_id]]
        if bad:
            refused.setdefault(uid, []).extend(bad)
        if good:
            kept.append((uid, at, message.model_copy(update={"receipts": good}) if bad else message))
    return Screened(kept, refused)


def _devices(session: Session, uids: set[str]) -> dict[str, _Device]:
    rows = session.execute(select(Device.id, Device.uid).where(one_of(session, Device.uid, sorted(uids))))
    return {uid: _Device(device_id, uid) for device_id, uid in rows}


def _learn_manifest_items(session: Session, devices: list[_Device], cache: ManifestItems) -> None:
    ranges: dict[int, tuple[int, int]] = {}
    for d in devices:
        versions = [r.manifest_version for r in d.receipts if r.manifest_version is not None]
        if versions:
            ranges[d.id] = (min(versions) - RECENT_VERSIONS, max(versions))
    cache.learn_versions(session, ranges)
    found: list[tuple[_Device, int, int]] = []  # (device, version, manifest row id)
    by_id = {d.id: d for d in devices}
    for device_id, (lo, hi) in ranges.items():
        known = cache.versions.get(device_id)
        if known is not None:
            found += [(by_id[device_id], v, row) for v, row in known.rows.items() if lo <= v <= hi]
    items = cache.of(session, (row for _, _, row in found))
    for device, version, row in found:
        device.manifests.append((version, items.get(row, frozenset())))


def _learn_command_items(session: Session, devices: list[_Device], *, now: datetime) -> None:
    since = now - COMMAND_LOOKBACK
    by_id = {d.id: d for d in devices}
    communes = session.execute(
        select(Device.id, AdminUnit.code)
        .join(AdminUnit, AdminUnit.id == Device.commune_id)
        .where(one_of(session, Device.id, sorted(by_id)))
    )
    for device_id, code in communes:
        by_id[device_id].commune_code = code
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

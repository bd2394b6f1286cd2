"""What one loudspeaker was to play on a given day and what it did: its duty (the day's manifest
compiled and resolved exactly as the device will) beside the evidence (its play receipts).

An item is "played in full" only when the loudspeaker sent a played receipt for it; what the schedule
predicted stays a prediction ("Dự kiến"). Items planned before the loudspeaker existed (or was
enrolled) are not its duty and are not shown; what it played outside its manifest (play now, an
emergency message) is shown too, by title.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.logic import format_vietnam_time
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.errors import NotFound
from loa.fleet.models import Device, DeviceCommand, DeviceCommandBatch, PlayReceipt, ReceiptOutcome
from loa.fleet.playable import audio_titles
from loa.protocol.itemids import parse as parse_item_id
from loa.protocol.itemids import split_round
from loa.protocol.priority import Priority
from loa.protocol.timeline import Status
from loa.schedule.calendar import device_path
from loa.schedule.compiler import Window, compile_manifests
from loa.schedule.dbsnapshot import load_snapshot
from loa.schedule.playout import STATUS_LABELS, format_duration_vi, items_from_manifest, resolve_timeline
from loa.schedule.recurrence import VIETNAM_TZ, to_local, to_utc
from loa.schedule.titles import item_titles
from loa.vocab.ladder import rung_of

MAX_DEVICE_DAYS = 1
PLAY_NOW_PRIORITY = int(Priority.PRIORITY_BULLETIN)  # what a "play now" plays at unless raised


class Evidence(StrEnum):
    """What the receipts say about one item."""

    PLAYED = "played"  # a played receipt: the item played to its end
    PARTIAL = "partial"  # only a pre-empted receipt: cut before its end
    FAILED = "failed"  # only a failed receipt
    MISSING = "missing"  # its time has passed and no receipt came
    UPCOMING = "upcoming"  # its time has not come


EVIDENCE_LABELS: dict[Evidence, str] = {
    Evidence.PLAYED: "Đã phát đủ",
    Evidence.PARTIAL: "Phát dở (bị ngắt)",
    Evidence.FAILED: "Lỗi, không phát được",
    Evidence.MISSING: "Chưa có biên nhận",
    Evidence.UPCOMING: "Chưa đến giờ phát",
}
# When an item has several receipts (cut, then played again), the best one says what happened.
_RANK = {ReceiptOutcome.PLAYED: 3, ReceiptOutcome.PREEMPTED: 2, ReceiptOutcome.FAILED: 1}
_EVIDENCE_OF = {
    ReceiptOutcome.PLAYED: Evidence.PLAYED,
    ReceiptOutcome.PREEMPTED: Evidence.PARTIAL,
    ReceiptOutcome.FAILED: Evidence.FAILED,
}


@dataclass(frozen=True)
class Proof:
    """The best receipt of one item on the day."""

    outcome: ReceiptOutcome
    started_at: datetime
    played_ms: int
    audio_sha256: str | None  # None: a stream (live broadcast, relay)


@dataclass(frozen=True)
class PlayRow:
    title: str
    source_id: str
    planned_start_local: datetime | None  # None: played outside the manifest
    planned_end_local: datetime | None
    played_start_local: datetime | None  # from its receipt, else as the schedule predicted
    duration_ms: int
    priority: int
    status: Status | None  # the schedule's prediction; None outside the manifest
    message: str  # the prediction explained, or what the receipt says
    evidence: Evidence

    @property
    def rung_label(self) -> str:
        return rung_of(self.priority).label

    @property
    def colour(self) -> str:
        return rung_of(self.priority).colour

    @property
    def status_label(self) -> str:
        """What happened, from the receipts only."""
        return EVIDENCE_LABELS[self.evidence]

    @property
    def planned_label(self) -> str:
        return STATUS_LABELS[self.status] if self.status is not None else "Ngoài lịch phát"


@dataclass(frozen=True)
class DeviceDay:
    device: Device
    day: date
    rows: tuple[PlayRow, ...]
    conflicts: tuple[str, ...]
    overfull: tuple[str, ...]
    notices: tuple[str, ...]
    content_hash: str


def _proofs(session: Session, device: Device, start: datetime, end: datetime) -> dict[str, Proof]:
    """The best receipt of each item the device started playing in ``[start, end)``."""
    out: dict[str, Proof] = {}
    for item_id, outcome, started_at, ended_at, sha, heard_ms in session.execute(
        select(
            PlayReceipt.item_id,
            PlayReceipt.outcome,
            PlayReceipt.started_at,
            PlayReceipt.ended_at,
            PlayReceipt.audio_sha256,
            PlayReceipt.heard_ms,
        )
        .where(
            PlayReceipt.device_id == device.id, PlayReceipt.started_at >= start, PlayReceipt.started_at < end
        )
        .order_by(PlayReceipt.started_at)
    ).all():
        found = out.get(item_id)
        if found is None or _RANK[outcome] > _RANK[found.outcome]:
            played_ms = max(0, int((ended_at - started_at).total_seconds() * 1000))
            if heard_ms is not None:  # a stream: what was heard of it, not its span
                played_ms = heard_ms
            out[item_id] = Proof(outcome, started_at, played_ms, sha)
    return out


def _evidence(proof: Proof | None, start_at: datetime, now: datetime) -> Evidence:
    if proof is not None:
        return _EVIDENCE_OF[proof.outcome]
    return Evidence.UPCOMING if start_at > now else Evidence.MISSING


def _proof_text(proof: Proof) -> str:
    heard = format_duration_vi(proof.played_ms)
    when = to_local(proof.started_at).strftime("%H:%M")
    if proof.outcome is ReceiptOutcome.PLAYED:
        return f"Biên nhận: phát lúc {when}, {heard}."
    if proof.outcome is ReceiptOutcome.PREEMPTED:
        return f"Biên nhận: phát lúc {when}, bị ngắt sau {heard}."
    return f"Biên nhận: lỗi lúc {when}, không phát được."


def _duty_from(device: Device) -> datetime:
    """From when the loudspeaker had a duty: its enrolment, else its registration."""
    return device.enrolled_at or device.created_at


def device_day(session: Session, *, principal: Principal, uid: str, day: date, now: datetime) -> DeviceDay:
    require(principal, Permission.VIEW)
    device = session.scalar(select(Device).where(Device.uid == uid))
    # Another area's loudspeaker is answered like a missing one: its id reveals nothing.
    if device is None or not principal.can_access_path(device_path(session, device)):
        raise NotFound("Không tìm thấy cụm loa.", code="device_not_found")
    start = to_utc(datetime.combine(day, time()), VIETNAM_TZ)
    window = Window(start, start + timedelta(days=MAX_DEVICE_DAYS))
    loaded = load_snapshot(session, start_at=window.start_at, end_at=window.end_at, uids=[uid])
    compilation = compile_manifests(loaded.snapshot, window=window, generated_at=now)
    compiled = compilation.manifests.get(uid)
    proofs = _proofs(session, device, window.start_at, window.end_at)
    duty_from = _duty_from(device)
    rows: list[PlayRow] = []
    notices: list[str] = []
    named: set[str] = set()
    if compiled is not None and compiled.result.items:
        manifest = compiled.manifest
        timeline = resolve_timeline(items_from_manifest(manifest))
        first_segment: dict[str, datetime] = {}
        for seg in timeline.segments:
            first_segment.setdefault(seg.item_id, seg.start_at)
        before = 0
        for item, result in zip(manifest.items, timeline.results, strict=True):
            named.add(item.id)
            if item.start_at < duty_from:
                before += 1
                continue
            proof = proofs.get(item.id)
            played_at = proof.started_at if proof is not None else first_segment.get(item.id)
            rows.append(
                PlayRow(
                    title=item.title,
                    source_id=item.source_id,
                    planned_start_local=to_local(item.start_at),
                    planned_end_local=to_local(item.start_at + timedelta(milliseconds=item.duration_ms)),
                    played_start_local=to_local(played_at) if played_at is not None else None,
                    duration_ms=item.duration_ms,
                    priority=item.priority,
                    status=result.status,
                    message=(_proof_text(proof) + " " if proof is not None else "")
                    + f"Dự kiến theo lịch: {result.message}",
                    evidence=_evidence(proof, item.start_at, now),
                )
            )
        if before:
            notices.append(
                f"Cụm loa bắt đầu hoạt động lúc {format_vietnam_time(duty_from)}: {before} mục phát trước "
                "thời điểm đó không phải nhiệm vụ của loa nên không được liệt kê."
            )
    rows.extend(_outside_manifest(session, proofs, named))
    rows.sort(key=lambda r: r.planned_start_local or r.played_start_local or datetime.min)
    return DeviceDay(
        device=device,
        day=day,
        rows=tuple(rows),
        conflicts=tuple(c.message for c in compilation.conflicts),
        overfull=tuple(w.message for w in compilation.overfull),
        notices=tuple(dict.fromkeys([*notices, *loaded.notices, *(n.message for n in compilation.notices)])),
        content_hash=compiled.content_hash if compiled is not None else "",
    )


def _priorities(session: Session, command_ids: set[str]) -> dict[str, int]:
    """The rung each "play now" command was sent at (sent to one device or as a batch), by the id part
    devices put in their item ids (``cmd-<id>``, possibly shortened): an emergency message shows as
    one."""
    out: dict[str, int] = {}
    for wanted in command_ids:
        for model in (DeviceCommand, DeviceCommandBatch):
            payload = session.scalar(
                select(model.payload).where(model.id.startswith(wanted, autoescape=True)).limit(1)
            )
            if payload is None:
                continue
            with contextlib.suppress(ValueError, TypeError, AttributeError):  # a payload not of v1
                out[wanted] = int((json.loads(payload).get("args") or {}).get("priority", PLAY_NOW_PRIORITY))
            break
    return out


def _outside_manifest(session: Session, proofs: dict[str, Proof], named: set[str]) -> list[PlayRow]:
    """What the loudspeaker played that its manifest did not hold (play now, emergency messages, and
    their repeats), titled by what the item id names (``loa.schedule.titles``), else by the audio."""
    outside = {item_id: proof for item_id, proof in proofs.items() if split_round(item_id)[0] not in named}
    named_titles = item_titles(session, outside)
    audio = audio_titles(session, {p.audio_sha256 for p in outside.values() if p.audio_sha256})
    priorities = _priorities(session, {c for i in outside if (c := parse_item_id(i).command)})
    rows = []
    for item_id, proof in outside.items():
        ref = parse_item_id(item_id)
        title = named_titles.get(item_id)
        if title is None:
            if proof.audio_sha256 is None:
                title = "Phát trực tiếp hoặc tiếp sóng"
            else:
                title = audio.get(proof.audio_sha256, "Âm thanh không còn trong kho")
            title = title if ref.round == 1 else f"{title} (lần {ref.round})"
        rows.append(
            PlayRow(
                title=title,
                source_id="",
                planned_start_local=None,
                planned_end_local=None,
                played_start_local=to_local(proof.started_at),
                duration_ms=proof.played_ms,
                priority=priorities.get(ref.command, PLAY_NOW_PRIORITY),
                status=None,
                message=_proof_text(proof) + " Phát ngoài lịch (phát ngay hoặc phát khẩn cấp).",
                evidence=_EVIDENCE_OF[proof.outcome],
            )
        )
    return rows

"""Use cases of emergency alerts (cảnh báo khẩn cấp): one message to every active loudspeaker of the communes
chosen (or the loudspeakers chosen among them), at the emergency rung (900: it pre-empts scheduled
programmes and live broadcasts), repeated until someone stops it or it expires. Started and stopped
alerts are in the audit log.

An alert reaches a loudspeaker two ways (docs/protocol.md, "Emergency alerts"):

* at once, as a group "play now" with ``repeat_gap_s`` (``loa.fleet.commands``), whose per-device
  rows hold the devices' answers; its item id is the alert's (``itemids.alert_item``);
* and carried by the signed manifest of every targeted device, as rounds at fixed times
  (``loa.schedule.alertrounds``) with the same item ids: a loudspeaker that restarts, was offline when
  it was sent (longer than the command lives) or enrols during the alert plays it from its manifest.

Starting, stopping and expiring announce ``ALERT_CHANGED``; the entry point (``loa.wiring``) recompiles
the affected manifests in the same commit. A stop is a ``stop`` command to the same loudspeakers (its
answers confirm it per device, ``loa.alerts.board``) and the manifest without the alert. Each round
is "lead-in signal + message", rendered once (``loa.alerts.leadin``) when the entry point passes the
audio store."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require
from loa.alerts import levels, targeting
from loa.alerts.models import EmergencyAlert
from loa.areas.logic import COMMUNE_KINDS
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import Conflict, InvalidInput, NotFound
from loa.fleet import commands
from loa.fleet import service as fleet_service
from loa.fleet.models import Device, DeviceCommand
from loa.fleet.playable import get_playable
from loa.protocol import itemids
from loa.protocol.priority import Priority
from loa.settings import Settings
from loa.speech.store import AudioStore, LocalAudioStore
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

ALERT_TTL = timedelta(minutes=30)
# ``EmergencyAlert.status``
DRAFT = "draft"  # made by a system (e.g. CAP); a person reviews and sends it
PENDING_CONFIRMATION = "pending_confirmation"  # waits for a second person
ACTIVE = "active"
STOPPED = "stopped"
ALERT_CHANGED = "alert"  # ``loa.db.changes`` topic: an alert started, stopped or expired
SYSTEM_NAME = "hệ thống"  # who stops an alert at its expiry


@dataclass(frozen=True)
class AiredAudio:
    """What renders each round's audio (lead-in signal + message): the audio store, and the
    province's choice of signal per risk level (setting ``alert_lead_ins``). Every path that sends an
    alert (the form and API, a CAP draft sent or auto-sent, the CAP feed, an emergency from an upper
    system, a second person's confirmation) must pass one: it is a required argument of
    ``start_alert`` and ``activate_alert``, so that no alert airs without its lead-in."""

    store: AudioStore
    lead_ins: Mapping[int, str] = field(default_factory=dict)


def aired_audio(settings: Settings) -> AiredAudio:
    """The one way an entry point builds ``AiredAudio``: the audio store and ``LOA_ALERT_LEAD_INS``."""
    return AiredAudio(LocalAudioStore(settings.audio_dir), dict(settings.alert_lead_ins))


@dataclass(frozen=True)
class CommuneChoice:
    code: str
    name: str
    devices: int  # active loudspeaker clusters


@dataclass(frozen=True)
class AlertRow:
    alert: EmergencyAlert
    communes: list[str]  # names
    acknowledged: int  # devices that answered "done"
    active: bool


def commune_choices(session: Session, principal: Principal) -> list[CommuneChoice]:
    """Communes in the principal's areas, with how many active loudspeakers each has."""
    query = (
        select(AdminUnit.code, AdminUnit.name, func.count(Device.id))
        .join(Device, (Device.commune_id == AdminUnit.id) & Device.active.is_(True))
        .where(
            AdminUnit.kind.in_(sorted(COMMUNE_KINDS)),
            AdminUnit.valid_to.is_(None),
            in_scope(principal, AdminUnit.path),
        )
        .group_by(AdminUnit.code, AdminUnit.name)
        .order_by(AdminUnit.name)
    )
    return [CommuneChoice(code, name, int(count)) for code, name, count in session.execute(query)]


def _communes(session: Session, principal: Principal, codes: list[str]) -> list[AdminUnit]:
    """The communes an alert goes to: decided by ``targeting.chosen_communes`` for every path (form,
    API, CAP, an upper system's emergency), so all refuse an unknown or out-of-scope commune alike."""
    return targeting.chosen_communes(session, principal, codes)


def _device_uids(session: Session, commune_ids: list[int]) -> list[str]:
    return list(
        session.scalars(
            select(Device.uid)
            .where(Device.commune_id.in_(commune_ids), Device.active.is_(True))
            .order_by(Device.uid)
        )
    )


def check_expiry(expires_at: datetime | None) -> None:
    """An alert's expiry: absent, or a moment in the future with its time zone (a naive one could be
    any zone, and cannot be compared with the clock)."""
    if expires_at is None:
        return
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise InvalidInput(
            "Thời điểm hết hiệu lực phải kèm múi giờ (ví dụ 2026-11-05T18:00:00+07:00).",
            code="alert_expiry_naive",
        )
    if expires_at <= utcnow():
        raise InvalidInput("Thời điểm hết hiệu lực phải ở tương lai.", code="alert_expiry_past")


def start_alert(
    session: Session,
    *,
    principal: Principal,
    commune_codes: list[str],
    audio_sha256: str,
    repeat_gap_s: int = commands.DEFAULT_REPEAT_GAP_S,
    hazard: str | None = None,
    risk_level: int | None = None,
    expires_at: datetime | None = None,
    message_text: str | None = None,
    target: dict[str, Any] | None = None,
    device_uids: list[str] | None = None,
    status: str = ACTIVE,
    source: str = "manual",
    source_ref: str | None = None,
    ip: str = "",
    aired: AiredAudio,
    title: str | None = None,
) -> EmergencyAlert:
    """Make an alert for the communes (all in the principal's areas) and, when ``status`` is active,
    send it at once to their active loudspeakers — or to ``device_uids`` (a subset of those: villages,
    groups, a polygon) when the caller narrowed the choice; ``target`` records how it was chosen.
    A ``draft`` (e.g. from CAP) or ``pending_confirmation`` alert (waiting for a second person) is
    stored and sent later by ``activate_alert``. ``title`` (a clean line) names it on the pages and
    in the loudspeakers' command instead of the audio's own title."""
    require(principal, Permission.BROADCAST)
    if status not in (ACTIVE, DRAFT, PENDING_CONFIRMATION):
        raise InvalidInput("Trạng thái cảnh báo không hợp lệ.", code="alert_status_invalid")
    commands.check_repeat_gap(repeat_gap_s)
    hazard, risk_level = levels.check(hazard, risk_level)
    check_expiry(expires_at)
    audio = get_playable(session, principal, audio_sha256.strip())
    units = _communes(session, principal, commune_codes)
    uids = _chosen_devices(session, units, device_uids)
    if not uids:
        raise InvalidInput("Các xã đã chọn chưa có cụm loa nào đang hoạt động.", code="no_devices")
    chosen = dict(target or {})
    if device_uids is not None:
        chosen["device_uids"] = uids
    alert = EmergencyAlert(
        title=(title or audio.title)[:200],
        audio_sha256=audio.sha256,
        commune_codes=json.dumps([u.code for u in units]),
        repeat_gap_s=repeat_gap_s,
        device_count=len(uids),
        batch_ids="[]",
        started_by=principal.username,
        started_at=utcnow(),
        hazard=hazard,
        risk_level=risk_level,
        status=status,
        message_text=message_text,
        target=json.dumps(chosen, ensure_ascii=False, sort_keys=True) if chosen else None,
        expires_at=expires_at,
        source=source,
        source_ref=source_ref,
    )
    session.add(alert)
    session.flush()
    details: dict[str, object] = {
        "audio_sha256": audio.sha256,
        "title": audio.title,
        "repeat_gap_s": repeat_gap_s,
        "hazard": hazard,
        "risk_level": risk_level,
        "status": status,
        "source": source,
    }
    if status == ACTIVE:
        _dispatch(session, principal, alert, uids, ip, aired)
        _audit(session, principal, "alert.start", alert, units, details, ip)
    else:
        _audit(session, principal, "alert.draft", alert, units, details, ip)
    return alert


def activate_alert(
    session: Session, *, principal: Principal, alert_id: int, aired: AiredAudio, ip: str = ""
) -> EmergencyAlert:
    """Send a draft or pending alert now, to the devices it was made for (those still active)."""
    require(principal, Permission.BROADCAST)
    alert = _visible_alert(session, principal, alert_id, lock=True)
    if alert.status not in (DRAFT, PENDING_CONFIRMATION):
        raise Conflict("Cảnh báo này không còn chờ phát.", code="alert_not_pending")
    units = _communes(session, principal, json.loads(alert.commune_codes))
    chosen = json.loads(alert.target) if alert.target else {}
    uids = _chosen_devices(session, units, chosen.get("device_uids"))
    if not uids:
        raise InvalidInput("Các xã đã chọn chưa có cụm loa nào đang hoạt động.", code="no_devices")
    if alert.expires_at is not None and alert.expires_at <= utcnow():
        raise Conflict("Cảnh báo này đã hết hiệu lực.", code="alert_expired")
    alert.status, alert.started_at, alert.device_count = ACTIVE, utcnow(), len(uids)
    _dispatch(session, principal, alert, uids, ip, aired)
    _audit(
        session, principal, "alert.start", alert, units, {"devices": len(uids), "source": alert.source}, ip
    )
    return alert


def _chosen_devices(session: Session, units: list[AdminUnit], device_uids: list[str] | None) -> list[str]:
    """The communes' active loudspeakers, or the chosen ones among them (any other is refused)."""
    reachable = _device_uids(session, [u.id for u in units])
    if device_uids is None:
        return reachable
    outside = sorted(set(device_uids) - set(reachable))
    if outside:
        raise InvalidInput(
            "Có cụm loa không thuộc các xã đã chọn hoặc không hoạt động.", code="device_outside_target"
        )
    return sorted(set(device_uids))


def _dispatch(
    session: Session,
    principal: Principal,
    alert: EmergencyAlert,
    uids: list[str],
    ip: str,
    aired: AiredAudio,
) -> None:
    """Carry the alert to the loudspeakers: a group "play now" at the emergency rung, repeated, named
    with the alert's item id; and (through ``ALERT_CHANGED``) their manifests, which carry its rounds.
    The one place an alert goes on air: its audio is always "lead-in of its level + message"."""
    if alert.aired_sha256 is None:
        alert.aired_sha256 = _render_aired(session, principal, alert, aired)
    rows = commands.send_commands(
        session,
        principal=principal,
        device_uids=uids,
        kind="play_now",
        args={
            "audio_sha256": alert.aired_sha256 or alert.audio_sha256,
            "priority": int(Priority.EMERGENCY),
            "title": alert.title,
            "repeat_gap_s": alert.repeat_gap_s,
            "item_id": itemids.alert_item(alert.id),
        },
        ttl=ALERT_TTL,
        ip=ip,
    )
    alert.batch_ids = json.dumps(sorted({r.batch_id or r.id for r in rows}))
    mark_changed(session, ALERT_CHANGED, alert.id)


def _render_aired(
    session: Session, principal: Principal, alert: EmergencyAlert, aired: AiredAudio
) -> str | None:
    """The sha of "lead-in + message", or None (the message alone) when there is no signal for the
    level or it could not be made: the alert never waits for, or fails on, its lead-in."""
    # Imported here: the audio stack (PyAV, NumPy) is loaded only by a process that sends alerts.
    from loa.alerts import leadin

    signal = leadin.signal_for(alert.risk_level, aired.lead_ins)
    if signal != "none" and not leadin.message_present(session, aired.store, alert.audio_sha256):
        # On PostgreSQL a savepoint rolled back stays open until the commit; none is opened for this.
        log.error("alert %s: the message's audio file is missing, it plays without its lead-in", alert.id)
        return None
    try:
        with session.begin_nested():
            asset = leadin.render_aired(
                session,
                store=aired.store,
                message_sha256=alert.audio_sha256,
                signal=signal,
                created_by_id=principal.user_id or None,
            )
    except Exception:  # a missing or undecodable file: the message is sent without its lead-in
        log.exception("alert %s: lead-in not rendered, the message plays alone", alert.id)
        return None
    return asset.sha256 if asset is not None else None


def alert_devices(session: Session, alert: EmergencyAlert) -> list[str]:
    """The loudspeakers an alert is for now: those chosen by name (still active), else every active
    one of its communes (one enrolled since included)."""
    chosen = json.loads(alert.target) if alert.target else {}
    units = list(_current_units(session, json.loads(alert.commune_codes)).values())
    reachable = _device_uids(session, [u.id for u in units])
    uids = chosen.get("device_uids")
    if uids is None:
        return reachable
    return sorted(set(uids) & set(reachable))


def _visible_alert(
    session: Session, principal: Principal, alert_id: int, *, lock: bool = False
) -> EmergencyAlert:
    # ``lock``: the row is held until the commit, so that of two sends or stops at once the second
    # sees the first's result (PostgreSQL row lock; SQLite serialises writers).
    alert = session.get(EmergencyAlert, alert_id, with_for_update=lock, populate_existing=lock)
    # An alert that reaches none of the principal's areas is answered like a missing one.
    if alert is None or not _reaches(
        principal, alert, _current_units(session, json.loads(alert.commune_codes))
    ):
        raise NotFound("Không tìm thấy cảnh báo này.", code="alert_not_found")
    return alert


def visible_alert(session: Session, principal: Principal, alert_id: int) -> EmergencyAlert:
    """The alert when it reached the principal's areas (``NotFound`` otherwise), for its pages."""
    return _visible_alert(session, principal, alert_id)


def stop_alert(session: Session, *, principal: Principal, alert_id: int, ip: str = "") -> EmergencyAlert:
    """Stop the alert on its loudspeakers: a ``stop`` command (it ends every repetition; the answers
    confirm it per device) and their manifests recompiled without it (``ALERT_CHANGED``)."""
    require(principal, Permission.BROADCAST)
    alert = _visible_alert(session, principal, alert_id, lock=True)
    units = _communes(session, principal, json.loads(alert.commune_codes))
    if alert.stopped_at is not None:
        raise Conflict("Cảnh báo này đã được dừng.", code="alert_stopped")
    # A draft or pending alert never reached a loudspeaker: it is only withdrawn.
    uids = alert_devices(session, alert) if alert.status == ACTIVE else []
    if uids:
        rows = commands.send_commands(
            session, principal=principal, device_uids=uids, kind="stop", args={}, ip=ip
        )
        alert.stop_batch_ids = json.dumps(sorted({r.batch_id or r.id for r in rows}))
    was_active = alert.status == ACTIVE
    alert.stopped_at, alert.stopped_by, alert.status = utcnow(), principal.username, STOPPED
    if was_active:
        mark_changed(session, ALERT_CHANGED, alert.id)
    _audit(session, principal, "alert.stop", alert, units, {"devices": len(uids)}, ip)
    return alert


def expire_alerts(session: Session, *, now: datetime | None = None) -> list[EmergencyAlert]:
    """End every active alert whose expiry has passed, without a person: the same stop as an
    operator's (command and manifest), by the system, audited. Run periodically by the entry point."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(EmergencyAlert)
            .where(
                EmergencyAlert.status == ACTIVE,
                EmergencyAlert.stopped_at.is_(None),
                EmergencyAlert.expires_at.is_not(None),
                EmergencyAlert.expires_at <= now,
            )
            .order_by(EmergencyAlert.id)
            .with_for_update(skip_locked=True)
        )
    )
    for alert in due:
        uids = alert_devices(session, alert)
        if uids:
            devices = list(session.scalars(select(Device).where(Device.uid.in_(uids))))
            rows = fleet_service.issue_command(
                session, devices=devices, kind="stop", args={}, issued_by=SYSTEM_NAME
            )
            alert.stop_batch_ids = json.dumps(sorted({r.batch_id or r.id for r in rows}))
        alert.stopped_at, alert.stopped_by, alert.status = now, SYSTEM_NAME, STOPPED
        mark_changed(session, ALERT_CHANGED, alert.id)
        for unit in _current_units(session, json.loads(alert.commune_codes)).values():
            audit.record(
                session,
                action="alert.expire",
                actor=None,
                actor_name=SYSTEM_NAME,
                target_type="alert",
                target_id=str(alert.id),
                area_id=unit.id,
                details={
                    "devices": len(uids),
                    "expires_at": alert.expires_at.isoformat() if alert.expires_at else None,
                },
            )
    return due


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    alert: EmergencyAlert,
    units: list[AdminUnit],
    details: dict[str, object],
    ip: str,
) -> None:
    """One audit event per commune, so each commune's log shows the alerts that reached it."""
    for unit in units:
        audit.record(
            session,
            action=action,
            actor=principal,
            target_type="alert",
            target_id=str(alert.id),
            area_id=unit.id,
            details=details,
            ip=ip,
        )


def _current_units(session: Session, codes: list[str]) -> dict[str, AdminUnit]:
    current = select(AdminUnit).where(AdminUnit.code.in_(codes), AdminUnit.valid_to.is_(None))
    return {u.code: u for u in session.scalars(current)}


def _reaches(principal: Principal, alert: EmergencyAlert, units: dict[str, AdminUnit]) -> bool:
    """The alert went to at least one commune in the principal's scope (so they may see it)."""
    return any(
        c in units and principal.can_access_path(units[c].path) for c in json.loads(alert.commune_codes)
    )


def list_alerts(session: Session, principal: Principal, *, limit: int = 50) -> list[AlertRow]:
    """Recent alerts that reached the principal's areas, newest first, with how many loudspeakers
    acknowledged playing (one count over the alerts' batches)."""
    recent = list(session.scalars(select(EmergencyAlert).order_by(EmergencyAlert.id.desc()).limit(500)))
    units = _current_units(session, sorted({c for a in recent for c in json.loads(a.commune_codes)}))
    alerts = [a for a in recent if _reaches(principal, a, units)][:limit]
    # ``batch_ids``: the group commands' batches, or the command itself when one device was addressed.
    sent_as = {b: a.id for a in alerts for b in json.loads(a.batch_ids)}
    acknowledged: dict[int, int] = {}
    if sent_as:
        ids = sorted(sent_as)
        carrier = func.coalesce(DeviceCommand.batch_id, DeviceCommand.id)
        counted = session.execute(
            select(carrier, func.count())
            .where(
                or_(DeviceCommand.batch_id.in_(ids), DeviceCommand.id.in_(ids)),
                DeviceCommand.result == "done",
            )
            .group_by(carrier)
        )
        for carrier_id, count in counted:
            alert_id = sent_as[carrier_id]
            acknowledged[alert_id] = acknowledged.get(alert_id, 0) + int(count)
    return [
        AlertRow(
            alert,
            [units[c].name for c in json.loads(alert.commune_codes) if c in units],
            acknowledged.get(alert.id, 0),
            alert.status == ACTIVE and alert.stopped_at is None,
        )
        for alert in alerts
    ]


def active_alerts(session: Session, principal: Principal) -> list[AlertRow]:
    """The alerts sounding now in the principal's areas (for the dashboard and the fleet page)."""
    return [r for r in list_alerts(session, principal) if r.active]

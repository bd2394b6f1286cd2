"""CAP 1.2 messages in: from bytes (the API, the feed poller) to a draft alert, or to the update or
stop of the alert an earlier message made (docs/protocol.md "CAP").

* ``Alert``: a new alert with TTS audio of the warning text, ``source`` "cap" and ``source_ref`` the
  CAP identifier. A draft that a person sends (``activate_alert``) — unless the province's rule says
  otherwise: from a listed sender, at or above a level, it is sent at once (``CapPolicy``).
* ``Update``: the same for the new text; the alerts the message references that were still drafts are
  withdrawn (an active one keeps sounding until the new one is sent and someone stops it — never a gap).
* ``Cancel``: every alert the message references is stopped (a draft is withdrawn).
* A message seen before (same sender and identifier) changes nothing; ``Test``/``Exercise``/``System``/
  ``Draft`` messages and ``Ack``/``Error`` are read, answered, and make no alert.

Refusals (hostile or malformed input, ``loa.alerts.cap.parse``) are counted per reason in the fleet
counters (``cap.refused.<reason>``, on /fleet/counters and /metrics) by ``count_refusal``, which the
boundary calls in its own transaction after rolling back."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require
from loa.alerts import service as alerts
from loa.alerts.cap import mapping
from loa.alerts.cap.parse import CapInfo, CapMessage, parse
from loa.alerts.models import EmergencyAlert
from loa.areas.logic import COMMUNE_KINDS
from loa.db.base import utcnow
from loa.errors import InvalidInput
from loa.fleet import counters
from loa.fleet.models import Device
from loa.settings import Settings
from loa.speech.service import SpeechContext, synthesize
from loa.units.models import AdminUnit

log = logging.getLogger(__name__)

SOURCE = "cap"
REFUSED = "cap.refused."


@dataclass(frozen=True)
class CapPolicy:
    """What the province decided about CAP (from the settings, built by the entry point)."""

    max_bytes: int = 512 * 1024
    trusted_cert_pem: bytes | None = None
    require_signature: bool = False
    auto_send_min_level: int | None = None
    auto_send_senders: frozenset[str] = frozenset()
    sender: str = "loa@localhost"

    @classmethod
    def from_settings(cls, settings: Settings) -> CapPolicy:
        cert = settings.cap_trusted_cert_path
        return cls(
            max_bytes=settings.cap_max_bytes,
            trusted_cert_pem=Path(cert).read_bytes() if cert is not None else None,
            require_signature=settings.cap_require_signature,
            auto_send_min_level=settings.cap_auto_send_min_level,
            auto_send_senders=frozenset(
                s.strip() for s in settings.cap_auto_send_senders.split(",") if s.strip()
            ),
            sender=settings.cap_sender,
        )

    def auto_sends(self, message: CapMessage, level: int) -> bool:
        if self.auto_send_min_level is None or level < self.auto_send_min_level:
            return False
        trusted = message.sender in self.auto_send_senders
        # With a certificate configured, only a verified signature proves who the sender is.
        return trusted and (self.trusted_cert_pem is None or message.signed)


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # draft | active | updated | stopped | duplicate | ignored
    message: str  # Vietnamese, for the sender's operator
    alert_ids: tuple[int, ...] = ()


def count_refusal(session: Session, reason: str) -> None:
    counters.add_counts(session, {REFUSED + reason: 1}, now=utcnow())


def ingest(
    session: Session,
    *,
    principal: Principal,
    data: bytes,
    policy: CapPolicy,
    speech: SpeechContext,
    aired: alerts.AiredAudio,
    ip: str = "",
) -> IngestResult:
    """One CAP message (bytes already bounded by the caller) acted on with ``principal``'s rights;
    ``aired`` renders the lead-in of an alert the province's rule sends at once."""
    require(principal, Permission.BROADCAST)
    message = parse(
        data, trusted_cert_pem=policy.trusted_cert_pem, require_signature=policy.require_signature
    )
    if message.status != "Actual" or message.msg_type in ("Ack", "Error"):
        return IngestResult("ignored", "Đã nhận bản tin CAP (thử nghiệm hoặc hệ thống); không tạo cảnh báo.")
    existing = _alerts_of(session, [message.identifier])
    if existing:
        return IngestResult(
            "duplicate", "Bản tin CAP này đã được nhận trước đó.", tuple(a.id for a in existing)
        )
    referenced = _alerts_of(session, [identifier for _, identifier, _ in message.references])
    if message.msg_type == "Cancel":
        stopped = []
        for alert in referenced:
            if alert.stopped_at is None:
                alerts.stop_alert(session, principal=principal, alert_id=alert.id, ip=ip)
                stopped.append(alert.id)
        if not referenced:
            raise InvalidInput(
                "Bản tin hủy không khớp với cảnh báo nào đã nhận từ CAP.", code="cap_cancel_unknown"
            )
        return IngestResult("stopped", "Đã dừng các cảnh báo mà bản tin CAP hủy bỏ.", tuple(stopped))
    info = mapping.pick_info(message)
    if info is None:
        raise InvalidInput("Bản tin CAP không có phần nội dung (info).", code="cap_no_info")
    alert = _new_alert(
        session,
        principal=principal,
        message=message,
        info=info,
        policy=policy,
        speech=speech,
        aired=aired,
        ip=ip,
    )
    if message.msg_type == "Update":
        for old in referenced:
            if old.status in (alerts.DRAFT, alerts.PENDING_CONFIRMATION) and old.stopped_at is None:
                alerts.stop_alert(session, principal=principal, alert_id=old.id, ip=ip)
        return IngestResult("updated", "Đã nhận bản tin cập nhật; cảnh báo mới chờ xác nhận.", (alert.id,))
    if alert.status == alerts.ACTIVE:
        return IngestResult("active", "Đã phát cảnh báo theo quy tắc tự động của tỉnh.", (alert.id,))
    return IngestResult("draft", "Đã tạo bản nháp cảnh báo; cần người xác nhận trước khi phát.", (alert.id,))


def _new_alert(
    session: Session,
    *,
    principal: Principal,
    message: CapMessage,
    info: CapInfo,
    policy: CapPolicy,
    speech: SpeechContext,
    aired: alerts.AiredAudio,
    ip: str,
) -> EmergencyAlert:
    hazard = mapping.hazard_of(info)
    level = mapping.level_of(info, hazard)
    if info.expires_at is not None and info.expires_at <= utcnow():
        raise InvalidInput("Bản tin CAP đã hết hiệu lực.", code="cap_expired")
    communes, device_uids, polygon = _targets(session, principal, info)
    text = mapping.warning_text(info)
    if not text:
        raise InvalidInput("Bản tin CAP không có nội dung để đọc.", code="cap_no_text")
    audio = synthesize(session, context=speech, text=text, created_by_id=principal.user_id)
    target: dict[str, object] = {"cap_sender": message.sender}
    if polygon:
        target["polygon"] = polygon
    alert = alerts.start_alert(
        session,
        principal=principal,
        commune_codes=communes,
        audio_sha256=audio.sha256,
        hazard=hazard,
        risk_level=level,
        expires_at=info.expires_at,
        message_text=text,
        target=target,
        device_uids=device_uids,
        status=alerts.DRAFT,
        source=SOURCE,
        source_ref=message.identifier[:300],
        ip=ip,
        aired=aired,
    )
    if info.headline:
        alert.title = info.headline[:200]  # what the loudspeakers and the pages name it
    if policy.auto_sends(message, level):
        alerts.activate_alert(session, principal=principal, alert_id=alert.id, ip=ip, aired=aired)
    return alert


def _alerts_of(session: Session, identifiers: list[str]) -> list[EmergencyAlert]:
    wanted = [i[:300] for i in identifiers if i]
    if not wanted:
        return []
    return list(
        session.scalars(
            select(EmergencyAlert)
            .where(EmergencyAlert.source == SOURCE, EmergencyAlert.source_ref.in_(wanted))
            .order_by(EmergencyAlert.id)
        )
    )


def _targets(
    session: Session, principal: Principal, info: CapInfo
) -> tuple[list[str], list[str] | None, list[list[float]] | None]:
    """Communes (codes), the chosen loudspeakers (None: all of the communes) and the first polygon,
    from the areas' geocodes (administrative unit codes: a commune, or every commune under a larger
    unit) and their polygons and circles (the loudspeakers lying inside, with their communes)."""
    whole: set[str] = set()
    values = mapping.geocode_values(info.areas)
    if values:
        units = list(
            session.scalars(select(AdminUnit).where(AdminUnit.code.in_(values), AdminUnit.valid_to.is_(None)))
        )
        for unit in units:
            if unit.kind in COMMUNE_KINDS:
                whole.add(unit.code)
            else:
                below = select(AdminUnit.code).where(
                    AdminUnit.path.startswith(unit.path, autoescape=True),
                    AdminUnit.kind.in_(sorted(COMMUNE_KINDS)),
                    AdminUnit.valid_to.is_(None),
                    in_scope(principal, AdminUnit.path),
                )
                whole.update(session.scalars(below))
    shaped = any(a.polygons or a.circles for a in info.areas)
    inside: list[mapping.Point] = []
    if shaped:
        rows = session.execute(
            select(Device.uid, AdminUnit.code, Device.latitude, Device.longitude)
            .join(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(
                Device.active.is_(True),
                Device.latitude.is_not(None),
                Device.longitude.is_not(None),
                in_scope(principal, AdminUnit.path),
            )
        )
        points = [
            mapping.Point(uid, code, float(lat), float(lon))
            for uid, code, lat, lon in rows
            if lat is not None and lon is not None
        ]
        inside = mapping.points_in_areas(info.areas, points)
    communes = sorted(whole | {p.commune_code for p in inside})
    if not communes:
        raise InvalidInput(
            "Vùng cảnh báo của bản tin CAP không trùng với xã nào có cụm loa trong địa bàn.",
            code="cap_area_unmatched",
        )
    device_uids: list[str] | None = None
    if inside and not whole:
        device_uids = sorted({p.uid for p in inside})
    elif inside:
        in_whole = session.scalars(
            select(Device.uid)
            .join(AdminUnit, AdminUnit.id == Device.commune_id)
            .where(AdminUnit.code.in_(sorted(whole)), Device.active.is_(True))
        )
        device_uids = sorted({p.uid for p in inside} | set(in_whole))
    polygon = next(([[lat, lon] for lat, lon in ring] for a in info.areas for ring in a.polygons), None)
    return communes, device_uids, polygon


def alert_communes(alert: EmergencyAlert) -> list[str]:
    codes: list[str] = json.loads(alert.commune_codes)
    return codes

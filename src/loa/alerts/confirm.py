"""Confirmation before a warning sounds (issue 15, point 5).

Two rules, both kept by the server, not by the page's script:

- **Every alert, and every "play now" to more than one loudspeaker, is confirmed by the sender.** The
  form's first post only shows what will sound, where and on how many loudspeakers, with a confirmation
  token: an HMAC of the person, the purpose and exactly what was shown (``loa.web.confirmation``). Only the
  second post, carrying a token that matches the same content and is at most ``TOKEN_TTL_S`` old, sends.
  A changed field, another person, or an old page sends nothing and shows the confirmation again.
- **From a risk level the province chooses, a second person confirms.** ``AlertPolicy`` holds "cấp độ từ
  N cần người thứ hai xác nhận" per province; such an alert is stored ``pending_confirmation`` and sent by
  ``confirm_pending`` when a leader (a person who approves content, or an administrator) of every commune
  it reaches confirms it — never the person who made it. It then sounds under its sender's authority
  (their broadcast permission and areas, checked again), and the leader's confirmation is audited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.models import User
from loa.accounts.principal import Permission, Principal
from loa.accounts.service import principal_for
from loa.alerts import levels
from loa.alerts import service as alerts
from loa.alerts.models import AlertPolicy, EmergencyAlert
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.units.models import AdminUnit, UnitKind
from loa.web.confirmation import TOKEN_TTL_S, check, sign

__all__ = ["TOKEN_TTL_S", "check", "sign"]  # the token itself: ``loa.web.confirmation``
USED_PREFIX = "confirmation:"  # ``EmergencyAlert.source_ref`` of an alert sent with a token
TOKEN_USED = (
    "Trang xác nhận này đã được dùng để phát cảnh báo: cảnh báo không được phát thêm lần nữa. "
    "Muốn phát lại, hãy xem lại và xác nhận lần nữa."
)
PROVINCE_KINDS = (UnitKind.PROVINCE, UnitKind.CITY)
# Announced (``loa.db.changes``) with an alert's id when it waits for a second person (Web Push to leaders).
AWAITING_SECOND_PERSON = "alert_awaiting_second_person"
CONFIRM_PERMISSION = Permission.APPROVE_CONTENT  # the leader who approves bulletins confirms alerts too


# --- the sender's token: one alert, once ------------------------------------------------------------


def spend(session: Session, principal: Principal, token: str) -> str:
    """Take a checked confirmation token for one alert: the reference its alert keeps
    (``EmergencyAlert.source_ref``), or ``Conflict`` when an alert was already sent with it (the same
    page posted twice: a double click, a resubmission, a replay within its minutes). The person's row is
    locked first, so two posts of one token at once are taken one after the other."""
    session.execute(select(User.id).where(User.id == principal.user_id).with_for_update())
    ref = USED_PREFIX + hashlib.sha256(token.encode()).hexdigest()
    used = session.scalar(
        select(EmergencyAlert.id).where(EmergencyAlert.source == "manual", EmergencyAlert.source_ref == ref)
    )
    if used is not None:
        raise Conflict(TOKEN_USED, code="confirmation_used")
    return ref


# --- the province's rule: from which level a second person confirms ----------------------------------


@dataclass(frozen=True)
class PolicyRow:
    province_code: str
    province_name: str
    second_person_from_level: int | None
    updated_by: str


def _province_codes(units: Sequence[AdminUnit]) -> list[str]:
    return sorted({u.path.strip("/").split("/")[0] for u in units if u.path.strip("/")})


def second_person_from(session: Session, units: Sequence[AdminUnit]) -> int | None:
    """The strictest level from which the provinces of ``units`` want a second person (None: never)."""
    codes = _province_codes(units)
    if not codes:
        return None
    levels_set = session.scalars(
        select(AlertPolicy.second_person_from_level)
        .join(AdminUnit, AdminUnit.id == AlertPolicy.province_id)
        .where(AdminUnit.code.in_(codes), AlertPolicy.second_person_from_level.is_not(None))
    )
    found = [int(level) for level in levels_set if level is not None]
    return min(found) if found else None


def needs_second_person(session: Session, units: Sequence[AdminUnit], risk_level: int | None) -> bool:
    """An alert without a level counts as the highest: a rule cannot be skipped by leaving it out."""
    threshold = second_person_from(session, units)
    return threshold is not None and (risk_level or max(levels.RISK_LEVELS)) >= threshold


def policies(session: Session, principal: Principal) -> list[PolicyRow]:
    """The provinces of the person's areas (or of their communes' paths) with their rule."""
    query = (
        select(AdminUnit, AlertPolicy)
        .outerjoin(AlertPolicy, AlertPolicy.province_id == AdminUnit.id)
        .where(AdminUnit.kind.in_(PROVINCE_KINDS), AdminUnit.valid_to.is_(None))
        .order_by(AdminUnit.name)
    )
    rows = []
    for unit, policy in session.execute(query):
        if not (principal.can_access_path(unit.path) or principal.can_see_ancestor_path(unit.path)):
            continue
        rows.append(
            PolicyRow(
                unit.code,
                unit.name,
                policy.second_person_from_level if policy else None,
                policy.updated_by if policy else "",
            )
        )
    return rows


def can_set_policy(principal: Principal) -> bool:
    return principal.has(Permission.MANAGE_AREAS)


def set_policy(
    session: Session, *, principal: Principal, province_code: str, from_level: int | None, ip: str = ""
) -> AlertPolicy:
    """Set a province's rule (an administrator): from ``from_level`` up, a second person confirms."""
    if not can_set_policy(principal):
        raise PermissionDenied("Chỉ quản trị hệ thống được đặt quy định xác nhận cảnh báo.", code="forbidden")
    if from_level is not None and from_level not in levels.RISK_LEVELS:
        raise InvalidInput("Cấp độ rủi ro phải từ 1 đến 5.", code="risk_level_invalid")
    province = session.scalar(
        select(AdminUnit).where(AdminUnit.code == province_code.strip(), AdminUnit.kind.in_(PROVINCE_KINDS))
    )
    if province is None or not principal.can_access_path(province.path):
        raise NotFound("Không tìm thấy tỉnh này.", code="province_not_found")
    policy = session.scalar(select(AlertPolicy).where(AlertPolicy.province_id == province.id))
    before = policy.second_person_from_level if policy else None
    if policy is None:
        policy = AlertPolicy(province_id=province.id)
        session.add(policy)
    policy.second_person_from_level = from_level
    policy.updated_by, policy.updated_at = principal.username, utcnow()
    session.flush()
    audit.record(
        session,
        action="alert.policy",
        actor=principal,
        target_type="area",
        target_id=province.code,
        area_id=province.id,
        details={"second_person_from_level": from_level, "before": before},
        ip=ip,
    )
    return policy


# --- the second person ---------------------------------------------------------------------------------


def communes_of(session: Session, codes: Sequence[str]) -> list[AdminUnit]:
    return list(
        session.scalars(
            select(AdminUnit).where(AdminUnit.code.in_(list(codes)), AdminUnit.valid_to.is_(None))
        )
    )


def alert_units(session: Session, alert: EmergencyAlert) -> list[AdminUnit]:
    return communes_of(session, json.loads(alert.commune_codes))


def can_confirm(principal: Principal, alert: EmergencyAlert, units: Sequence[AdminUnit]) -> bool:
    """A leader of every commune the alert reaches, and not its sender."""
    return (
        principal.has(CONFIRM_PERMISSION)
        and principal.username != alert.started_by
        and bool(units)
        and all(principal.can_access_path(u.path) for u in units)
    )


def pending_for(session: Session, principal: Principal) -> list[EmergencyAlert]:
    """Alerts waiting for a second person that ``principal`` may confirm (a leader of all their communes)."""
    if not principal.has(CONFIRM_PERMISSION):
        return []
    waiting = session.scalars(
        select(EmergencyAlert)
        .where(EmergencyAlert.status == alerts.PENDING_CONFIRMATION, EmergencyAlert.stopped_at.is_(None))
        .order_by(EmergencyAlert.id)
    )
    return [alert for alert in waiting if can_confirm(principal, alert, alert_units(session, alert))]


def confirm_pending(
    session: Session,
    *,
    principal: Principal,
    alert_id: int,
    aired: alerts.AiredAudio,
    ip: str = "",
) -> EmergencyAlert:
    """The second person confirms: the alert sounds at once, sent as its sender would have sent it.
    The alert's row is locked: of two confirmations at once, the second finds it no longer pending."""
    alert = session.get(EmergencyAlert, alert_id, with_for_update=True, populate_existing=True)
    units = alert_units(session, alert) if alert is not None else []
    if alert is None or not any(principal.can_access_path(u.path) for u in units):
        raise NotFound("Không tìm thấy cảnh báo này.", code="alert_not_found")
    if not principal.has(CONFIRM_PERMISSION):
        raise PermissionDenied(
            "Chỉ lãnh đạo (người duyệt tin) mới được xác nhận cảnh báo thay người thứ hai.",
            code="confirm_role_required",
        )
    if not all(principal.can_access_path(u.path) for u in units):
        raise PermissionDenied(
            "Cảnh báo này tới cả xã ngoài địa bàn của bạn: lãnh đạo cấp trên phải xác nhận.",
            code="confirm_out_of_scope",
        )
    if alert.status != alerts.PENDING_CONFIRMATION or alert.stopped_at is not None:
        raise Conflict("Cảnh báo này không còn chờ xác nhận.", code="alert_not_pending")
    if alert.started_by == principal.username:
        raise PermissionDenied(
            "Người xác nhận thứ hai phải là một người khác người đã soạn cảnh báo.",
            code="confirm_same_person",
        )
    sender = session.scalar(select(User).where(User.username == alert.started_by))
    if sender is None or not sender.active:
        raise Conflict(
            "Người soạn cảnh báo không còn hoạt động: hãy soạn lại cảnh báo.", code="alert_sender_inactive"
        )
    sent = alerts.activate_alert(
        session, principal=principal_for(session, sender), alert_id=alert.id, ip=ip, aired=aired
    )
    sent.confirmed_by, sent.confirmed_at = principal.username, utcnow()
    for unit in units:
        audit.record(
            session,
            action="alert.confirm",
            actor=principal,
            target_type="alert",
            target_id=str(sent.id),
            area_id=unit.id,
            details={"sender": sent.started_by, "risk_level": sent.risk_level, "devices": sent.device_count},
            ip=ip,
        )
    return sent


def send_draft(
    session: Session,
    *,
    principal: Principal,
    alert_id: int,
    aired: alerts.AiredAudio,
    ip: str = "",
) -> EmergencyAlert:
    """A person sends a draft made by a system (e.g. from CAP): at once, or — when the province's rule
    asks for a second person at its level — it waits for a leader, with this person as its sender.
    A draft is never a way around the two-person rule."""
    alert = alerts.visible_alert(session, principal, alert_id)
    units = alert_units(session, alert)
    if alert.status != alerts.DRAFT or not needs_second_person(session, units, alert.risk_level):
        return alerts.activate_alert(session, principal=principal, alert_id=alert.id, ip=ip, aired=aired)
    if not principal.has(Permission.BROADCAST):
        raise PermissionDenied("Bạn không có quyền phát cảnh báo.", code="broadcast_required")
    outside = [u.name for u in units if not principal.can_access_path(u.path)]
    if outside:
        raise PermissionDenied(
            f"Xã {', '.join(outside)} nằm ngoài địa bàn bạn được giao quản lý.", code="commune_out_of_scope"
        )
    alert.status, alert.started_by = alerts.PENDING_CONFIRMATION, principal.username
    for unit in units:
        audit.record(
            session,
            action="alert.draft",
            actor=principal,
            target_type="alert",
            target_id=str(alert.id),
            area_id=unit.id,
            details={"status": alerts.PENDING_CONFIRMATION, "source": alert.source},
            ip=ip,
        )
    mark_changed(session, AWAITING_SECOND_PERSON, alert.id)
    return alert

"""The inbox of bulletins from higher systems, and Circular 39/2020's three rules (``logic.PRIORITY_RULES``):

* normal: waits here until a commune operator picks a time (an announcement at the scheduled rung);
* priority: on air at once, ahead of the commune's programmes (an announcement as soon as possible at the
  priority rung); if it clashes with the commune's own priority item, the operator orders the two;
* emergency: the emergency path (``loa.alerts``): every loudspeaker of the communes, at once, repeated
  until an operator stops it.

Every change of state queues an acknowledgement to the sender (``loa.exchange.acks``): received,
scheduled, aired with how often it played (counted from play receipts), declined with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require
from loa.alerts import service as alerts
from loa.db.changes import mark_changed
from loa.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from loa.exchange.acks import queue_ack
from loa.exchange.audio import ingest_now
from loa.exchange.codes import target_communes
from loa.exchange.logic import AHEAD_OF_OWN_RUNG, PRIORITY_RULES, Handling
from loa.exchange.models import WAITING_FOR_COMMUNE, InboxItem, InboxState, PeerRelation
from loa.exchange.peers import Caller, require_relation
from loa.exchange.wire import BulletinIn
from loa.schedule import checks, hooks
from loa.schedule.announcements import AnnouncementInput, create_announcement
from loa.schedule.models import Announcement
from loa.schedule.targets import TargetInput
from loa.speech.service import SpeechContext
from loa.units.models import AdminUnit
from loa.vocab.text import clean_line

NOT_FOUND = "Không tìm thấy tin nhận từ cấp trên (hoặc tin không thuộc địa bàn của bạn)."
MAX_REASON = 1000


@dataclass(frozen=True)
class Context:
    """What putting an item on air needs besides the session."""

    data_dir: Path  # the manifest signing key (schedule publishes new manifests)
    now: datetime
    aired: alerts.AiredAudio  # renders an emergency's rounds (lead-in + message), like every alert's


# --- receiving --------------------------------------------------------------------------------------


def _audio(data: BulletinIn) -> bytes:
    try:
        raw = base64.b64decode(data.audio.data_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput("Âm thanh gửi kèm không đúng dạng base64.", code="audio_base64") from err
    if hashlib.sha256(raw).hexdigest() != data.audio.sha256:
        raise InvalidInput(
            "Âm thanh nhận được không khớp mã SHA-256 gửi kèm (bị hỏng trên đường truyền?).",
            code="audio_sha256_mismatch",
        )
    return raw


def _clean_body(text: str) -> str:
    """The bulletin's text with line breaks and tabs kept, other control characters (NUL, ESC…) and
    lone surrogates dropped: PostgreSQL refuses NUL, and the whole push with it."""
    kept = (c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))
    return "".join(kept).strip()


def _common_area(session: Session, communes: Sequence[AdminUnit]) -> int | None:
    """The smallest unit holding every commune (for the audit log and listing)."""
    parts = [c.path.strip("/").split("/") for c in communes]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if not common:
        return None
    return session.scalar(select(AdminUnit.id).where(AdminUnit.path == "/" + "/".join(common) + "/"))


def receive_bulletin(
    session: Session, *, caller: Caller, data: BulletinIn, speech_context: SpeechContext, context: Context
) -> InboxItem:
    """Put a bulletin from a higher system in the inbox and apply its priority's rule. The same
    sender id again returns the item already received (nothing is done twice)."""
    require_relation(caller, PeerRelation.UPPER)
    known = session.scalar(
        select(InboxItem).where(InboxItem.peer_id == caller.peer.id, InboxItem.remote_id == data.id)
    )
    if known is not None:
        return known
    communes = target_communes(session, data.areas)
    outside = [c.name for c in communes if not caller.covers(c.path)]
    if outside:
        raise PermissionDenied(
            f"Địa bàn {', '.join(outside)} nằm ngoài phạm vi của kết nối «{caller.peer.name}».",
            code="exchange_out_of_scope",
        )
    # Cleaned once (control characters out): the title reaches the audio, the alert, the pages and
    # the loudspeakers' command; a NUL would make PostgreSQL refuse the whole emergency.
    title = clean_line(data.title)[:300]
    asset = ingest_now(
        session, context=speech_context, data=_audio(data), filename=f"{data.id}.audio", title=title
    )
    item = InboxItem(
        peer_id=caller.peer.id,
        remote_id=data.id,
        title=title,
        body_text=_clean_body(data.body),
        source_name=clean_line(data.source)[:200] or caller.peer.name,
        priority=data.priority,
        audio_sha256=asset.sha256,
        duration_ms=asset.duration_ms,
        commune_codes=[c.code for c in communes],
        sent_codes=list(data.areas),
        area_id=_common_area(session, communes),
        state=InboxState.RECEIVED,
        received_at=context.now,
        valid_until=data.valid_until,
        decided_by="",
        decline_reason="",
        clash_titles=[],
        plays=0,
        acked="",
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        action="exchange.inbox_receive",
        actor=caller.principal,
        target_type="exchange_inbox",
        target_id=item.id,
        area_id=item.area_id,
        details={"title": item.title, "priority": item.priority.value, "communes": item.commune_codes},
    )
    ON_ARRIVAL[PRIORITY_RULES[item.priority].handling](session, caller.principal, item, context)
    if item.state in (InboxState.RECEIVED, InboxState.NEEDS_ORDER):
        mark_changed(session, WAITING_FOR_COMMUNE, item.id)
    queue_ack(session, item)
    return item


def _at_once(session: Session, principal: Principal, item: InboxItem, context: Context) -> None:
    alert = alerts.start_alert(
        session,
        principal=principal,
        commune_codes=list(item.commune_codes),
        audio_sha256=item.audio_sha256,
        aired=context.aired,
        title=item.title,
    )
    item.alert_id = alert.id
    _scheduled(item, principal, context.now)


def _ahead(session: Session, principal: Principal, item: InboxItem, context: Context) -> None:
    """As soon as possible at the priority rung; a same-rung clash (the commune's own priority item)
    is not resolved here: the operator orders them."""
    try:
        with session.begin_nested():
            _announce(session, principal, item, context, asap=True, rung=PRIORITY_RULES[item.priority].rung)
    except Conflict as err:
        if err.code != "schedule_conflict":
            raise
        item.state = InboxState.NEEDS_ORDER
        item.announcement_id = None
        titles, until = _clash(err, item)
        item.clash_titles, item.clash_until = titles, until


def _waits(session: Session, principal: Principal, item: InboxItem, context: Context) -> None:
    """Normal: nothing until the commune chooses a time."""


ON_ARRIVAL: dict[Handling, Callable[[Session, Principal, InboxItem, Context], None]] = {
    Handling.AT_ONCE: _at_once,
    Handling.AHEAD: _ahead,
    Handling.COMMUNE_CHOOSES: _waits,
}


def _clash(err: Conflict, item: InboxItem) -> tuple[list[str], datetime | None]:
    """The commune's own items the conflict names (not ours), and when the last of them ends."""
    titles: list[str] = []
    ends: list[datetime] = []
    for conflict in err.details.get("conflicts", []) if isinstance(err.details, dict) else []:
        for block in conflict.get("items", []):
            if block.get("title") == item.title and str(block.get("block_id", "")).startswith("a:"):
                continue
            if block.get("title") and block["title"] not in titles:
                titles.append(block["title"])
            if block.get("end_at"):
                ends.append(datetime.fromisoformat(block["end_at"]))
    return titles[:10], max(ends) if ends else None


def _announce(
    session: Session,
    principal: Principal,
    item: InboxItem,
    context: Context,
    *,
    asap: bool,
    rung: int,
    start_at: datetime | None = None,
    accept: checks.Accept | None = None,
) -> Announcement:
    announcement, _ = create_announcement(
        session,
        principal=principal,
        data=AnnouncementInput(
            title=item.title,
            targets=[TargetInput("commune", code) for code in item.commune_codes],
            start_at=start_at,
            asap=asap,
            audio_sha256=item.audio_sha256,
            priority=rung,
        ),
        accept=accept,
        now=context.now,
    )
    hooks.publish(session, data_dir=context.data_dir, reason=f"exchange:{item.id}")
    item.announcement_id = announcement.id
    item.scheduled_for = announcement.start_at
    _scheduled(item, principal, context.now)
    return announcement


def _scheduled(item: InboxItem, principal: Principal, now: datetime) -> None:
    item.state = InboxState.SCHEDULED
    item.decided_by = principal.display_name
    item.decided_at = now
    if item.scheduled_for is None:
        item.scheduled_for = now


# --- what a commune operator decides ----------------------------------------------------------------


def _communes_of(session: Session, item: InboxItem) -> list[AdminUnit]:
    return list(session.scalars(select(AdminUnit).where(AdminUnit.code.in_(list(item.commune_codes)))))


def get_item(session: Session, *, principal: Principal, item_id: int) -> InboxItem:
    item = session.get(InboxItem, item_id)
    if item is None or not any(principal.can_access_path(c.path) for c in _communes_of(session, item)):
        raise NotFound(NOT_FOUND, code="inbox_not_found")
    return item


def _decidable(session: Session, principal: Principal, item_id: int, states: set[InboxState]) -> InboxItem:
    require(principal, Permission.BROADCAST)
    item = get_item(session, principal=principal, item_id=item_id)
    outside = [c.name for c in _communes_of(session, item) if not principal.can_access_path(c.path)]
    if outside:
        raise PermissionDenied(
            f"Tin này gửi cả tới {', '.join(outside)}, ngoài địa bàn của bạn: cán bộ cấp trên quyết định.",
            code="inbox_out_of_scope",
        )
    if item.state not in states:
        raise Conflict("Tin này đã được xử lý.", code="inbox_decided")
    return item


def schedule_item(
    session: Session,
    *,
    principal: Principal,
    item_id: int,
    start_at: datetime,
    keep_overlap: bool,
    context: Context,
) -> InboxItem:
    """A normal bulletin, at the time the commune chose (at the scheduled rung, like its programmes)."""
    item = _decidable(session, principal, item_id, {InboxState.RECEIVED})
    if start_at.tzinfo is None:
        raise InvalidInput("Thời điểm phát phải kèm múi giờ.", code="start_naive")
    _announce(
        session,
        principal,
        item,
        context,
        asap=False,
        rung=PRIORITY_RULES[item.priority].rung,
        start_at=start_at,
        accept=checks.Accept.KEEP if keep_overlap else None,
    )
    _decided(session, principal, item, "exchange.inbox_schedule", {"start_at": start_at.isoformat()})
    return item


def order_item(
    session: Session, *, principal: Principal, item_id: int, ahead: bool, context: Context
) -> InboxItem:
    """A priority bulletin that clashed: ahead of the commune's own (a step above its rung, now), or
    after it (at the priority rung, when the last clashing item ends)."""
    item = _decidable(session, principal, item_id, {InboxState.NEEDS_ORDER})
    if ahead:
        _announce(session, principal, item, context, asap=True, rung=AHEAD_OF_OWN_RUNG)
    else:
        start = item.clash_until if item.clash_until and item.clash_until > context.now else None
        _announce(
            session,
            principal,
            item,
            context,
            asap=start is None,
            start_at=start,
            rung=PRIORITY_RULES[item.priority].rung,
            accept=checks.Accept.KEEP,
        )
    _decided(session, principal, item, "exchange.inbox_order", {"ahead": ahead})
    return item


def decline_item(
    session: Session, *, principal: Principal, item_id: int, reason: str, now: datetime
) -> InboxItem:
    item = _decidable(session, principal, item_id, {InboxState.RECEIVED, InboxState.NEEDS_ORDER})
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInput("Hãy ghi lý do không phát để báo lại cấp trên.", code="decline_reason")
    if len(cleaned) > MAX_REASON:
        raise InvalidInput(f"Lý do quá dài (tối đa {MAX_REASON} ký tự).", code="decline_reason")
    item.state, item.decline_reason = InboxState.DECLINED, cleaned
    item.decided_by, item.decided_at = principal.display_name, now
    _decided(session, principal, item, "exchange.inbox_decline", {"reason": cleaned})
    return item


def _decided(
    session: Session, principal: Principal, item: InboxItem, action: str, details: dict[str, object]
) -> None:
    audit.record(
        session,
        action=action,
        actor=principal,
        target_type="exchange_inbox",
        target_id=item.id,
        area_id=item.area_id,
        details={"title": item.title, **details},
    )
    queue_ack(session, item)


# --- reading ----------------------------------------------------------------------------------------


def list_inbox(session: Session, *, principal: Principal, limit: int = 200) -> list[InboxItem]:
    """Items reaching the principal's areas, those waiting for a decision first, newest first."""
    require(principal, Permission.VIEW)
    rows = list(session.scalars(select(InboxItem).order_by(InboxItem.id.desc()).limit(2000)))
    codes = sorted({c for item in rows for c in item.commune_codes})
    paths = (
        dict(session.execute(select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))).all())
        if codes
        else {}
    )
    visible = [i for i in rows if any(principal.can_access_path(paths.get(c, "")) for c in i.commune_codes)]
    waiting = {InboxState.RECEIVED, InboxState.NEEDS_ORDER}
    visible.sort(key=lambda i: (i.state not in waiting, -i.id))
    return visible[:limit]


def communes_named(session: Session, codes: Sequence[str]) -> list[str]:
    if not codes:
        return []
    names = dict(
        session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(list(codes)))).all()
    )
    return [names.get(c, c) for c in codes]

"""Sending bulletins down to a lower system, and reading back what it answered (its acknowledgements).

A bulletin goes down as it was approved: the approved revision's title, text and Vietnamese reading,
the audio bytes inline (base64, with their SHA-256), the priority it was approved with, and the
official codes of the communes it is for. The lower system decides how it reaches the loudspeakers
(``loa.exchange.inbox``) and answers through its acknowledgements (``loa.exchange.lower``)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path
from loa.content.models import Bulletin, BulletinRevision
from loa.content.service import can_view
from loa.errors import InvalidInput, NotFound, PermissionDenied
from loa.exchange import outbox
from loa.exchange.models import ExchangePeer, PeerRelation, Priority, SentBulletin
from loa.exchange.peers import get_peer, scope_paths
from loa.schedule.contentindex import airable_revision
from loa.speech.models import AudioAsset
from loa.speech.store import AudioStore
from loa.units.models import AdminUnit

SENT_PREFIX = "sent-"


def remote_id(sent: SentBulletin) -> str:
    """The id the lower system knows our bulletin by (and names in its acknowledgements)."""
    return f"{SENT_PREFIX}{sent.id}"


def parse_remote_id(value: str) -> int | None:
    rest = value[len(SENT_PREFIX) :] if value.startswith(SENT_PREFIX) else ""
    return int(rest) if rest.isdigit() else None


def may_send(principal: Principal) -> bool:
    return principal.has(Permission.BROADCAST) or principal.has(Permission.APPROVE_CONTENT)


def require_sender(principal: Principal) -> None:
    if not may_send(principal):
        raise PermissionDenied(
            f"Vai trò «{principal.role_label}» không được gửi bản tin xuống hệ thống cấp dưới.",
            code="send_denied",
        )


def lower_peers(session: Session) -> list[ExchangePeer]:
    return list(
        session.scalars(
            select(ExchangePeer)
            .where(ExchangePeer.relation == PeerRelation.LOWER, ExchangePeer.active.is_(True))
            .order_by(ExchangePeer.name)
        )
    )


def _approved(session: Session, principal: Principal, bulletin_id: int) -> tuple[Bulletin, dict[str, object]]:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or not can_view(principal, area_path(session, bulletin.area_id), bulletin.status):
        raise NotFound("Không tìm thấy bản tin.", code="bulletin_not_found")
    number = airable_revision(bulletin)
    if number is None:
        raise InvalidInput(
            f"Bản tin «{bulletin.title}» chưa được duyệt: chỉ gửi xuống cấp dưới tin đã duyệt.",
            code="bulletin_not_approved",
        )
    revision = session.scalars(
        select(BulletinRevision).where(
            BulletinRevision.bulletin_id == bulletin.id, BulletinRevision.number == number
        )
    ).one()
    return bulletin, revision.snapshot


def _audio(session: Session, store: AudioStore, snapshot: dict[str, object]) -> tuple[str, bytes, str]:
    renditions = snapshot.get("renditions")
    reading = renditions.get("vi") if isinstance(renditions, dict) else None
    sha = reading.get("audio_sha256") if isinstance(reading, dict) else None
    asset = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == sha)) if sha else None
    if asset is None:
        raise InvalidInput(
            "Bản tin đã duyệt chưa có bản đọc tiếng Việt: hãy tạo giọng đọc hoặc tải âm thanh lên trước.",
            code="bulletin_without_audio",
        )
    with store.open(asset.sha256, asset.format) as handle:
        data = handle.read()
    return asset.sha256, data, "audio/ogg" if asset.format == "opus" else f"audio/{asset.format}"


def _communes(
    session: Session, principal: Principal, peer: ExchangePeer, codes: Sequence[str]
) -> list[AdminUnit]:
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise InvalidInput("Hãy chọn địa bàn nhận tin.", code="no_areas")
    units = list(session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted))))
    missing = set(wanted) - {u.code for u in units}
    if missing:
        raise NotFound(f"Không tìm thấy địa bàn mã {', '.join(sorted(missing))}.", code="area_not_found")
    peer_paths = scope_paths(session, peer)
    for unit in units:
        if not principal.can_access_path(unit.path):
            raise PermissionDenied(f"«{unit.name}» nằm ngoài địa bàn bạn phụ trách.", code="out_of_scope")
        if not any(unit.path.startswith(p) for p in peer_paths):
            raise InvalidInput(
                f"«{unit.name}» không thuộc địa bàn của hệ thống «{peer.name}».", code="not_peer_area"
            )
    return units


def send_bulletin(
    session: Session,
    *,
    principal: Principal,
    peer_id: int,
    bulletin_id: int,
    area_codes: Sequence[str],
    store: AudioStore,
    now: datetime,
    ip: str = "",
) -> SentBulletin:
    """Queue an approved bulletin for a lower system (the connector delivers it). Who may: whoever may
    put things on air, or the leader who approves bulletins (at a province nobody else broadcasts)."""
    require_sender(principal)
    peer = get_peer(session, peer_id)
    if peer.relation is not PeerRelation.LOWER or not peer.active or not peer.push_url:
        raise InvalidInput(
            f"«{peer.name}» không phải hệ thống cấp dưới đang hoạt động có địa chỉ nhận tin.",
            code="peer_not_lower",
        )
    bulletin, snapshot = _approved(session, principal, bulletin_id)
    units = _communes(session, principal, peer, area_codes)
    sha, data, content_type = _audio(session, store, snapshot)
    sent = SentBulletin(
        peer_id=peer.id,
        bulletin_id=bulletin.id,
        title=str(snapshot.get("title") or bulletin.title)[:300],
        priority=Priority(str(snapshot.get("priority") or bulletin.priority.value)),
        area_codes=[u.code for u in units],
        created_by=principal.username,
        created_at=now,
        state="",
        reason="",
        plays=0,
        played_ms=0,
    )
    session.add(sent)
    session.flush()
    outbox.enqueue(
        session,
        peer=peer,
        kind="bulletin",
        key=f"bulletin:{peer.id}:{sent.id}",
        body={
            "id": remote_id(sent),
            "title": sent.title,
            "body": str(snapshot.get("body_text") or ""),
            "priority": sent.priority.value,
            "source": str(snapshot.get("organisation") or ""),
            "areas": sent.area_codes,
            "audio": {
                "content_type": content_type,
                "data_base64": base64.b64encode(data).decode(),
                "sha256": sha,
            },
            "valid_until": snapshot.get("valid_until"),
        },
    )
    audit.record(
        session,
        action="exchange.send",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=units[0].id if len(units) == 1 else None,
        details={
            "title": sent.title,
            "priority": sent.priority.value,
            "communes": sent.area_codes,
            "name": peer.name,
        },
        ip=ip,
    )
    return sent


def list_sent(session: Session, *, principal: Principal, limit: int = 100) -> list[tuple[SentBulletin, str]]:
    """Bulletins sent down (with the receiving system's name) that reach the principal's areas."""
    rows = session.execute(
        select(SentBulletin, ExchangePeer.name)
        .join(ExchangePeer, ExchangePeer.id == SentBulletin.peer_id)
        .order_by(SentBulletin.id.desc())
        .limit(500)
    ).all()
    codes = sorted({c for s, _ in rows for c in s.area_codes})
    paths = (
        dict(session.execute(select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))).all())
        if codes
        else {}
    )
    return [
        (s, name)
        for s, name in rows
        if any(principal.can_access_path(paths.get(c, "")) for c in s.area_codes)
    ][:limit]

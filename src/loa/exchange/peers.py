"""Connected systems: registering one, its keys, where we send to it, and who it is when it calls us.
Keyword-only, session first; never commits. Every change is in the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal, Role
from loa.accounts.scope import require
from loa.db.base import utcnow
from loa.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from loa.exchange import sealing
from loa.exchange.logic import NewKey, new_key, secret_hash, secret_matches, split_token
from loa.exchange.models import ExchangeKey, ExchangePeer, PeerRelation
from loa.units.models import AdminUnit
from loa.vocab.text import clean_line

KEY_REFUSED = "Khóa kết nối không hợp lệ, đã bị thu hồi hoặc hệ thống kết nối đã bị tạm dừng."
MAX_AREAS = 200


def _require_admin(principal: Principal) -> None:
    require(principal, Permission.MANAGE_USERS)
    if not principal.is_admin:
        raise PermissionDenied(
            "Chỉ quản trị hệ thống được quản lý kết nối liên thông.", code="exchange_admin"
        )


def _units(session: Session, codes: Sequence[str]) -> list[AdminUnit]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise InvalidInput("Hãy chọn ít nhất một địa bàn cho kết nối.", code="peer_no_area")
    if len(wanted) > MAX_AREAS:
        raise InvalidInput(f"Tối đa {MAX_AREAS} địa bàn cho một kết nối.", code="peer_too_many_areas")
    found = {u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound(f"Không tìm thấy địa bàn mã {', '.join(missing)}.", code="area_not_found")
    return [found[c] for c in wanted]


def check_url(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "Địa chỉ gửi phải bắt đầu bằng https:// (hoặc http:// trong mạng nội bộ).", code="peer_bad_url"
        )
    return url.rstrip("/")


def create_peer(
    session: Session,
    *,
    principal: Principal,
    name: str,
    relation: PeerRelation,
    area_codes: Sequence[str],
    push_url: str = "",
    push_key: str = "",
    via_lgsp: bool = False,
    rate_limit_per_min: int | None = None,
    secret_key: str,
    ip: str = "",
) -> ExchangePeer:
    _require_admin(principal)
    shown = clean_line(name)
    if not shown or len(shown) > 200:
        raise InvalidInput("Tên hệ thống kết nối là bắt buộc (tối đa 200 ký tự).", code="peer_name")
    if session.scalar(select(ExchangePeer.id).where(ExchangePeer.name == shown)) is not None:
        raise Conflict(f"Đã có kết nối tên «{shown}».", code="peer_name_taken")
    units = _units(session, area_codes)
    if rate_limit_per_min is not None and not 1 <= rate_limit_per_min <= 100_000:
        raise InvalidInput("Giới hạn số lần gọi mỗi phút phải từ 1 đến 100.000.", code="peer_rate")
    peer = ExchangePeer(
        name=shown,
        relation=relation,
        area_codes=[u.code for u in units],
        push_url=check_url(push_url),
        push_key_encrypted=sealing.seal(push_key.strip(), secret_key=secret_key),
        via_lgsp=via_lgsp,
        rate_limit_per_min=rate_limit_per_min,
        active=True,
        receipts_cursor=0,
        created_by=principal.username,
        created_at=utcnow(),
    )
    session.add(peer)
    session.flush()
    _audit(session, principal, "exchange.peer_create", peer, ip, {"name": shown, "areas": peer.area_codes})
    return peer


def set_push_target(
    session: Session,
    *,
    principal: Principal,
    peer_id: int,
    push_url: str,
    push_key: str | None,
    via_lgsp: bool,
    secret_key: str,
    ip: str = "",
) -> ExchangePeer:
    """Where we send to the system, and the key it gave us (None: keep the stored one)."""
    _require_admin(principal)
    peer = get_peer(session, peer_id)
    peer.push_url = check_url(push_url)
    if push_key is not None:
        peer.push_key_encrypted = sealing.seal(push_key.strip(), secret_key=secret_key)
    peer.via_lgsp = via_lgsp
    session.flush()
    _audit(session, principal, "exchange.peer_update", peer, ip, {"name": peer.name, "url": peer.push_url})
    return peer


def set_active(session: Session, *, principal: Principal, peer_id: int, active: bool, ip: str = "") -> None:
    _require_admin(principal)
    peer = get_peer(session, peer_id)
    peer.active = active
    action = "exchange.peer_resume" if active else "exchange.peer_pause"
    _audit(session, principal, action, peer, ip, {"name": peer.name})


def issue_key(session: Session, *, principal: Principal, peer_id: int, ip: str = "") -> NewKey:
    """A new key for the system (shown once: only its hash is kept)."""
    _require_admin(principal)
    peer = get_peer(session, peer_id)
    key = new_key()
    session.add(ExchangeKey(peer_id=peer.id, key_id=key.key_id, secret_sha256=secret_hash(key.secret)))
    session.flush()
    _audit(session, principal, "exchange.key_issue", peer, ip, {"name": peer.name, "key": key.key_id})
    return key


def revoke_key(session: Session, *, principal: Principal, key_id: str, ip: str = "") -> None:
    _require_admin(principal)
    key = session.scalar(select(ExchangeKey).where(ExchangeKey.key_id == key_id))
    if key is None:
        raise NotFound("Không tìm thấy khóa kết nối.", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        peer = get_peer(session, key.peer_id)
        _audit(session, principal, "exchange.key_revoke", peer, ip, {"name": peer.name, "key": key_id})


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    peer: ExchangePeer,
    ip: str,
    details: dict[str, object],
) -> None:
    audit.record(
        session,
        action=action,
        actor=principal,
        target_type="exchange_peer",
        target_id=peer.id,
        details=details,
        ip=ip,
    )


def get_peer(session: Session, peer_id: int) -> ExchangePeer:
    peer = session.get(ExchangePeer, peer_id)
    if peer is None:
        raise NotFound("Không tìm thấy hệ thống kết nối.", code="peer_not_found")
    return peer


def list_peers(session: Session) -> list[ExchangePeer]:
    return list(session.scalars(select(ExchangePeer).order_by(ExchangePeer.relation, ExchangePeer.name)))


def keys_of(session: Session, peer_id: int) -> list[ExchangeKey]:
    return list(
        session.scalars(select(ExchangeKey).where(ExchangeKey.peer_id == peer_id).order_by(ExchangeKey.id))
    )


def push_key(peer: ExchangePeer, *, secret_key: str) -> str:
    return sealing.unseal(peer.push_key_encrypted, secret_key=secret_key)


# --- who is calling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A connected system, authenticated: its row, the key it used, and its areas' paths."""

    peer: ExchangePeer
    key: ExchangeKey
    paths: tuple[str, ...]

    def covers(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.paths)

    @property
    def principal(self) -> Principal:
        """The system acting here, as the services see it: a commune operator's rights (broadcast,
        write) in its areas only. No user row: id 0, named in the audit log and on the pages."""
        return Principal(
            user_id=0,
            username=f"{self.peer.name} (liên thông)"[:200],
            display_name=self.peer.name,
            role=Role.COMMUNE_OPERATOR,
            scope_paths=self.paths,
            scope_label=", ".join(self.peer.area_codes),
        )


def scope_paths(session: Session, peer: ExchangePeer) -> tuple[str, ...]:
    if not peer.area_codes:
        return ()
    return tuple(
        sorted(session.scalars(select(AdminUnit.path).where(AdminUnit.code.in_(list(peer.area_codes)))))
    )


def authenticate(session: Session, token: str | None) -> Caller:
    parts = split_token(token or "")
    if parts is None:
        raise AuthenticationFailed(KEY_REFUSED, code="exchange_key_invalid")
    key_id, secret = parts
    key = session.scalar(select(ExchangeKey).where(ExchangeKey.key_id == key_id))
    if key is None or key.revoked_at is not None or not secret_matches(secret, key.secret_sha256):
        raise AuthenticationFailed(KEY_REFUSED, code="exchange_key_invalid")
    peer = get_peer(session, key.peer_id)
    if not peer.active:
        raise AuthenticationFailed(KEY_REFUSED, code="exchange_peer_paused")
    return Caller(peer, key, scope_paths(session, peer))


def require_relation(caller: Caller, relation: PeerRelation) -> None:
    if caller.peer.relation is not relation:
        wanted = "cấp trên" if relation is PeerRelation.UPPER else "cấp dưới"
        raise PermissionDenied(
            f"Thao tác này chỉ dành cho hệ thống {wanted} đã đăng ký với hệ thống này.",
            code="exchange_wrong_relation",
        )


def touch_key(session: Session, key_id: int, now: datetime) -> None:
    key = session.get(ExchangeKey, key_id)
    if key is not None and (key.last_used_at is None or (now - key.last_used_at).total_seconds() >= 60):
        key.last_used_at = now

"""What an operator may "play now": stored audio (speech store), labelled by the bulletin it reads.

Only the master files (not their Opus copies); newest first. A bulletin rendition's audio carries the
bulletin's title; other assets their file name or "đọc tự động".

Offered within the principal's scope (``loa.accounts.scope``): a bulletin's audio when the person may see
the bulletin; other audio when it was made by the person, by someone working in their areas, or by the
system itself (no maker). Fetching any audio by its hash is not scoped yet (issue 20, point 8).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from loa.accounts.models import UserArea
from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.areas.models import AdminUnit
from loa.content.models import Bulletin, Rendition
from loa.content.queries import visible_to
from loa.errors import InvalidInput
from loa.speech.models import AudioAsset, AudioSourceKind


@dataclass(frozen=True)
class PlayableAudio:
    sha256: str
    title: str
    duration_ms: int

    @property
    def label(self) -> str:
        seconds = round(self.duration_ms / 1000)
        return f"{self.title} ({seconds // 60}:{seconds % 60:02d})"


def _title(asset: AudioAsset, bulletin_title: str | None, language: str | None) -> str:
    if bulletin_title:
        return bulletin_title if language in (None, "vi") else f"{bulletin_title} [{language}]"
    if asset.original_filename:
        return asset.original_filename
    if asset.source_kind is AudioSourceKind.TTS:
        return f"Bản đọc tự động {asset.sha256[:8]}"
    return f"Âm thanh {asset.sha256[:8]}"


def _offered_to(principal: Principal) -> ColumnElement[bool]:
    """Rows of the list query (audio, rendition, bulletin, its unit) this principal is offered."""
    if principal.is_admin:
        return true()
    colleagues = select(UserArea.user_id).where(in_scope(principal, UserArea.admin_unit_id))
    maker = AudioAsset.created_by_id
    made_here = or_(maker.is_(None), maker == principal.user_id, maker.in_(colleagues))
    return or_(and_(Bulletin.id.is_not(None), visible_to(principal)), and_(Bulletin.id.is_(None), made_here))


def playable_audio(session: Session, principal: Principal, *, limit: int = 100) -> list[PlayableAudio]:
    rows = session.execute(
        select(AudioAsset, Bulletin.title, Rendition.language)
        .outerjoin(Rendition, Rendition.audio_sha256 == AudioAsset.sha256)
        .outerjoin(Bulletin, Bulletin.id == Rendition.bulletin_id)
        .outerjoin(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(AudioAsset.rendition_of_id.is_(None), _offered_to(principal))
        .order_by(AudioAsset.created_at.desc(), AudioAsset.id.desc())
        .limit(limit)
    ).all()
    seen: set[str] = set()
    out = []
    for asset, title, language in rows:
        if asset.sha256 in seen:
            continue
        seen.add(asset.sha256)
        out.append(PlayableAudio(asset.sha256, _title(asset, title, language)[:200], asset.duration_ms))
    return out


def get_playable(session: Session, sha256: str) -> PlayableAudio:
    row = session.execute(
        select(AudioAsset, Bulletin.title, Rendition.language)
        .outerjoin(Rendition, Rendition.audio_sha256 == AudioAsset.sha256)
        .outerjoin(Bulletin, Bulletin.id == Rendition.bulletin_id)
        .where(AudioAsset.sha256 == sha256)
        .limit(1)
    ).first()
    if row is None:
        raise InvalidInput("Chưa chọn tệp âm thanh, hoặc tệp không còn trong kho.", code="audio_not_found")
    asset, title, language = row
    return PlayableAudio(asset.sha256, _title(asset, title, language)[:200], asset.duration_ms)


def audio_titles(session: Session, shas: set[str]) -> dict[str, str]:
    """What a person calls each audio file (the bulletin it reads, else its file name): the receipts
    of a "play now" or an emergency message name only their audio."""
    if not shas:
        return {}
    rows = session.execute(
        select(AudioAsset, Bulletin.title, Rendition.language)
        .outerjoin(Rendition, Rendition.audio_sha256 == AudioAsset.sha256)
        .outerjoin(Bulletin, Bulletin.id == Rendition.bulletin_id)
        .where(AudioAsset.sha256.in_(sorted(shas)))
        .order_by(Bulletin.id)
    ).all()
    out: dict[str, str] = {}
    for asset, title, language in rows:
        out.setdefault(asset.sha256, _title(asset, title, language)[:200])
    return out

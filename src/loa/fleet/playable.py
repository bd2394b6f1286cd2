"""What an operator may "play now": stored audio (speech store), labelled by the bulletin it reads.

Only the master files (not their Opus copies); newest first. A bulletin rendition's audio carries the
bulletin's title; other assets their file name or "đọc tự động".

Offered, and accepted by hash, within the principal's scope by the one audio rule
(``loa.content.audio_scope``): a bulletin's audio when the person may see the bulletin; other audio when
it was made or asked for by the person or someone working in their areas, or by the system itself. A
hash outside it is refused exactly like one that names nothing (issue 20, point 8).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from loa.accounts.principal import Principal
from loa.content.audio_scope import visible_audio
from loa.content.models import Bulletin, Rendition
from loa.content.queries import visible_to
from loa.errors import InvalidInput
from loa.speech.models import AudioAsset, AudioSourceKind
from loa.units.models import AdminUnit


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
        # A typed warning's audio carries its own title (``loa.alerts.compose``).
        return asset.title or f"Bản đọc tự động {asset.sha256[:8]}"
    return f"Âm thanh {asset.sha256[:8]}"


def _titled_for(principal: Principal) -> ColumnElement[bool]:
    """Rows (audio, rendition, bulletin, its unit) whose bulletin title the principal may read."""
    return or_(Bulletin.id.is_(None), visible_to(principal))


def playable_audio(session: Session, principal: Principal, *, limit: int = 100) -> list[PlayableAudio]:
    rows = session.execute(
        select(AudioAsset, Bulletin.title, Rendition.language)
        .outerjoin(Rendition, Rendition.audio_sha256 == AudioAsset.sha256)
        .outerjoin(Bulletin, Bulletin.id == Rendition.bulletin_id)
        .outerjoin(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(AudioAsset.rendition_of_id.is_(None), visible_audio(principal), _titled_for(principal))
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


def get_playable(session: Session, principal: Principal, sha256: str) -> PlayableAudio:
    """The audio named by ``sha256`` if ``principal`` may play it; else the same refusal whether it is
    missing or another area's."""
    row = session.execute(
        select(AudioAsset, Bulletin.title, Rendition.language)
        .outerjoin(Rendition, Rendition.audio_sha256 == AudioAsset.sha256)
        .outerjoin(Bulletin, Bulletin.id == Rendition.bulletin_id)
        .outerjoin(AdminUnit, AdminUnit.id == Bulletin.area_id)
        .where(AudioAsset.sha256 == sha256, visible_audio(principal), _titled_for(principal))
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

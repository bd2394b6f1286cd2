"""Which stored audio a person may reach by its SHA-256: the one rule for every route and form that
names audio by hash (download, preview, play now, emergency alerts, announcements, running orders).

Audio belongs to an area through what uses it or who made it (issue 20, point 8):

- the audio of a bulletin's rendition, when the person may see that bulletin (its area, or a published
  bulletin of a level above);
- audio made or asked for (a speech job) by the person or by someone working in the person's areas;
- audio with no maker (made by the system) that no bulletin uses.

An administrator reaches everything. Anything else is answered like a hash that names nothing. An Opus
copy follows the master file it was made from. The area test itself is ``loa.accounts.scope``'s.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from loa.accounts.models import UserArea
from loa.accounts.principal import Principal
from loa.accounts.scope import in_scope
from loa.content.models import Bulletin, Rendition
from loa.content.queries import visible_to
from loa.errors import NotFound
from loa.speech import service as speech
from loa.speech.models import AudioAsset, SpeechJob
from loa.speech.store import is_sha256
from loa.units.models import AdminUnit


def visible_audio(principal: Principal) -> ColumnElement[bool]:
    """A condition on ``AudioAsset`` (master files): the audio ``principal`` may reach."""
    if principal.is_admin:
        return true()
    colleagues = select(UserArea.user_id).where(in_scope(principal, UserArea.admin_unit_id))

    def ours(maker: InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
        return or_(maker == principal.user_id, maker.in_(colleagues))

    # Own aliases: the caller's query may join renditions, bulletins and units for other reasons.
    rendition, bulletin, unit = aliased(Rendition), aliased(Bulletin), aliased(AdminUnit)
    used = select(rendition.id).where(rendition.audio_sha256 == AudioAsset.sha256).correlate(AudioAsset)
    read_here = exists(
        used.join(bulletin, bulletin.id == rendition.bulletin_id)
        .join(unit, unit.id == bulletin.area_id)
        .where(visible_to(principal, bulletin, unit))
    )
    asked_here = exists(
        select(SpeechJob.id)
        .where(SpeechJob.result_sha256 == AudioAsset.sha256, ours(SpeechJob.created_by_id))
        .correlate(AudioAsset)
    )
    system = and_(AudioAsset.created_by_id.is_(None), ~exists(used))
    return or_(ours(AudioAsset.created_by_id), asked_here, read_here, system)


def reachable_asset(session: Session, principal: Principal, sha256: str) -> AudioAsset | None:
    """The stored file named ``sha256`` when ``principal`` may reach it; None when it is missing or
    another area's (callers answer both alike)."""
    sha256 = sha256.strip().lower()
    asset = (
        session.scalar(select(AudioAsset).where(AudioAsset.sha256 == sha256)) if is_sha256(sha256) else None
    )
    if asset is None:
        return None
    master_id = asset.rendition_of_id or asset.id
    allowed = select(AudioAsset.id).where(AudioAsset.id == master_id, visible_audio(principal)).limit(1)
    return asset if session.scalar(allowed) is not None else None


def require_asset(session: Session, principal: Principal, sha256: str) -> AudioAsset:
    """Like ``reachable_asset``, raising NotFound (the answer to a hash that names nothing) for None."""
    asset = reachable_asset(session, principal, sha256)
    if asset is None:
        raise NotFound(speech.ASSET_NOT_FOUND)
    return asset

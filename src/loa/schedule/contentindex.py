"""What of the content may air, indexed for the compiler and the running orders: bulletins, the
revision of each that was approved (an unreviewed edit never reaches a loudspeaker), the audio of each
language's rendition (Vietnamese as the fallback, with a notice) and the audio assets' sizes and lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from loa.content.catalog import DEFAULT_LANGUAGE, LANGUAGES, Status
from loa.content.models import Bulletin, BulletinRevision
from loa.schedule import models as m
from loa.schedule.snapshot import AudioRef, Entry, Target
from loa.speech.models import AudioAsset

AIRABLE = frozenset({Status.APPROVED, Status.PUBLISHED})


def audio_url(sha256: str) -> str:
    """Relative: the agent fetches ``/api/v1/devices/<id>/audio/<sha256>`` with its own credentials."""
    return f"/api/v1/audio/{sha256}"


def airable_revision(bulletin: Bulletin) -> int | None:
    """The revision number that may be broadcast, or None (not approved yet, withdrawn, archived)."""
    if bulletin.status in AIRABLE:
        return bulletin.approved_revision_no
    if bulletin.status is not Status.ARCHIVED and bulletin.published_revision_no:
        return bulletin.published_revision_no
    return None


class ContentIndex:
    """Bulletins, their approved revisions and audio assets referenced by running orders."""

    def __init__(self, session: Session, bulletin_ids: set[int], shas: set[str]) -> None:
        self.bulletins: dict[int, Bulletin] = {}
        self.revisions: dict[int, dict[str, Any]] = {}
        if bulletin_ids:
            self.bulletins = {
                b.id: b for b in session.scalars(select(Bulletin).where(Bulletin.id.in_(bulletin_ids)))
            }
            wanted = {(b.id, n) for b in self.bulletins.values() if (n := airable_revision(b)) is not None}
            if wanted:
                for rev in session.scalars(
                    select(BulletinRevision).where(BulletinRevision.bulletin_id.in_({b for b, _ in wanted}))
                ):
                    if (rev.bulletin_id, rev.number) in wanted:
                        self.revisions[rev.bulletin_id] = rev.snapshot
        for rev_snapshot in self.revisions.values():
            for r in (rev_snapshot.get("renditions") or {}).values():
                if isinstance(r, dict) and r.get("audio_sha256"):
                    shas.add(str(r["audio_sha256"]))
        self.assets: dict[str, tuple[int, int]] = {}
        if shas:
            self.assets = {
                sha: (size, duration)
                for sha, size, duration in session.execute(
                    select(AudioAsset.sha256, AudioAsset.size_bytes, AudioAsset.duration_ms).where(
                        AudioAsset.sha256.in_(shas)
                    )
                ).all()
            }
        # The Opus rendition of each master, smaller than it: devices on a tight data budget take it.
        self.smaller: dict[str, tuple[str, int]] = {}
        if self.assets:
            rendition = aliased(AudioAsset)
            for master_sha, master_size, sha, size in session.execute(
                select(AudioAsset.sha256, AudioAsset.size_bytes, rendition.sha256, rendition.size_bytes)
                .join(rendition, rendition.rendition_of_id == AudioAsset.id)
                .where(AudioAsset.sha256.in_(list(self.assets)), rendition.format == "opus")
            ).all():
                if size < master_size:
                    self.smaller[master_sha] = (sha, size)
        self.notices: list[str] = []

    def _rendition_audio(self, bulletin: Bulletin, language: str) -> str | None:
        """Only the audio sealed in the approved revision: speech made after approval (which may say
        other words, the area's readings having changed) airs once its own revision is approved."""
        approved = (self.revisions.get(bulletin.id, {}).get("renditions") or {}).get(language)
        if isinstance(approved, dict) and approved.get("audio_sha256"):
            return str(approved["audio_sha256"])
        return None

    def audio(self, sha: str | None) -> AudioRef | None:
        found = self.assets.get(sha) if sha else None
        if sha is None or found is None:
            return None
        size, duration = found
        return AudioRef(audio_url(sha), duration, sha, size, smaller=self.smaller.get(sha))

    def bulletin_audio(self, bulletin_id: int, language: str) -> tuple[Bulletin, AudioRef] | None:
        bulletin = self.bulletins.get(bulletin_id)
        if bulletin is None or bulletin.id not in self.revisions:
            return None
        audio = self.audio(self._rendition_audio(bulletin, language))
        if audio is None and language != DEFAULT_LANGUAGE:
            audio = self.audio(self._rendition_audio(bulletin, DEFAULT_LANGUAGE))
            if audio is not None:
                label = LANGUAGES[language].label if language in LANGUAGES else language
                self.notices.append(
                    f"Bản tin «{bulletin.title}» chưa có bản {label}: phát bản tiếng Việt thay thế."
                )
        if audio is None:
            self.notices.append(f"Bản tin «{bulletin.title}» chưa có âm thanh nên không được phát.")
            return None
        return bulletin, audio

    def entries(
        self, items: Sequence[m.RunningOrderItem], languages: dict[str, tuple[Target, ...]]
    ) -> tuple[Entry, ...]:
        """One entry per line and target language; a single language reaches the whole audience."""
        out: list[Entry] = []
        only = len(languages) == 1
        for item in items:
            for language, targets in languages.items():
                aimed = () if only else targets
                if item.kind is m.ItemKind.BULLETIN and item.bulletin_id is not None:
                    found = self.bulletin_audio(item.bulletin_id, language)
                    if found is not None:
                        bulletin, audio = found
                        title = (item.title or bulletin.title)[:200]
                        out.append(Entry(str(bulletin.id), title, audio, aimed))
                elif item.kind is m.ItemKind.RECORDING:
                    recording = self.audio(item.audio_sha256)
                    if recording is None:
                        self.notices.append(f"Bản ghi «{item.title}» không còn trong kho âm thanh.")
                        continue
                    out.append(
                        Entry(f"rec-{item.audio_sha256 or ''}"[:16], item.title[:200], recording, aimed)
                    )
        return tuple(out)

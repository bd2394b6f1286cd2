"""Build the compiler's ``Snapshot`` from the database, for a window, in a fixed number of queries.

What airs: only bulletins that are approved or published (an edit of a published bulletin keeps its
published revision on air until the new one is approved; an archived one is off air), in the rendition
of each target's language — a Hrê village hears the Hrê recording — with the Vietnamese one as a
fallback (reported as a notice). Audio comes from the revision that was approved, so an unreviewed
edit never reaches a loudspeaker. Devices are resolved to their province, commune, village, station
and groups here, at compile time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.areas.logic import name_key
from loa.areas.models import AdminUnit, Station, UnitKind
from loa.content.catalog import DEFAULT_LANGUAGE, LANGUAGES, AudioOrigin, Status
from loa.content.models import Bulletin, BulletinRevision
from loa.fleet.models import Device, DeviceGroupMember
from loa.protocol.priority import PreemptRule
from loa.protocol.topics import valid_group_code
from loa.schedule import models as m
from loa.schedule.recurrence import Recurrence, to_local
from loa.schedule.snapshot import (
    Announcement,
    AudioRef,
    DeviceMembership,
    Entry,
    Episode,
    Programme,
    Snapshot,
    Target,
    TargetKind,
)
from loa.schedule.targets import StoredTarget, load_tokens
from loa.speech.models import AudioAsset

AIRABLE = frozenset({Status.APPROVED, Status.PUBLISHED})
_VILLAGE_KINDS = (UnitKind.VILLAGE, UnitKind.RESIDENTIAL_GROUP)
_PAD = timedelta(days=2)


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


def parse_local_list(values: Iterable[str]) -> tuple[datetime, ...]:
    return tuple(sorted(datetime.fromisoformat(v) for v in values))


def programme_recurrence(p: m.Programme, slots: Sequence[m.Slot] = ()) -> Recurrence:
    """The programme's recurrence with its slot overrides: cancelled and moved occurrences become
    exceptions, moved ones come back as extra dates at their new time."""
    except_local = set(parse_local_list(p.except_local))
    extra = set(parse_local_list(p.extra_local))
    for s in slots:
        if s.status is m.SlotStatus.CANCELLED or (s.status is m.SlotStatus.MOVED and s.moved_to_local):
            except_local.add(s.occurrence_local)
        if s.status is m.SlotStatus.MOVED and s.moved_to_local is not None:
            extra.add(s.moved_to_local)
    return Recurrence(
        start_local=p.start_local,
        rule=p.rrule,
        timezone=p.timezone,
        except_local=tuple(sorted(except_local)),
        except_dates=tuple(sorted(date.fromisoformat(d) for d in p.except_dates)),
        extra_local=tuple(sorted(extra - except_local)),
        skip_holidays=p.skip_holidays,
        max_per_day=p.max_per_day,
    )


@dataclass(frozen=True)
class LoadedSnapshot:
    snapshot: Snapshot
    device_ids: dict[str, int]  # uid → devices.id
    notices: tuple[str, ...]  # Vietnamese warnings found while loading (missing renditions, …)


# --- devices ---


def load_memberships(
    session: Session, *, uids: Iterable[str] | None = None
) -> tuple[list[DeviceMembership], dict[str, int]]:
    """Where every active device belongs (or only ``uids``)."""
    query = select(Device.id, Device.uid, Device.commune_id, Device.station_id, Device.village).where(
        Device.active.is_(True)
    )
    if uids is not None:
        query = query.where(Device.uid.in_(list(uids)))
    rows = session.execute(query.order_by(Device.uid)).all()
    station_ids = {r.station_id for r in rows if r.station_id is not None}
    station_commune = (
        dict(session.execute(select(Station.id, Station.commune_id).where(Station.id.in_(station_ids))).all())
        if station_ids
        else {}
    )

    def commune_of(row: Any) -> int | None:
        if row.commune_id is not None:
            return int(row.commune_id)
        return station_commune.get(row.station_id) if row.station_id is not None else None

    commune_ids = {c for r in rows if (c := commune_of(r)) is not None}
    communes = (
        {
            uid: (code, path)
            for uid, code, path in session.execute(
                select(AdminUnit.id, AdminUnit.code, AdminUnit.path).where(AdminUnit.id.in_(commune_ids))
            ).all()
        }
        if commune_ids
        else {}
    )
    villages: dict[int, dict[str, str]] = defaultdict(dict)
    if commune_ids and any(r.village for r in rows):
        for parent, unit_code, name in session.execute(
            select(AdminUnit.parent_id, AdminUnit.code, AdminUnit.name).where(
                AdminUnit.parent_id.in_(commune_ids), AdminUnit.kind.in_(_VILLAGE_KINDS)
            )
        ).all():
            if parent is not None:
                villages[parent][unit_code] = unit_code
                villages[parent][name_key(name)] = unit_code
    device_ids = {r.uid: r.id for r in rows}
    groups: dict[int, list[str]] = defaultdict(list)
    member_query = select(DeviceGroupMember.device_id, DeviceGroupMember.group_id)
    if uids is not None:
        member_query = member_query.where(DeviceGroupMember.device_id.in_(list(device_ids.values())))
    for device_id, group_id in session.execute(member_query.order_by(DeviceGroupMember.group_id)).all():
        groups[device_id].append(str(group_id))
    out = []
    for r in rows:
        commune_id = commune_of(r)
        code: str | None = None
        path: str | None = None
        if commune_id is not None and commune_id in communes:
            code, path = communes[commune_id]
        province = path.strip("/").split("/")[0] if path else None
        village: str | None = None
        if r.village and commune_id is not None:
            known = villages.get(commune_id, {})
            village = known.get(r.village.strip()) or known.get(name_key(r.village))
        out.append(
            DeviceMembership(
                device_id=r.uid,
                province=province,
                commune=code,
                village=village,
                station=str(r.station_id) if r.station_id is not None else None,
                groups=tuple(groups.get(r.id, ())),
                command_groups=_command_groups(r.commune_id, communes),
            )
        )
    return out, device_ids


def _command_groups(commune_id: int | None, communes: dict[int, tuple[str, str]]) -> tuple[str, ...]:
    """The device's own commune (not a station's): the group its commune's commands are sent to."""
    code = communes[commune_id][0] if commune_id is not None and commune_id in communes else None
    return (code,) if code is not None and valid_group_code(code) else ()


# --- content ---


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
        for b in self.bulletins.values():
            shas.update(r.audio_sha256 for r in b.renditions if r.audio_sha256)
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
        self.notices: list[str] = []

    def _rendition_audio(self, bulletin: Bulletin, language: str) -> str | None:
        approved = (self.revisions.get(bulletin.id, {}).get("renditions") or {}).get(language)
        if isinstance(approved, dict) and approved.get("audio_sha256"):
            return str(approved["audio_sha256"])
        live = next((r for r in bulletin.renditions if r.language == language), None)
        # Synthetic speech of the approved text is derived content: it needs no second review.
        if (
            live is not None
            and live.audio_sha256
            and live.audio_origin is AudioOrigin.TTS
            and (approved is None or (isinstance(approved, dict) and approved.get("text") == live.text))
        ):
            return live.audio_sha256
        return None

    def audio(self, sha: str | None) -> AudioRef | None:
        found = self.assets.get(sha) if sha else None
        if sha is None or found is None:
            return None
        size, duration = found
        return AudioRef(audio_url(sha), duration, sha, size)

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


# --- the snapshot ---


def _languages(
    rows: Iterable[StoredTarget], tokens: dict[tuple[TargetKind, int], Target]
) -> dict[str, tuple[Target, ...]]:
    groups: dict[str, list[Target]] = defaultdict(list)
    for t in rows:
        token = tokens.get((t.kind, t.ref_id))
        if token is not None:
            groups[t.language].append(token)
    return {lang: tuple(sorted(ts)) for lang, ts in sorted(groups.items())}


def load_snapshot(
    session: Session,
    *,
    start_at: datetime,
    end_at: datetime,
    uids: Iterable[str] | None = None,
    programme_ids: Iterable[int] | None = None,
) -> LoadedSnapshot:
    """Everything that may air in ``[start_at, end_at)`` (with a margin), for all or some devices. With
    ``uids``, only what reaches those devices: the rest would not change their manifests, and its
    notices (other areas' titles) are not for the people looking at these devices."""
    devices, device_ids = load_memberships(session, uids=uids)
    reach = None if uids is None else frozenset(t for d in devices for t in d.tokens())
    pquery = select(m.Programme).where(m.Programme.active.is_(True))
    if programme_ids is not None:
        pquery = pquery.where(m.Programme.id.in_(list(programme_ids)))
    programmes = list(session.scalars(pquery.order_by(m.Programme.id)))
    pids = [p.id for p in programmes]
    local_from = to_local(start_at) - _PAD
    local_to = to_local(end_at) + _PAD
    slots: dict[int, list[m.Slot]] = defaultdict(list)
    if pids:
        for s in session.scalars(
            select(m.Slot).where(
                m.Slot.programme_id.in_(pids),
                or_(
                    m.Slot.occurrence_local.between(local_from, local_to),
                    m.Slot.moved_to_local.between(local_from, local_to),
                ),
            )
        ):
            slots[s.programme_id].append(s)
    own_slot_ids = [s.id for ss in slots.values() for s in ss if s.own_running_order]
    items: dict[tuple[int, int | None], list[m.RunningOrderItem]] = defaultdict(list)
    fallbacks: dict[int, list[m.RunningOrderItem]] = defaultdict(list)
    if pids:
        iquery = select(m.RunningOrderItem).where(
            m.RunningOrderItem.programme_id.in_(pids),
            or_(m.RunningOrderItem.slot_id.is_(None), m.RunningOrderItem.slot_id.in_(own_slot_ids or [-1])),
        )
        for it in session.scalars(iquery.order_by(m.RunningOrderItem.position, m.RunningOrderItem.id)):
            if it.fallback:
                fallbacks[it.programme_id].append(it)
            else:
                items[(it.programme_id, it.slot_id)].append(it)
    ptargets: dict[int, list[StoredTarget]] = defaultdict(list)
    if pids:
        for t in session.scalars(select(m.ProgrammeTarget).where(m.ProgrammeTarget.programme_id.in_(pids))):
            ptargets[t.programme_id].append(StoredTarget(TargetKind(t.kind), t.ref_id, t.language))
    announcements = list(
        session.scalars(
            select(m.Announcement).where(
                m.Announcement.status == m.AnnouncementStatus.SCHEDULED,
                m.Announcement.start_at >= start_at - timedelta(days=1),
                m.Announcement.start_at < end_at,
            )
        )
    )
    atargets: dict[int, list[StoredTarget]] = defaultdict(list)
    if announcements:
        for at in session.scalars(
            select(m.AnnouncementTarget).where(
                m.AnnouncementTarget.announcement_id.in_([a.id for a in announcements])
            )
        ):
            atargets[at.announcement_id].append(StoredTarget(TargetKind(at.kind), at.ref_id, at.language))
    tokens = load_tokens(session, [t for ts in (*ptargets.values(), *atargets.values()) for t in ts])
    every_item = [it for its in (*items.values(), *fallbacks.values()) for it in its]
    bulletin_ids = {it.bulletin_id for it in every_item if it.bulletin_id is not None}
    bulletin_ids |= {a.bulletin_id for a in announcements if a.bulletin_id is not None}
    shas = {it.audio_sha256 for it in every_item if it.audio_sha256}
    shas |= {a.audio_sha256 for a in announcements if a.audio_sha256}
    content = ContentIndex(session, bulletin_ids, shas)

    out_programmes: list[Programme] = []
    episodes: list[Episode] = []
    for p in programmes:
        languages = _languages(ptargets[p.id], tokens)
        all_targets = tuple(sorted({t for ts in languages.values() for t in ts}))
        if not all_targets or (reach is not None and reach.isdisjoint(all_targets)):
            continue
        out_programmes.append(
            Programme(
                id=str(p.id),
                title=p.name[:200],
                recurrence=programme_recurrence(p, slots[p.id]),
                slot_duration_ms=p.slot_duration_ms,
                targets=all_targets,
                running_order=content.entries(items[(p.id, None)], languages),
                priority=p.priority,
                preempt_rule=PreemptRule(p.preempt_rule),
                volume_percent=p.volume_percent,
                fallback=content.entries(fallbacks[p.id], languages),
            )
        )
        for s in slots[p.id]:
            if s.own_running_order and s.status is not m.SlotStatus.CANCELLED:
                episodes.append(
                    Episode(
                        programme_id=str(p.id),
                        airing_local=s.moved_to_local or s.occurrence_local,
                        running_order=content.entries(items[(p.id, s.id)], languages),
                    )
                )
    out_announcements: list[Announcement] = []
    for a in announcements:
        languages = _languages(atargets[a.id], tokens)
        if reach is not None and all(reach.isdisjoint(ts) for ts in languages.values()):
            continue
        for language, targets in languages.items():
            if a.bulletin_id is not None:
                found = content.bulletin_audio(a.bulletin_id, language)
                audio = found[1] if found is not None else None
            else:
                audio = content.audio(a.audio_sha256)
                if audio is None:
                    content.notices.append(f"Âm thanh của thông báo «{a.title}» không còn trong kho.")
            if audio is None:
                continue
            ident = str(a.id) if len(languages) == 1 else f"{a.id}-{language}"
            out_announcements.append(
                Announcement(
                    id=ident,
                    title=a.title[:200],
                    start_at=a.start_at,
                    audio=audio,
                    targets=targets,
                    priority=a.priority,
                    preempt_rule=PreemptRule(a.preempt_rule),
                    not_after_at=a.not_after_at,
                    volume_percent=a.volume_percent,
                    bulletin_id=str(a.bulletin_id) if a.bulletin_id is not None else None,
                )
            )
    snapshot = Snapshot(
        programmes=tuple(out_programmes),
        episodes=tuple(episodes),
        announcements=tuple(out_announcements),
        devices=tuple(devices),
    )
    return LoadedSnapshot(snapshot, device_ids, tuple(dict.fromkeys(content.notices)))

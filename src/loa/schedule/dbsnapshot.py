"""Build the compiler's ``Snapshot`` from the database, for a window, in a fixed number of queries.

What airs: only bulletins that are approved or published (an edit of a published bulletin keeps its
published revision on air until the new one is approved; an archived one is off air), in the rendition
of each target's language — a Hrê village hears the Hrê recording — with the Vietnamese one as a
fallback (reported as a notice). Audio comes from the revision that was approved, so an unreviewed
edit never reaches a loudspeaker (``loa.schedule.contentindex``). Devices are resolved to their
province, commune, village, station and groups at compile time (``loa.schedule.memberships``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loa.fleet.clips import clips as prepositioned_clips
from loa.protocol.priority import PreemptRule
from loa.schedule import models as m
from loa.schedule.alertrounds import alert_announcements
from loa.schedule.contentindex import ContentIndex
from loa.schedule.memberships import load_memberships
from loa.schedule.recurrence import Recurrence, to_local
from loa.schedule.snapshot import (
    Announcement,
    Episode,
    Programme,
    Snapshot,
    Target,
    TargetKind,
)
from loa.schedule.streams import stream_announcements
from loa.schedule.targets import StoredTarget, load_tokens

_PAD = timedelta(days=2)


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


@dataclass(frozen=True)
class _Rows:
    """The rows a window needs, each table read once."""

    programmes: list[m.Programme]
    slots: dict[int, list[m.Slot]]  # programme id → its slots stored in the window
    items: dict[tuple[int, int | None], list[m.RunningOrderItem]]  # (programme, slot or None) → lines
    fallbacks: dict[int, list[m.RunningOrderItem]]  # programme id → its fallback playlist
    programme_targets: dict[int, list[StoredTarget]]
    announcements: list[m.Announcement]
    announcement_targets: dict[int, list[StoredTarget]]


def _load_slots(
    session: Session, pids: list[int], start_at: datetime, end_at: datetime
) -> dict[int, list[m.Slot]]:
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
    return slots


def _load_items(
    session: Session, pids: list[int], slots: dict[int, list[m.Slot]]
) -> tuple[dict[tuple[int, int | None], list[m.RunningOrderItem]], dict[int, list[m.RunningOrderItem]]]:
    """The programmes' default running orders, their slots' own ones, and their fallback playlists."""
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
    return items, fallbacks


def _load_rows(
    session: Session, *, start_at: datetime, end_at: datetime, programme_ids: Iterable[int] | None
) -> _Rows:
    pquery = select(m.Programme).where(m.Programme.active.is_(True))
    if programme_ids is not None:
        pquery = pquery.where(m.Programme.id.in_(list(programme_ids)))
    programmes = list(session.scalars(pquery.order_by(m.Programme.id)))
    pids = [p.id for p in programmes]
    slots = _load_slots(session, pids, start_at, end_at)
    items, fallbacks = _load_items(session, pids, slots)
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
    return _Rows(programmes, slots, items, fallbacks, ptargets, announcements, atargets)


def _content(session: Session, rows: _Rows) -> ContentIndex:
    """The bulletins and audio every running order and announcement of the window names."""
    every_item = [it for its in (*rows.items.values(), *rows.fallbacks.values()) for it in its]
    bulletin_ids = {it.bulletin_id for it in every_item if it.bulletin_id is not None}
    bulletin_ids |= {a.bulletin_id for a in rows.announcements if a.bulletin_id is not None}
    shas = {it.audio_sha256 for it in every_item if it.audio_sha256}
    shas |= {a.audio_sha256 for a in rows.announcements if a.audio_sha256}
    return ContentIndex(session, bulletin_ids, shas)


def _programmes(
    rows: _Rows,
    tokens: dict[tuple[TargetKind, int], Target],
    content: ContentIndex,
    reach: frozenset[Target] | None,
) -> tuple[list[Programme], list[Episode]]:
    """The programmes that reach a device (``reach``: None for every device), and the episodes of
    their slots that have a running order of their own."""
    out_programmes: list[Programme] = []
    episodes: list[Episode] = []
    for p in rows.programmes:
        languages = _languages(rows.programme_targets[p.id], tokens)
        all_targets = tuple(sorted({t for ts in languages.values() for t in ts}))
        if not all_targets or (reach is not None and reach.isdisjoint(all_targets)):
            continue
        out_programmes.append(
            Programme(
                id=str(p.id),
                title=p.name[:200],
                recurrence=programme_recurrence(p, rows.slots[p.id]),
                slot_duration_ms=p.slot_duration_ms,
                targets=all_targets,
                running_order=content.entries(rows.items[(p.id, None)], languages),
                priority=p.priority,
                preempt_rule=PreemptRule(p.preempt_rule),
                volume_percent=p.volume_percent,
                fallback=content.entries(rows.fallbacks[p.id], languages),
            )
        )
        for s in rows.slots[p.id]:
            if s.own_running_order and s.status is not m.SlotStatus.CANCELLED:
                episodes.append(
                    Episode(
                        programme_id=str(p.id),
                        airing_local=s.moved_to_local or s.occurrence_local,
                        running_order=content.entries(rows.items[(p.id, s.id)], languages),
                    )
                )
    return out_programmes, episodes


def _announcements(
    rows: _Rows,
    tokens: dict[tuple[TargetKind, int], Target],
    content: ContentIndex,
    reach: frozenset[Target] | None,
) -> list[Announcement]:
    """One announcement per target language (its id suffixed by the language when there are several)."""
    out: list[Announcement] = []
    for a in rows.announcements:
        languages = _languages(rows.announcement_targets[a.id], tokens)
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
            out.append(
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
    return out


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
    rows = _load_rows(session, start_at=start_at, end_at=end_at, programme_ids=programme_ids)
    tokens = load_tokens(
        session,
        [t for ts in (*rows.programme_targets.values(), *rows.announcement_targets.values()) for t in ts],
    )
    content = _content(session, rows)
    programmes, episodes = _programmes(rows, tokens, content, reach)
    snapshot = Snapshot(
        programmes=tuple(programmes),
        episodes=tuple(episodes),
        announcements=(
            *_announcements(rows, tokens, content, reach),
            # Emergency alerts are carried by the manifest until stopped or expired.
            *alert_announcements(session, start_at=start_at, end_at=end_at),
            *stream_announcements(session, start_at=start_at, end_at=end_at),  # live and relays
        ),
        devices=tuple(devices),
        clips=prepositioned_clips(session),
    )
    return LoadedSnapshot(snapshot, device_ids, tuple(dict.fromkeys(content.notices)))

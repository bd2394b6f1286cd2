"""The lines of a running order as stored: which rows belong to a slot's running order, the
programme's default or its fallback playlist, and how long each lasts in a language. Shared by the
slots (their totals) and the running orders (their lines)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from loa.content.catalog import DEFAULT_LANGUAGE
from loa.schedule import models as m
from loa.schedule.contentindex import ContentIndex
from loa.schedule.service import stored_targets


def durations(session: Session, items: Sequence[m.RunningOrderItem], language: str) -> list[int]:
    """Duration of each line in ``language`` (Vietnamese as the fallback; 0 when nothing can air)."""
    bulletin_ids = {i.bulletin_id for i in items if i.bulletin_id is not None}
    shas = {i.audio_sha256 for i in items if i.audio_sha256}
    index = ContentIndex(session, bulletin_ids, shas)
    out = []
    for i in items:
        if i.kind is m.ItemKind.BULLETIN and i.bulletin_id is not None:
            found = index.bulletin_audio(i.bulletin_id, language)
            out.append(found[1].duration_ms or 0 if found else 0)
        else:
            audio = index.audio(i.audio_sha256)
            out.append(audio.duration_ms or 0 if audio else 0)
    return out


def owned_by(programme_id: int, slot_id: int | None, fallback: bool) -> list[ColumnElement[bool]]:
    """The lines of one running order: a slot's, the programme's default, or its fallback playlist."""
    item = m.RunningOrderItem
    return [
        item.programme_id == programme_id,
        item.slot_id.is_(None) if slot_id is None else item.slot_id == slot_id,
        item.fallback.is_(fallback),
    ]


def order_items(
    session: Session, programme_id: int, slot_id: int | None, *, fallback: bool = False
) -> list[m.RunningOrderItem]:
    query = select(m.RunningOrderItem).where(*owned_by(programme_id, slot_id, fallback))
    return list(session.scalars(query.order_by(m.RunningOrderItem.position, m.RunningOrderItem.id)))


def main_language(session: Session, programme_id: int) -> str:
    targets = stored_targets(session, programme_id)
    return targets[0].language if targets else DEFAULT_LANGUAGE

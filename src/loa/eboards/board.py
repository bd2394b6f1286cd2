"""What an e-board of one area shows: the live published bulletins filed at that unit or at the levels
above it (a commune's board carries the province's bulletins too, never a neighbour's), newest first,
with their text, photos and readings. Pure data out of ``loa.content``; no web, no signing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.content import queries
from loa.content.catalog import KINDS, LANGUAGES, PRIORITIES, BulletinKind, Priority
from loa.content.richtext import summary
from loa.content.schemas import audio_url, photo_url
from loa.errors import NotFound
from loa.units.models import AdminUnit

MAX_ITEMS = 50


@dataclass(frozen=True)
class Board:
    area: AdminUnit
    items: list[queries.Published]


def area_for_board(session: Session, code: str) -> AdminUnit:
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code.strip()))
    if unit is None or unit.valid_to is not None:
        raise NotFound("Không có địa bàn với mã này.", code="area_not_found")
    return unit


def ancestors_and_self(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def board(session: Session, *, code: str, now: datetime, limit: int = MAX_ITEMS) -> Board:
    area = area_for_board(session, code)
    live = queries.published(
        session, filters=queries.Filters(), limit=limit, now=now, area_paths=ancestors_and_self(area.path)
    )
    return Board(area, live)


def item_json(p: queries.Published, base_url: str) -> dict[str, Any]:
    snap = p.content
    kind, priority = BulletinKind(snap["kind"]), Priority(snap["priority"])
    return {
        "id": f"urn:loa:bulletin:{p.bulletin.id}:r{p.revision.number}",
        "title": snap["title"],
        "kind": kind.value,
        "kind_label": KINDS[kind].label,
        "priority": priority.value,
        "priority_label": PRIORITIES[priority].label,
        "area": {"code": p.area.code, "name": p.area.name},
        "source": snap["organisation"] or p.area.name,
        "published_at": (p.bulletin.published_at or p.bulletin.updated_at).isoformat(),
        "valid_until": snap["valid_until"],
        "summary": summary(snap["body_text"]),
        "text": snap["body_text"],
        "photos": [
            {
                "url": base_url + photo_url(a["sha256"]),
                "sha256": a["sha256"],
                "content_type": a["content_type"],
                "width": a["width"],
                "height": a["height"],
                "caption": a["caption"],
            }
            for a in snap["attachments"]
        ],
        "audio": [
            {
                "language": lang,
                "language_label": LANGUAGES[lang].label if lang in LANGUAGES else lang,
                "url": base_url + audio_url(r["audio_sha256"]),
                "sha256": r["audio_sha256"],
                "duration_ms": r["audio_duration_ms"],
            }
            for lang, r in sorted(snap["renditions"].items())
            if r["audio_sha256"]
        ],
    }


def board_json(b: Board, *, base_url: str, generated_at: datetime) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "eboard",
        "area": {"code": b.area.code, "name": b.area.name},
        "generated_at": generated_at.isoformat(),
        "items": [item_json(p, base_url) for p in b.items],
    }

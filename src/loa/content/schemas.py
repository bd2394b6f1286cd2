"""JSON shapes of the bulletin API, and the conversions from rows and snapshots to them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from loa.accounts.principal import Principal
from loa.content.catalog import AUDIO_ORIGINS, KINDS, PRIORITIES, SOURCES, STATUSES, language_label
from loa.content.logic import DraftInput
from loa.content.models import Attachment, Bulletin, BulletinRevision, Rendition
from loa.content.workflow import Subject, allowed_actions
from loa.units.models import AdminUnit


def photo_url(sha256: str) -> str:
    return f"/media/bulletin-photos/{sha256}"


def audio_url(sha256: str) -> str:
    return f"/media/bulletin-audio/{sha256}"


class RenditionIn(BaseModel):
    language: str = Field(max_length=24)
    text: str = Field(default="", max_length=60_000)
    version: int | None = None


class BulletinIn(BaseModel):
    title: str = Field(max_length=1000)
    body: str = Field(default="", max_length=120_000)
    kind: str = "news"
    priority: str = "normal"
    topics: list[str] = Field(default_factory=list, max_length=30)
    area_code: str | None = Field(default=None, max_length=32)
    organisation: str = Field(default="", max_length=500)
    source_kind: str = "own"
    source_reference: str = Field(default="", max_length=1000)
    rights_note: str = Field(default="", max_length=2000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    renditions: list[RenditionIn] = Field(default_factory=list, max_length=20)

    def draft(self) -> DraftInput:
        return DraftInput(**self.model_dump(exclude={"renditions", "version"}))


class BulletinPut(BulletinIn):
    version: int


class BulletinPatch(BaseModel):
    version: int
    title: str | None = Field(default=None, max_length=1000)
    body: str | None = Field(default=None, max_length=120_000)
    kind: str | None = None
    priority: str | None = None
    topics: list[str] | None = Field(default=None, max_length=30)
    area_code: str | None = Field(default=None, max_length=32)
    organisation: str | None = Field(default=None, max_length=500)
    source_kind: str | None = None
    source_reference: str | None = Field(default=None, max_length=1000)
    rights_note: str | None = Field(default=None, max_length=2000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    tags: list[str] | None = Field(default=None, max_length=50)

    def merged(self, bulletin: Bulletin) -> DraftInput:
        changes = self.model_dump(exclude={"version"}, exclude_unset=True)
        return replace(current_draft(bulletin), **changes)


class TransitionIn(BaseModel):
    comment: str = Field(default="", max_length=5000)
    version: int | None = None


def current_draft(bulletin: Bulletin) -> DraftInput:
    return DraftInput(
        title=bulletin.title,
        body=bulletin.body_markdown,
        kind=bulletin.kind.value,
        priority=bulletin.priority.value,
        topics=[t.code for t in bulletin.topics],
        area_code=None,
        organisation=bulletin.organisation,
        source_kind=bulletin.source_kind.value,
        source_reference=bulletin.source_reference,
        rights_note=bulletin.rights_note,
        valid_from=bulletin.valid_from,
        valid_until=bulletin.valid_until,
        tags=list(bulletin.tags),
    )


def rendition_out(r: Rendition) -> dict[str, Any]:
    return {
        "language": r.language,
        "language_label": language_label(r.language),
        "text": r.text,
        "audio_sha256": r.audio_sha256,
        "audio_url": audio_url(r.audio_sha256) if r.audio_sha256 else None,
        "audio_origin": r.audio_origin.value if r.audio_origin else None,
        "audio_origin_label": AUDIO_ORIGINS[r.audio_origin].label if r.audio_origin else None,
        "audio_duration_ms": r.audio_duration_ms,
        "tts_job_id": r.tts_job_id,
        "updated_at": r.updated_at,
    }


def attachment_out(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "url": photo_url(a.sha256),
        "sha256": a.sha256,
        "content_type": a.content_type,
        "size_bytes": a.size_bytes,
        "width": a.width,
        "height": a.height,
        "caption": a.caption,
        "filename": a.filename,
    }


def bulletin_out(b: Bulletin, area: AdminUnit, principal: Principal, subject: Subject) -> dict[str, Any]:
    return {
        "id": b.id,
        "status": b.status.value,
        "status_label": STATUSES[b.status].label,
        "version": b.version,
        "revision_no": b.revision_no,
        "approved_revision_no": b.approved_revision_no,
        "published_revision_no": b.published_revision_no,
        "kind": b.kind.value,
        "kind_label": KINDS[b.kind].label,
        "title": b.title,
        "body": b.body_markdown,
        "body_html": b.body_html,
        "body_text": b.body_text,
        "priority": b.priority.value,
        "priority_label": PRIORITIES[b.priority].label,
        "topics": [{"code": t.code, "name": t.name} for t in b.topics],
        "area": {"id": area.id, "code": area.code, "name": area.name},
        "organisation": b.organisation,
        "author_id": b.author_id,
        "source_kind": b.source_kind.value,
        "source_label": SOURCES[b.source_kind].label,
        "source_reference": b.source_reference,
        "rights_note": b.rights_note,
        "valid_from": b.valid_from,
        "valid_until": b.valid_until,
        "tags": list(b.tags),
        "review_comment": b.review_comment,
        "renditions": [rendition_out(r) for r in b.renditions],
        "attachments": [attachment_out(a) for a in b.attachments],
        "allowed_actions": [t.action.value for t in allowed_actions(principal, subject)],
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "submitted_at": b.submitted_at,
        "approved_at": b.approved_at,
        "published_at": b.published_at,
    }


def published_out(
    b: Bulletin, revision: BulletinRevision, area: AdminUnit, topic_names: dict[str, str]
) -> dict[str, Any]:
    """The public view of a live revision (what the e-portal shows), from its approved snapshot."""
    snap = revision.snapshot
    return {
        "id": b.id,
        "status": "published",
        "revision_no": revision.number,
        "kind": snap["kind"],
        "kind_label": _kind_label(snap["kind"]),
        "title": snap["title"],
        "body_html": snap["body_html"],
        "body_text": snap["body_text"],
        "priority": snap["priority"],
        "topics": [{"code": c, "name": topic_names.get(c, c)} for c in snap["topics"]],
        "area": {"id": area.id, "code": area.code, "name": area.name},
        "organisation": snap["organisation"],
        "source_kind": snap["source_kind"],
        "source_reference": snap["source_reference"],
        "rights_note": snap["rights_note"],
        "valid_from": snap["valid_from"],
        "valid_until": snap["valid_until"],
        "tags": snap["tags"],
        "published_at": b.published_at,
        "photos": [
            {
                **{k: a[k] for k in ("content_type", "width", "height", "caption", "size_bytes")},
                "url": photo_url(a["sha256"]),
            }
            for a in snap["attachments"]
        ],
        "renditions": [
            {
                "language": lang,
                "language_label": language_label(lang),
                "text": r["text"],
                "audio_url": audio_url(r["audio_sha256"]) if r["audio_sha256"] else None,
                "audio_duration_ms": r["audio_duration_ms"],
                "audio_origin": r["audio_origin"],
            }
            for lang, r in sorted(snap["renditions"].items())
        ],
    }


def _kind_label(value: str) -> str:
    return next((info.label for kind, info in KINDS.items() if kind.value == value), value)

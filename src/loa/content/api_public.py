"""Public routes of the e-portal (no sign-in): the Atom feed of published bulletins and their photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from loa.content import photos, queries, service
from loa.content.api_audio import media as audio_media
from loa.content.atom import Enclosure, FeedEntry, build_atom
from loa.content.catalog import KINDS, LANGUAGES, BulletinKind
from loa.content.richtext import summary
from loa.content.schemas import audio_url, photo_url
from loa.db.base import utcnow
from loa.errors import NotFound
from loa.topics.service import topic_names
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["feeds"])
router.include_router(audio_media)

ATOM_TYPE = "application/atom+xml; charset=utf-8"


@router.get("/feeds/bulletins.atom", response_class=Response)
def bulletins_atom(
    request: Request,
    db: SessionDep,
    topic: str | None = None,
    area: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Atom 1.0 feed of live (published, valid) bulletins; filters ``topic``, ``area``, ``kind``."""
    filters = queries.parse_filters({"topic": topic, "area": area, "kind": kind})
    live = queries.published(db, filters=filters, limit=limit)
    names = topic_names(db, sorted({c for p in live for c in p.content["topics"]}))
    base = str(request.base_url).rstrip("/")
    entries = []
    for p in live:
        snap = p.content
        kind_value = BulletinKind(snap["kind"])
        enclosures = [
            Enclosure(base + photo_url(a["sha256"]), a["content_type"], a["size_bytes"], a["caption"])
            for a in snap["attachments"]
        ]
        for lang, r in sorted(snap["renditions"].items()):
            if r["audio_sha256"]:
                label = LANGUAGES[lang].label if lang in LANGUAGES else lang
                enclosures.append(Enclosure(base + audio_url(r["audio_sha256"]), "audio/mpeg", 0, label))
        entries.append(
            FeedEntry(
                entry_id=f"urn:loa:bulletin:{p.bulletin.id}",
                title=snap["title"],
                updated_at=p.revision.approved_at or p.bulletin.updated_at,
                published_at=p.bulletin.published_at or p.bulletin.updated_at,
                summary=summary(snap["body_text"]),
                content_html=snap["body_html"],
                author=snap["organisation"] or p.area.name,
                link=f"{base}/api/v1/bulletins/{p.bulletin.id}",
                categories=[("kind:" + kind_value.value, KINDS[kind_value].label)]
                + [(c, names.get(c, c)) for c in snap["topics"]],
                enclosures=enclosures,
            )
        )
    body = build_atom(
        entries,
        title="Tin bài đã phát hành — Loa",
        self_url=str(request.url),
        site_url=base + "/",
        updated_at=live[0].bulletin.published_at or utcnow() if live else utcnow(),
    )
    return Response(body, media_type=ATOM_TYPE)


@router.get("/media/bulletin-photos/{sha256}")
def bulletin_photo(sha256: str, request: Request, db: SessionDep, settings: SettingsDep) -> Response:
    """Photos of published bulletins are public; others only for people who may see the bulletin."""
    store = photos.PhotoStore(settings.data_dir / "photos")
    path = store.path(sha256)
    attachment = photos.photo_is_public(db, sha256)
    if attachment is None:
        from loa.accounts.deps import get_api_principal

        attachment = photos.photo_for(db, sha256)
        if attachment is None:
            raise NotFound("Không tìm thấy ảnh.")
        service.get_bulletin(db, principal=get_api_principal(request, db), bulletin_id=attachment.bulletin_id)
    if not path.exists():
        raise NotFound("Không tìm thấy ảnh.")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )

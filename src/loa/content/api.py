"""JSON routes of bulletins (``/api/v1/bulletins``): thin — parse, call the service, commit, respond."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from sqlalchemy.orm import Session

from loa.accounts.deps import ApiPrincipal, get_api_principal
from loa.accounts.principal import Principal
from loa.content import photos, queries, renditions, service
from loa.content.catalog import KINDS, LANGUAGES, PRIORITIES, STATUSES, Status
from loa.content.images import MAX_PHOTO_BYTES
from loa.content.models import Bulletin, BulletinRevision
from loa.content.schemas import (
    BulletinIn,
    BulletinPatch,
    BulletinPut,
    RenditionIn,
    TransitionIn,
    attachment_out,
    bulletin_out,
    published_out,
    rendition_out,
)
from loa.content.uploads import UploadedFile, read_upload
from loa.content.workflow import TRANSITIONS, Action
from loa.errors import InvalidInput
from loa.topics.service import topic_names
from loa.units.models import AdminUnit
from loa.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["bulletins"])


def respond(db: Session, principal: Principal, bulletin: Bulletin) -> dict[str, Any]:
    area = db.get_one(AdminUnit, bulletin.area_id)
    return bulletin_out(bulletin, area, principal, service.subject_of(db, bulletin))


@router.get("/bulletin-vocabulary")
def vocabulary() -> dict[str, Any]:
    """Kinds, priorities, statuses and languages with their Vietnamese labels."""
    return {
        "kinds": [{"code": k.value, "label": v.label} for k, v in KINDS.items()],
        "priorities": [{"code": k.value, "label": v.label, "rank": v.rank} for k, v in PRIORITIES.items()],
        "statuses": [{"code": k.value, "label": v.label} for k, v in STATUSES.items()],
        "languages": [{"code": v.code, "label": v.label, "tts": v.tts} for v in LANGUAGES.values()],
    }


@router.get("/bulletins")
def list_bulletins(
    request: Request,
    db: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    topic: str | None = None,
    area: str | None = None,
    kind: str | None = None,
    priority: str | None = None,
    q: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
) -> dict[str, Any]:
    """``status=published`` is the public e-portal list (approved snapshots, photos with URLs, no
    sign-in); any other listing needs a signed-in user and shows only their areas' bulletins."""
    raw = {"status": status_, "topic": topic, "area": area, "kind": kind, "priority": priority}
    filters = queries.parse_filters({**raw, "q": q, "page": page, "per_page": per_page})
    if filters.status is Status.PUBLISHED:
        live = queries.published(db, filters=filters, limit=filters.per_page)
        codes = sorted({c for p in live for c in p.content["topics"]})
        names = topic_names(db, codes)
        return {
            "items": [published_out(p.bulletin, p.revision, p.area, names) for p in live],
            "total": len(live),
        }
    principal = get_api_principal(request, db)
    result = queries.list_bulletins(db, principal=principal, filters=filters)
    return {
        "items": [respond(db, principal, b) for b in result.items],
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
    }


@router.post("/bulletins", status_code=status.HTTP_201_CREATED)
def create_bulletin(body: BulletinIn, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    bulletin = service.create_bulletin(db, principal=principal, draft=body.draft())
    for rendition in body.renditions:
        renditions.save_text(
            db, principal=principal, bulletin_id=bulletin.id, language=rendition.language, text=rendition.text
        )
    db.commit()
    return respond(db, principal, bulletin)


@router.get("/bulletins/review")
def review_queue(db: SessionDep, principal: ApiPrincipal) -> list[dict[str, Any]]:
    return [respond(db, principal, b) for b in queries.review_queue(db, principal=principal)]


@router.get("/bulletins/{bulletin_id}")
def get_bulletin(bulletin_id: int, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    return respond(db, principal, service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id))


@router.put("/bulletins/{bulletin_id}")
def replace_bulletin(
    bulletin_id: int, body: BulletinPut, db: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    bulletin = service.update_bulletin(
        db, principal=principal, bulletin_id=bulletin_id, draft=body.draft(), expected_version=body.version
    )
    db.commit()
    return respond(db, principal, bulletin)


@router.patch("/bulletins/{bulletin_id}")
def patch_bulletin(
    bulletin_id: int, body: BulletinPatch, db: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    current = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    bulletin = service.update_bulletin(
        db,
        principal=principal,
        bulletin_id=bulletin_id,
        draft=body.merged(current),
        expected_version=body.version,
    )
    db.commit()
    return respond(db, principal, bulletin)


def _step_route(action: Action) -> None:
    """One review step per route (``/submit``, ``/approve``, ``/return`` …), all alike."""

    def step(
        bulletin_id: int,
        db: SessionDep,
        principal: ApiPrincipal,
        body: Annotated[TransitionIn | None, Body()] = None,
    ) -> dict[str, Any]:
        body = body or TransitionIn()
        bulletin = service.transition(
            db,
            principal=principal,
            bulletin_id=bulletin_id,
            action=action,
            comment=body.comment,
            expected_version=body.version,
        )
        db.commit()
        return respond(db, principal, bulletin)

    transition = TRANSITIONS[action]
    router.add_api_route(
        f"/bulletins/{{bulletin_id}}/{action.value}",
        step,
        methods=["POST"],
        name=f"bulletin_{action.value}",
        summary=transition.label,
        description=(
            f"{transition.label}. Body (optional): ``version`` refuses the step if the bulletin changed"
            + ("; ``comment`` is required." if transition.needs_comment else "; ``comment`` optional.")
        ),
    )


for _action in Action:
    _step_route(_action)


@router.post("/bulletins/{bulletin_id}/renditions", status_code=status.HTTP_201_CREATED)
def save_rendition(
    bulletin_id: int, body: RenditionIn, db: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    rendition = renditions.save_text(
        db,
        principal=principal,
        bulletin_id=bulletin_id,
        language=body.language,
        text=body.text,
        expected_version=body.version,
    )
    db.commit()
    return rendition_out(rendition)


def _revision_out(r: BulletinRevision) -> dict[str, Any]:
    return {
        "number": r.number,
        "note": r.note,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "submitted_at": r.sealed_at,
        "approved_at": r.approved_at,
        "approved_by_id": r.approved_by_id,
        "editor_ids": r.editor_ids,
    }


@router.get("/bulletins/{bulletin_id}/revisions")
def list_revisions(bulletin_id: int, db: SessionDep, principal: ApiPrincipal) -> list[dict[str, Any]]:
    return [_revision_out(r) for r in queries.revisions(db, principal=principal, bulletin_id=bulletin_id)]


@router.get("/bulletins/{bulletin_id}/revisions/{number}")
def get_revision(bulletin_id: int, number: int, db: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    for r in queries.revisions(db, principal=principal, bulletin_id=bulletin_id):
        if r.number == number:
            return {**_revision_out(r), "snapshot": r.snapshot}
    raise InvalidInput("Không có phiên bản này.")


@router.get("/bulletins/{bulletin_id}/diff")
def diff(
    bulletin_id: int,
    db: SessionDep,
    principal: ApiPrincipal,
    from_: Annotated[int, Query(alias="from")],
    to: int,
) -> dict[str, Any]:
    fields = queries.revision_diff(db, principal=principal, bulletin_id=bulletin_id, old=from_, new=to)
    return {
        "from": from_,
        "to": to,
        "fields": [
            {
                "field": f.field,
                "label": f.label,
                "changed": f.changed,
                "html": f.html,
                "added_words": f.added_words,
                "removed_words": f.removed_words,
            }
            for f in fields
        ],
    }


@router.get("/bulletins/{bulletin_id}/events")
def list_events(bulletin_id: int, db: SessionDep, principal: ApiPrincipal) -> list[dict[str, Any]]:
    service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    return [
        {
            "action": e.action,
            "from": e.from_status,
            "to": e.to_status,
            "revision_no": e.revision_no,
            "actor": e.actor_name,
            "comment": e.comment,
            "at": e.at,
        }
        for e in queries.events(db, bulletin_id=bulletin_id)
    ]


async def photo_upload(request: Request) -> UploadedFile:
    return await read_upload(request, MAX_PHOTO_BYTES, photos.TOO_LARGE)


@router.post("/bulletins/{bulletin_id}/attachments", status_code=status.HTTP_201_CREATED)
def add_attachment(
    bulletin_id: int,
    db: SessionDep,
    settings: SettingsDep,
    principal: ApiPrincipal,
    upload: Annotated[UploadedFile, Depends(photo_upload)],
) -> dict[str, Any]:
    """A photo (JPEG, PNG or WebP, at most 10 MB) with an optional ``caption`` form field."""
    attachment = photos.add_photo(
        db,
        principal=principal,
        store=photos.PhotoStore(settings.data_dir / "photos"),
        bulletin_id=bulletin_id,
        data=upload.data,
        filename=upload.filename,
        caption=upload.fields.get("caption", ""),
    )
    db.commit()
    return attachment_out(attachment)


@router.delete("/bulletins/{bulletin_id}/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_attachment(bulletin_id: int, attachment_id: int, db: SessionDep, principal: ApiPrincipal) -> None:
    photos.remove_photo(db, principal=principal, bulletin_id=bulletin_id, attachment_id=attachment_id)
    db.commit()


# Audio of renditions (uploads, recordings, TTS jobs) lives in its own module, same URL space.
from loa.content.api_audio import router as _audio_router  # noqa: E402

router.include_router(_audio_router)

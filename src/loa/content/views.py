"""HTML pages of bulletins: the list with filters and search, the editor, review queue, history."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal
from loa.accounts.logic import VIETNAM_TZ, as_vietnam_time, format_vietnam_time
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import scope_units
from loa.areas import picker
from loa.content import photos, queries, renditions, service
from loa.content.api import photo_upload
from loa.content.catalog import (
    AUDIO_ORIGINS,
    KINDS,
    LANGUAGES,
    PRIORITIES,
    SOURCES,
    STATUSES,
)
from loa.content.logic import DraftInput
from loa.content.models import Bulletin
from loa.content.richtext import html_to_text, render_markdown
from loa.content.schemas import audio_url, photo_url
from loa.content.uploads import UploadedFile
from loa.content.workflow import TRANSITIONS, Action, Subject, allowed_actions, check_edit
from loa.errors import Conflict, LoaError
from loa.topics.service import list_topics
from loa.units.models import AdminUnit
from loa.vocab.text import clean_line
from loa.web.deps import Posted, SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "bulletin_flash"
STEP_LABELS: dict[str, str] = {"create": "Tạo bản tin", **{a.value: t.label for a, t in TRANSITIONS.items()}}
FormStr = Annotated[str, Form()]


def vocab() -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "priorities": PRIORITIES,
        "statuses": STATUSES,
        "sources": SOURCES,
        "languages": LANGUAGES,
        "audio_origins": AUDIO_ORIGINS,
        "when": format_vietnam_time,
        "photo_url": photo_url,
        "audio_url": audio_url,
        "active_nav": "bulletins",
        "vn_tz": VIETNAM_TZ,
        "step_labels": STEP_LABELS,
        "reading": None,
    }


flash, pop_flash = flash_pair(FLASH)


def _areas(db: Session, principal: Principal) -> list[AdminUnit]:
    """Areas offered in the editor: the principal's own scope units (admins: provinces and communes)."""
    if principal.is_admin:
        return list(db.scalars(select(AdminUnit).order_by(AdminUnit.path).limit(500)))
    return scope_units(db, principal)


def _local_time(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return as_vietnam_time(datetime.fromisoformat(raw))
    except ValueError:
        return None


def draft_from_form(form: FormData) -> DraftInput:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    return DraftInput(
        title=text("title"),
        body=text("body"),
        kind=text("kind") or "news",
        priority=text("priority") or "normal",
        topics=[v for v in form.getlist("topics") if isinstance(v, str)],
        area_code=text("area_code") or None,
        organisation=text("organisation"),
        source_kind=text("source_kind") or "own",
        source_reference=text("source_reference"),
        rights_note=text("rights_note"),
        valid_from=_local_time(text("valid_from")),
        valid_until=_local_time(text("valid_until")),
        tags=[t for t in text("tags").split(",") if t.strip()],
    )


@router.get("/bulletins")
def bulletin_list(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    raw = {
        k: request.query_params.get(k) for k in ("status", "topic", "kind", "area", "priority", "q", "page")
    }
    typed = (request.query_params.get("area_text") or "").strip()[:200]
    if not raw["area"] and typed:  # typed without choosing (no JavaScript): the name is read
        try:
            raw["area"] = picker.resolve(db, principal, code="", text=typed, kinds=picker.kinds_of(())).code
        except LoaError:
            raw["area"] = typed
    error = None
    try:
        filters = queries.parse_filters(raw)
    except LoaError as err:
        filters, error = queries.Filters(), err.message
    page = queries.list_bulletins(db, principal=principal, filters=filters)
    areas = {
        a.id: a
        for a in db.scalars(select(AdminUnit).where(AdminUnit.id.in_({b.area_id for b in page.items})))
    }
    topics = list_topics(db)
    return render(
        request,
        "content/list.html",
        {
            **vocab(),
            "page": page,
            "areas": areas,
            "topics": topics,
            "filters": filters,
            "raw": raw,
            "area_label": picker.chosen_labels(db, [raw["area"] or ""]).get(raw["area"] or "", ""),
            "error": error,
            "flash": pop_flash(request),
            "can_write": principal.has(Permission.EDIT_CONTENT),
            "can_review": principal.has(Permission.APPROVE_CONTENT),
        },
    )


def editor_context(
    db: Session, principal: Principal, bulletin: Bulletin | None, form: DraftInput | None
) -> dict[str, Any]:
    topics = list_topics(db)
    ctx: dict[str, Any] = {
        **vocab(),
        "bulletin": bulletin,
        "topics": topics,
        "area_choices": _areas(db, principal),
        "form": form,
    }
    if bulletin is not None:
        subject = service.subject_of(db, bulletin)
        revision = service.current_revision(db, bulletin)
        sealed = (revision.snapshot.get("readings") or {}) if revision.sealed_at is not None else {}
        ctx.update(
            # What is approved includes the words a voice says (issue 20, point 1).
            sealed_readings=[
                (LANGUAGES[k].label if k in LANGUAGES else k, v) for k, v in sorted(sealed.items())
            ],
            area=db.get_one(AdminUnit, bulletin.area_id),
            actions=allowed_actions(principal, subject),
            editable=_editable(principal, bulletin, subject),
            events=queries.events(db, bulletin_id=bulletin.id),
            jobs=jobs_of(db, bulletin),
            rendition_languages=[
                lang for lang in LANGUAGES if lang not in {r.language for r in bulletin.renditions}
            ],
        )
    return ctx


def _editable(principal: Principal, bulletin: Bulletin, subject: Subject) -> bool:
    try:
        check_edit(principal, subject)
    except LoaError:
        return False
    return True


@router.get("/bulletins/new")
def bulletin_new(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    ctx = editor_context(db, principal, None, None)
    db.commit()
    return render(request, "content/editor.html", ctx)


@router.post("/bulletins/new")
def bulletin_create(
    request: Request, db: SessionDep, principal: WebPrincipal, _csrf: CsrfProtected, form: Posted
) -> Response:
    draft = draft_from_form(form)
    try:
        bulletin = service.create_bulletin(db, principal=principal, draft=draft)
        db.commit()
    except LoaError as err:
        db.rollback()
        ctx = editor_context(db, principal, None, draft)
        return render(request, "content/editor.html", {**ctx, "error": err}, status_code=err.status)
    flash(request, "Đã tạo bản tin.")
    return RedirectResponse(f"/bulletins/{bulletin.id}", status_code=303)


@router.get("/bulletins/review")
def review(request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    items = queries.review_queue(db, principal=principal)
    areas = {
        a.id: a for a in db.scalars(select(AdminUnit).where(AdminUnit.id.in_({b.area_id for b in items})))
    }
    rows = [(b, areas[b.area_id], allowed_actions(principal, service.subject_of(db, b))) for b in items]
    return render(
        request,
        "content/review.html",
        {
            **vocab(),
            "rows": rows,
            "flash": pop_flash(request),
            "can_review": principal.has(Permission.APPROVE_CONTENT),
        },
    )


@router.post("/bulletins/preview")
def reading_preview(
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    body: FormStr = "",
    title: FormStr = "",
    area_code: FormStr = "",
) -> Response:
    """What the voice will say, and the "khó đọc" list, for the text being written (HTMX fragment),
    with the abbreviation readings of the bulletin's area."""
    from loa.speech.normalize import normalize
    from loa.speech.overrides import preview_overrides

    text = html_to_text(render_markdown(body))
    spoken = f"{clean_line(title)}.\n{text}" if title.strip() else text
    try:
        readings = preview_overrides(db, principal, area_code)
        reading = normalize(spoken, overrides=readings) if spoken.strip() else None
    except LoaError as err:
        return Response(f'<div id="reading-preview" class="flash" role="alert">{escape(err.message)}</div>')
    return render(request, "content/_reading.html", {"reading": reading})


@router.get("/bulletins/{bulletin_id}")
def bulletin_page(bulletin_id: int, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    bulletin = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    ctx = editor_context(db, principal, bulletin, None)
    ctx.update(audio_context(request, db, bulletin))
    db.commit()
    return render(request, "content/editor.html", {**ctx, "flash": pop_flash(request)})


@router.post("/bulletins/{bulletin_id}")
def bulletin_save(
    bulletin_id: int,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    form: Posted,
) -> Response:
    draft = draft_from_form(form)
    version_raw = form.get("version")
    version = int(version_raw) if isinstance(version_raw, str) and version_raw.isdigit() else -1
    try:
        service.update_bulletin(
            db, principal=principal, bulletin_id=bulletin_id, draft=draft, expected_version=version
        )
        db.commit()
    except LoaError as err:
        db.rollback()
        bulletin = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
        conflict = isinstance(err, Conflict)
        ctx = editor_context(db, principal, bulletin, None if conflict else draft)
        ctx.update(audio_context(request, db, bulletin))
        # On a conflict the form shows the newer saved text; the person's own text is kept beside it.
        return render(
            request,
            "content/editor.html",
            {**ctx, "error": err, "unsaved": draft if conflict else None},
            status_code=err.status,
        )
    flash(request, "Đã lưu bản tin.")
    return RedirectResponse(f"/bulletins/{bulletin_id}", status_code=303)


@router.post("/bulletins/{bulletin_id}/step/{action}")
def bulletin_step(
    bulletin_id: int,
    action: Action,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    comment: FormStr = "",
    version: FormStr = "",
    back: FormStr = "",
) -> Response:
    service.transition(
        db,
        principal=principal,
        bulletin_id=bulletin_id,
        action=action,
        comment=comment,
        expected_version=int(version) if version.isdigit() else None,
    )
    db.commit()
    flash(request, TRANSITIONS[action].done)
    target = "/bulletins/review" if back == "review" else f"/bulletins/{bulletin_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/bulletins/{bulletin_id}/revisions")
def bulletin_revisions(
    bulletin_id: int, request: Request, db: SessionDep, principal: WebPrincipal
) -> Response:
    bulletin = service.get_bulletin(db, principal=principal, bulletin_id=bulletin_id)
    revisions = queries.revisions(db, principal=principal, bulletin_id=bulletin_id)
    numbers = [r.number for r in revisions]
    params = request.query_params
    new = int(params["to"]) if params.get("to", "").isdigit() else numbers[-1]
    old = int(params["from"]) if params.get("from", "").isdigit() else max(1, new - 1)
    diff = (
        queries.revision_diff(db, principal=principal, bulletin_id=bulletin_id, old=old, new=new)
        if len(numbers) > 1
        else []
    )
    return render(
        request,
        "content/revisions.html",
        {**vocab(), "bulletin": bulletin, "revisions": revisions, "diff": diff, "old": old, "new": new},
    )


@router.post("/bulletins/{bulletin_id}/renditions")
def rendition_save(
    bulletin_id: int,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    language: FormStr = "",
    text: FormStr = "",
) -> Response:
    renditions.save_text(db, principal=principal, bulletin_id=bulletin_id, language=language, text=text)
    db.commit()
    flash(request, "Đã lưu bản ngôn ngữ.")
    return RedirectResponse(f"/bulletins/{bulletin_id}#renditions", status_code=303)


@router.post("/bulletins/{bulletin_id}/photos")
async def photo_add(
    bulletin_id: int,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    upload: Annotated[UploadedFile, Depends(photo_upload)],
) -> Response:
    photos.add_photo(
        db,
        principal=principal,
        store=photos.PhotoStore(settings.data_dir / "photos"),
        bulletin_id=bulletin_id,
        data=upload.data,
        filename=upload.filename,
        caption=upload.fields.get("caption", ""),
    )
    db.commit()
    flash(request, "Đã thêm ảnh.")
    return RedirectResponse(f"/bulletins/{bulletin_id}#photos", status_code=303)


@router.post("/bulletins/{bulletin_id}/photos/{attachment_id}/delete")
def photo_remove(
    bulletin_id: int,
    attachment_id: int,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
) -> Response:
    photos.remove_photo(db, principal=principal, bulletin_id=bulletin_id, attachment_id=attachment_id)
    db.commit()
    flash(request, "Đã bỏ ảnh.")
    return RedirectResponse(f"/bulletins/{bulletin_id}#photos", status_code=303)


# Audio of renditions: same URL space, own module (imported last: it needs nothing from here).
from loa.content.views_audio import audio_context, jobs_of  # noqa: E402
from loa.content.views_audio import router as _audio_router  # noqa: E402

router.include_router(_audio_router)

"""Bulletin use cases: write, revise, move through review. Functions take the session first and
never commit; every change is written to the audit log in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loa.accounts.audit import record
from loa.accounts.principal import Principal
from loa.accounts.scope import area_path, scope_units
from loa.content.catalog import STATUSES, Status
from loa.content.logic import CONFLICT_MESSAGE, CleanDraft, DraftInput, clean_draft
from loa.content.models import Bulletin, BulletinEvent, BulletinRevision
from loa.content.readings import sealed_readings
from loa.content.richtext import search_key
from loa.content.workflow import Action, Subject, check_create, check_edit, check_transition
from loa.db.base import utcnow
from loa.db.changes import mark_changed
from loa.errors import Conflict, InvalidInput, NotFound
from loa.speech.models import JobStatus, SpeechJob
from loa.topics.models import Topic
from loa.units.models import AdminUnit

NOT_FOUND = "Không tìm thấy bản tin (hoặc bản tin nằm ngoài địa bàn bạn phụ trách)."


# ------------------------------------------------------------------------------------------ topics


def _topics(session: Session, codes: Sequence[str]) -> list[Topic]:
    if not codes:
        return []
    found = {t.code: t for t in session.scalars(select(Topic).where(Topic.code.in_(codes)))}
    missing = [c for c in codes if c not in found or not found[c].active]
    if missing:
        raise InvalidInput(
            f"Chủ đề không có trong danh mục: {', '.join(missing)}.",
            details=[{"field": "topics", "message": "Chủ đề không hợp lệ"}],
        )
    return [found[c] for c in codes]


# -------------------------------------------------------------------------------------- visibility


def _area(session: Session, principal: Principal, code: str | None) -> AdminUnit:
    if code:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        if unit is None:
            raise InvalidInput(
                f"Không tìm thấy địa bàn có mã «{code}».",
                details=[{"field": "area_code", "message": "Mã địa bàn không tồn tại"}],
            )
        return unit
    own = scope_units(session, principal)
    if len(own) == 1:
        return own[0]
    raise InvalidInput(
        "Vui lòng chọn địa bàn của bản tin.",
        details=[{"field": "area_code", "message": "Thiếu địa bàn"}],
    )


def can_view(principal: Principal, path: str, status: Status) -> bool:
    """Own areas fully; published bulletins of higher levels too (they are sent down to communes)."""
    if principal.can_access_path(path):
        return True
    return status is Status.PUBLISHED and principal.can_see_ancestor_path(path)


def get_bulletin(session: Session, *, principal: Principal, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or not can_view(principal, area_path(session, bulletin.area_id), bulletin.status):
        raise NotFound(NOT_FOUND)
    return bulletin


def current_revision(session: Session, bulletin: Bulletin) -> BulletinRevision:
    revision = session.scalar(
        select(BulletinRevision).where(
            BulletinRevision.bulletin_id == bulletin.id, BulletinRevision.number == bulletin.revision_no
        )
    )
    assert revision is not None, "every bulletin has its current revision"
    return revision


def subject_of(session: Session, bulletin: Bulletin) -> Subject:
    revision = current_revision(session, bulletin)
    return Subject(
        status=bulletin.status,
        area_path=area_path(session, bulletin.area_id),
        author_id=bulletin.author_id,
        revision_editor_ids=frozenset(revision.editor_ids),
    )


# ------------------------------------------------------------------------------------- snapshots


def snapshot(bulletin: Bulletin) -> dict[str, Any]:
    """Everything a reviewer approves, as JSON: text, metadata, renditions and photos."""
    return {
        "title": bulletin.title,
        "body_markdown": bulletin.body_markdown,
        "body_html": bulletin.body_html,
        "body_text": bulletin.body_text,
        "kind": bulletin.kind.value,
        "priority": bulletin.priority.value,
        "topics": [t.code for t in bulletin.topics],
        "organisation": bulletin.organisation,
        "area_id": bulletin.area_id,
        "source_kind": bulletin.source_kind.value,
        "source_reference": bulletin.source_reference,
        "rights_note": bulletin.rights_note,
        "valid_from": bulletin.valid_from.isoformat() if bulletin.valid_from else None,
        "valid_until": bulletin.valid_until.isoformat() if bulletin.valid_until else None,
        "tags": list(bulletin.tags),
        "renditions": {
            r.language: {
                "text": r.text,
                "audio_sha256": r.audio_sha256,
                "audio_origin": r.audio_origin.value if r.audio_origin else None,
                "audio_duration_ms": r.audio_duration_ms,
            }
            for r in bulletin.renditions
        },
        "attachments": [
            {
                "id": a.id,
                "sha256": a.sha256,
                "content_type": a.content_type,
                "size_bytes": a.size_bytes,
                "width": a.width,
                "height": a.height,
                "caption": a.caption,
                "filename": a.filename,
            }
            for a in bulletin.attachments
        ],
    }


def refresh_snapshot(session: Session, bulletin: Bulletin) -> BulletinRevision:
    revision = current_revision(session, bulletin)
    revision.snapshot = snapshot(bulletin)
    revision.updated_at = utcnow()
    return revision


def flush_guarded(session: Session, details: dict[str, Any] | None = None) -> None:
    """Flush; a concurrent writer (row version moved under us) becomes a clear 409."""
    try:
        session.flush()
    except StaleDataError as err:
        raise Conflict(CONFLICT_MESSAGE, code="edit_conflict", details=details) from err


def check_version(bulletin: Bulletin, expected: int | None, unsaved: dict[str, Any] | None = None) -> None:
    if expected is not None and expected != bulletin.version:
        raise Conflict(
            CONFLICT_MESSAGE,
            code="edit_conflict",
            details={"current_version": bulletin.version, "your_version": expected, "your_changes": unsaved},
        )


def content_changed(
    session: Session,
    *,
    principal: Principal,
    bulletin: Bulletin,
    note: str,
    unsaved: dict[str, Any] | None = None,
) -> None:
    """Apply the edit rules after any content change (fields, renditions, photos): approved or
    published content starts a new revision in draft; an open revision is updated in place."""
    new_status = check_edit(principal, subject_of(session, bulletin))
    revision = current_revision(session, bulletin)
    now = utcnow()
    if revision.sealed_at is not None:
        bulletin.revision_no += 1
        revision = BulletinRevision(
            bulletin_id=bulletin.id,
            number=bulletin.revision_no,
            snapshot={},
            editor_ids=[],
            note=note,
            created_by_id=principal.user_id,
            created_at=now,
        )
        session.add(revision)
    if principal.user_id not in revision.editor_ids:
        revision.editor_ids = [*revision.editor_ids, principal.user_id]
    bulletin.status = new_status
    bulletin.updated_at = now
    bulletin.version += 1
    mark_changed(session, "bulletin", bulletin.id)
    flush_guarded(session, {"current_version": None, "your_changes": unsaved})
    session.refresh(bulletin, attribute_names=["renditions", "attachments", "topics"])
    revision.snapshot = snapshot(bulletin)
    revision.updated_at = now


# ----------------------------------------------------------------------------------------- writes


def _apply(session: Session, bulletin: Bulletin, draft: CleanDraft, area: AdminUnit) -> None:
    bulletin.title = draft.title
    bulletin.body_markdown = draft.body_markdown
    bulletin.body_html = draft.body_html
    bulletin.body_text = draft.body_text
    bulletin.search_folded = search_key(draft.title, draft.body_text, " ".join(draft.tags))
    bulletin.kind = draft.kind
    bulletin.priority = draft.priority
    bulletin.topics = _topics(session, draft.topic_codes)
    bulletin.organisation = draft.organisation
    bulletin.area_id = area.id
    bulletin.source_kind = draft.source_kind
    bulletin.source_reference = draft.source_reference
    bulletin.rights_note = draft.rights_note
    bulletin.valid_from = draft.valid_from
    bulletin.valid_until = draft.valid_until
    bulletin.tags = list(draft.tags)


def create_bulletin(session: Session, *, principal: Principal, draft: DraftInput) -> Bulletin:
    clean = clean_draft(draft)
    area = _area(session, principal, clean.area_code)
    check_create(principal, area.path)
    now = utcnow()
    bulletin = Bulletin(
        author_id=principal.user_id, status=Status.DRAFT, version=1, revision_no=1, created_at=now
    )
    _apply(session, bulletin, clean, area)
    bulletin.updated_at = now
    session.add(bulletin)
    session.flush()
    session.add(
        BulletinRevision(
            bulletin_id=bulletin.id,
            number=1,
            snapshot=snapshot(bulletin),
            editor_ids=[principal.user_id],
            note="Tạo mới",
            created_by_id=principal.user_id,
            created_at=now,
        )
    )
    _event(session, bulletin, principal, "create", None, Status.DRAFT)
    record(
        session,
        action="bulletin.create",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=area.id,
        details={"title": bulletin.title, "priority": bulletin.priority.value},
    )
    return bulletin


def update_bulletin(
    session: Session, *, principal: Principal, bulletin_id: int, draft: DraftInput, expected_version: int
) -> Bulletin:
    """Save new content. A stale ``expected_version`` is refused (409) with the unsaved text
    returned in the error's details, so nothing typed is lost."""
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    check_version(bulletin, expected_version, draft.as_dict())
    clean = clean_draft(draft)
    area = _area(session, principal, clean.area_code) if clean.area_code else None
    if area is not None and area.id != bulletin.area_id:
        check_create(principal, area.path)
    before = bulletin.status
    _apply(session, bulletin, clean, area or session.get_one(AdminUnit, bulletin.area_id))
    content_changed(
        session, principal=principal, bulletin=bulletin, note="Chỉnh sửa", unsaved=draft.as_dict()
    )
    record(
        session,
        action="bulletin.update",
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={"revision": bulletin.revision_no, "from": before.value, "to": bulletin.status.value},
    )
    return bulletin


def _event(
    session: Session,
    bulletin: Bulletin,
    principal: Principal,
    action: str,
    before: Status | None,
    after: Status,
    comment: str = "",
) -> None:
    session.add(
        BulletinEvent(
            bulletin_id=bulletin.id,
            action=action,
            from_status=before.value if before else "",
            to_status=after.value,
            revision_no=bulletin.revision_no,
            actor_id=principal.user_id,
            actor_name=principal.display_name,
            comment=comment,
        )
    )


AUDIO_PENDING = "Âm thanh của bản tin đang được tạo. Hãy đợi tạo xong rồi gửi duyệt."


def _check_no_audio_pending(session: Session, bulletin: Bulletin) -> None:
    """A speech job still running would change the revision after it is sealed: wait for it."""
    job_ids = [r.tts_job_id for r in bulletin.renditions if r.tts_job_id]
    if job_ids and session.scalar(
        select(SpeechJob.id)
        .where(SpeechJob.id.in_(job_ids), SpeechJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .limit(1)
    ):
        raise Conflict(AUDIO_PENDING, code="audio_pending")


def transition(
    session: Session,
    *,
    principal: Principal,
    bulletin_id: int,
    action: Action,
    comment: str = "",
    expected_version: int | None = None,
) -> Bulletin:
    """Move a bulletin one step through review (rules in ``workflow.TRANSITIONS``)."""
    bulletin = get_bulletin(session, principal=principal, bulletin_id=bulletin_id)
    step = check_transition(action, principal, subject_of(session, bulletin), comment)
    check_version(bulletin, expected_version, {"comment": comment} if comment else None)
    before, now = bulletin.status, utcnow()
    revision = current_revision(session, bulletin)
    comment = comment.strip()
    if action is Action.SUBMIT:
        revision.sealed_at = now
        bulletin.submitted_at = now
        bulletin.review_comment = ""
    elif action is Action.WITHDRAW:
        revision.sealed_at = None
    elif action is Action.APPROVE:
        revision.approved_at, revision.approved_by_id = now, principal.user_id
        bulletin.approved_revision_no = revision.number
        bulletin.approved_at, bulletin.approved_by_id = now, principal.user_id
        bulletin.review_comment = ""
    elif action is Action.RETURN:
        bulletin.review_comment = comment
    elif action is Action.PUBLISH:
        bulletin.published_revision_no = bulletin.approved_revision_no
        bulletin.published_at = now
    elif action is Action.ARCHIVE:
        bulletin.archived_at = now
    if action is Action.SUBMIT:
        # Sealed: what is reviewed, approved and aired (audio, and the words a voice says) is this
        # snapshot; approval does not take it again (issue 20, point 1).
        _check_no_audio_pending(session, bulletin)
        revision.snapshot = {**snapshot(bulletin), "readings": sealed_readings(session, bulletin)}
    bulletin.status = step.target
    bulletin.updated_at = now
    bulletin.version += 1
    flush_guarded(session)
    mark_changed(session, "bulletin", bulletin.id)
    _event(session, bulletin, principal, action.value, before, step.target, comment)
    record(
        session,
        action=step.audit_action,
        actor=principal,
        target_type="bulletin",
        target_id=bulletin.id,
        area_id=bulletin.area_id,
        details={
            "from": before.value,
            "to": step.target.value,
            "revision": revision.number,
            **({"comment": comment} if comment else {}),
        },
    )
    return bulletin


def status_label(status: Status) -> str:
    return STATUSES[status].label

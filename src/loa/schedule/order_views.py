"""Running orders in the page — one airing's, the programme's default and its fallback playlist, all with
one editor: find an approved bulletin by its title, add it, move lines up or down, see the total against
the slot — and one airing's actions: cancel, restore, move to another day and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import ApiPrincipal, WebPrincipal
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import area_path
from loa.areas.logic import fold
from loa.content.catalog import LANGUAGES, Status
from loa.content.models import Bulletin
from loa.content.service import can_view as can_view_bulletin
from loa.db.base import utcnow
from loa.errors import Conflict, InvalidInput, LoaError
from loa.fleet.playable import playable_audio
from loa.schedule import access, checks, hooks, running_orders, service, slots
from loa.schedule import models as m
from loa.schedule.programme_views import flash, pop_flash
from loa.schedule.views import FormPost, PostedForm, base_context
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
MAX_BULLETINS_SEARCHED = 500
MAX_BULLETIN_CHOICES = 12


@dataclass(frozen=True)
class Owner:
    """Whose running order the editor shows: one airing (``key``), or the programme's default or
    fallback playlist."""

    programme_id: int
    key: str | None = None
    fallback: bool = False

    @property
    def url(self) -> str:
        if self.key is not None:
            return f"/schedule/slots/{self.key}"
        return f"/schedule/programmes/{self.programme_id}/{'fallback' if self.fallback else 'running-order'}"

    @property
    def post_url(self) -> str:
        return f"{self.url}/running-order" if self.key is not None else self.url

    def view(self, db: Session, principal: Principal) -> running_orders.RunningOrderView:
        if self.key is not None:
            return running_orders.get_running_order(db, principal=principal, key=self.key)
        return running_orders.get_programme_order(
            db, principal=principal, programme_id=self.programme_id, fallback=self.fallback
        )

    def save(self, db: Session, principal: Principal, items: list[running_orders.ItemInput]) -> None:
        running_orders.set_running_order(
            db,
            principal=principal,
            key=self.key,
            programme_id=None if self.key is not None else self.programme_id,
            items=items,
            now=utcnow(),
            fallback=self.fallback,
        )


def _slot_owner(key: str) -> Owner:
    programme_id, _ = slots.parse_key(key)
    return Owner(programme_id, key)


def _editor(
    request: Request, db: Session, principal: Principal, owner: Owner, *, status_code: int = 200, **extra: Any
) -> Response:
    programme = access.visible_programme(db, principal=principal, programme_id=owner.programme_id)
    view = owner.view(db, principal)
    editable = (
        programme.active
        and principal.has(Permission.OPERATE_STATION)
        and principal.can_access_path(area_path(db, programme.area_id))
    )
    return render(
        request,
        "schedule/running_order.html",
        {
            **base_context(),
            "programme": programme,
            "owner": owner,
            "ro": view,
            "editable": editable,
            "recordings": playable_audio(db, principal) if editable else [],
            "targets": service.programme_targets(db, programme.id),
            "languages": LANGUAGES,
            "flash": pop_flash(request),
            "today": utcnow(),
            **extra,
        },
        status_code=status_code,
    )


def _change(post: FormPost, owner: Owner) -> Response:
    request, db, principal, form, data_dir = (
        post.request,
        post.db,
        post.principal,
        post.form,
        post.settings.data_dir,
    )
    current = owner.view(db, principal)
    items = [
        running_orders.ItemInput(
            line.kind.value,
            line.bulletin_id,
            line.audio_sha256,
            line.title if line.kind is m.ItemKind.RECORDING else "",
        )
        for line in current.lines
    ]
    action = str(form.get("action", ""))
    raw_index = str(form.get("index", ""))
    index = int(raw_index) if raw_index.isdigit() else -1
    try:
        if action == "add_bulletin":
            items.append(running_orders.ItemInput("bulletin", _chosen_bulletin(db, principal, form)))
        elif action == "add_recording":
            sha = str(form.get("audio_sha256", "")).strip()
            title = str(form.get("title", "")).strip() or _recording_title(db, principal, sha)
            items.append(running_orders.ItemInput("recording", None, sha, title))
        elif action == "remove" and 0 <= index < len(items):
            items.pop(index)
        elif action in ("up", "down") and 0 <= index < len(items):
            other = index - 1 if action == "up" else index + 1
            if 0 <= other < len(items):
                items[index], items[other] = items[other], items[index]
        owner.save(db, principal, items)
        hooks.publish(
            db,
            data_dir=data_dir,
            reason=f"slot:{owner.key}" if owner.key else f"programme:{owner.programme_id}",
        )
        db.commit()
    except InvalidInput as err:
        db.rollback()
        return _editor(request, db, principal, owner, error=err.message, status_code=422)
    return _editor(request, db, principal, owner, saved="Đã lưu danh mục phát.")


def _recording_title(db: Session, principal: Principal, sha: str) -> str:
    return next((a.title for a in playable_audio(db, principal, limit=500) if a.sha256 == sha), "")


# --- bulletins by title ---


def _airable(db: Session, principal: Principal) -> list[Bulletin]:
    rows = db.scalars(
        select(Bulletin)
        .where(Bulletin.status.in_((Status.APPROVED, Status.PUBLISHED)))
        .order_by(Bulletin.updated_at.desc())
        .limit(MAX_BULLETINS_SEARCHED)
    )
    return [b for b in rows if can_view_bulletin(principal, area_path(db, b.area_id), b.status)]


def bulletin_choices(db: Session, principal: Principal, query: str) -> list[Bulletin]:
    """Approved bulletins whose title holds every word typed (with or without diacritics)."""
    words = fold(query).split()
    if not words:
        return []
    return [b for b in _airable(db, principal) if all(w in fold(b.title) for w in words)][
        :MAX_BULLETIN_CHOICES
    ]


def _chosen_bulletin(db: Session, principal: Principal, form: Any) -> int:
    """The bulletin chosen in the combobox, or (without JavaScript) the one title typed."""
    raw = str(form.get("bulletin_id", "")).strip()
    if raw.isdigit():
        return int(raw)
    text = str(form.get("bulletin_id_text", "")).strip()
    found = bulletin_choices(db, principal, text) if text else []
    if len(found) == 1:
        return found[0].id
    if not text:
        raise InvalidInput("Hãy gõ tên bản tin rồi chọn trong danh sách.", code="bulletin_missing")
    if not found:
        raise InvalidInput(f"Không có bản tin đã duyệt nào có tên «{text}».", code="bulletin_unknown")
    raise InvalidInput(
        f"Có {len(found)} bản tin khớp với «{text}»: hãy chọn một trong danh sách gợi ý.",
        code="bulletin_ambiguous",
    )


@router.get("/schedule/bulletins/choices")
def bulletins_choices(
    principal: ApiPrincipal, db: SessionDep, q: Annotated[str, Query(max_length=200)] = ""
) -> list[dict[str, str]]:
    """Gợi ý bản tin đã duyệt theo tên, để thêm vào danh mục phát."""
    return [{"value": str(b.id), "label": b.title} for b in bulletin_choices(db, principal, q)]


# --- one airing ---


@router.get("/schedule/slots/{key}")
def slot_page(key: str, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Một buổi phát: danh mục phát (thêm, bớt, sắp xếp), tổng thời lượng so với khung giờ; hủy, dời."""
    slots.get_slot(db, principal=principal, key=key)
    return _editor(request, db, principal, _slot_owner(key))


@router.post("/schedule/slots/{key}/running-order")
def slot_order_post(key: str, post: PostedForm) -> Response:
    return _change(post, _slot_owner(key))


def _back(request: Request, form: Any, key: str) -> str:
    wanted = str(form.get("next", ""))
    return wanted if wanted.startswith("/schedule/") else f"/schedule/slots/{key}"


def _set_cancelled(post: FormPost, key: str, *, cancelled: bool) -> Response:
    """Cancel or restore one airing, publish the manifests it changes, go back where the form came from."""
    db = post.db
    view = slots.set_slot_cancelled(db, principal=post.principal, key=key, cancelled=cancelled, now=utcnow())
    hooks.publish(db, data_dir=post.settings.data_dir, reason=f"slot:{key}")
    db.commit()
    done = "hủy" if cancelled else "khôi phục"
    flash(post.request, f"Đã {done} buổi phát lúc {view.start_local:%H:%M ngày %d/%m/%Y}.")
    return RedirectResponse(_back(post.request, post.form, key), status_code=303)


@router.post("/schedule/slots/{key}/cancel")
def slot_cancel(key: str, post: PostedForm) -> Response:
    return _set_cancelled(post, key, cancelled=True)


@router.post("/schedule/slots/{key}/restore")
def slot_restore(key: str, post: PostedForm) -> Response:
    return _set_cancelled(post, key, cancelled=False)


@router.post("/schedule/slots/{key}/move")
def slot_move(key: str, post: PostedForm) -> Response:
    """Dời một buổi phát sang ngày, giờ khác; trùng lịch thì hỏi lại, không tự xử lý."""
    request, db, principal, settings, form = post.request, post.db, post.principal, post.settings, post.form
    owner = _slot_owner(key)
    moved_to = f"{form.get('date', '')}T{form.get('time', '')}"
    try:
        try:
            new_start = datetime.strptime(moved_to, "%Y-%m-%dT%H:%M")
        except ValueError as err:
            raise InvalidInput("Hãy chọn ngày và giờ phát mới.", code="start_invalid") from err
        view, _outcome = slots.move_slot(
            db,
            principal=principal,
            key=key,
            new_start_local=new_start,
            accept=checks.parse_accept(str(form.get("accept", "")) or None),
            now=utcnow(),
        )
        hooks.publish(db, data_dir=settings.data_dir, reason=f"slot:{key}")
        db.commit()
    except Conflict as err:
        db.rollback()
        conflicts = (err.details or {}).get("conflicts", []) if isinstance(err.details, dict) else []
        move = {"date": str(form.get("date", "")), "time": str(form.get("time", ""))}
        return _editor(
            request, db, principal, owner, error=err.message, conflicts=conflicts, move=move, status_code=409
        )
    except LoaError as err:
        db.rollback()
        return _editor(request, db, principal, owner, error=err.message, status_code=err.status)
    flash(request, f"Đã dời buổi phát sang {view.start_local:%H:%M ngày %d/%m/%Y}.")
    return RedirectResponse(f"/schedule/slots/{key}", status_code=303)


# --- the programme's default running order and fallback playlist ---


@router.get("/schedule/programmes/{programme_id:int}/running-order")
def default_order_page(
    programme_id: int, request: Request, db: SessionDep, principal: WebPrincipal
) -> Response:
    """Danh mục phát mặc định: dùng cho mọi buổi phát không có danh mục riêng."""
    return _editor(request, db, principal, Owner(programme_id))


@router.post("/schedule/programmes/{programme_id:int}/running-order")
def default_order_post(programme_id: int, post: PostedForm) -> Response:
    return _change(post, Owner(programme_id))


@router.get("/schedule/programmes/{programme_id:int}/fallback")
def fallback_page(programme_id: int, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Danh mục dự phòng: phát ở mức nền trong buổi không có nội dung, không ngắt nội dung nào."""
    return _editor(request, db, principal, Owner(programme_id, fallback=True))


@router.post("/schedule/programmes/{programme_id:int}/fallback")
def fallback_post(programme_id: int, post: PostedForm) -> Response:
    return _change(post, Owner(programme_id, fallback=True))

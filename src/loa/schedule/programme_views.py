"""A programme's own page (when it airs, where, its default running order and fallback playlist, its next
airings with cancel / restore / move), its edit form and ending it; the "Nơi phát" combobox's options."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import ApiPrincipal, CsrfProtected, WebPrincipal
from loa.accounts.principal import Permission
from loa.accounts.scope import area_path
from loa.content.catalog import LANGUAGES
from loa.db.base import utcnow
from loa.errors import LoaError
from loa.schedule import access, checks, formedit, forms, hooks, running_orders, service, slots, targetpick
from loa.schedule.recurrence import to_local
from loa.schedule.views import (
    PostedForm,
    base_context,
    posted_values,
    programme_form,
    refused,
    with_typed_target,
)
from loa.topics.models import Topic
from loa.web.deps import SessionDep, SettingsDep
from loa.web.flash import flash_pair
from loa.web.templating import render

router = APIRouter(include_in_schema=False)
UPCOMING_DAYS = 14
FLASH = "schedule_flash"
flash, pop_flash = flash_pair(FLASH)


@router.get("/schedule/programmes/{programme_id:int}")
def programme_page(programme_id: int, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    """Một chương trình: lịch phát, nơi phát, danh mục mặc định, danh mục dự phòng, các buổi sắp tới."""
    programme = access.visible_programme(db, principal=principal, programme_id=programme_id)
    today = to_local(utcnow()).date()
    upcoming = (
        slots.list_slots(
            db,
            principal=principal,
            programme_id=programme.id,
            from_date=today,
            to_date=today + timedelta(days=UPCOMING_DAYS),
        )
        if programme.active
        else []
    )
    editable = principal.has(Permission.OPERATE_STATION) and principal.can_access_path(
        area_path(db, programme.area_id)
    )
    return render(
        request,
        "schedule/programme.html",
        {
            **base_context(),
            "programme": programme,
            "recurrence_text": service.describe_recurrence(programme),
            "targets": service.programme_targets(db, programme.id),
            "languages": LANGUAGES,
            "default_order": running_orders.get_programme_order(
                db, principal=principal, programme_id=programme.id
            ),
            "fallback": running_orders.get_programme_order(
                db, principal=principal, programme_id=programme.id, fallback=True
            ),
            "upcoming": upcoming,
            "upcoming_days": UPCOMING_DAYS,
            "now_local": to_local(utcnow()),
            "editable": editable and programme.active,
            "flash": pop_flash(request),
        },
    )


@router.get("/schedule/programmes/{programme_id:int}/edit")
def edit_programme(programme_id: int, request: Request, db: SessionDep, principal: WebPrincipal) -> Response:
    programme = access.editable_programme(db, principal=principal, programme_id=programme_id)
    values = formedit.values_of(programme, service.programme_targets(db, programme.id))
    return programme_form(request, db, principal, values, programme=programme)


@router.post("/schedule/programmes/{programme_id:int}/edit")
def edit_programme_post(programme_id: int, post: PostedForm) -> Response:
    request, db, principal, settings, form = post.request, post.db, post.principal, post.settings, post.form
    programme = access.editable_programme(db, principal=principal, programme_id=programme_id)
    values = posted_values(form)
    kind = values.get("rule_kind", "")
    try:
        values = with_typed_target(db, principal, values)
        # "keep the current schedule": the form reads only the other fields; the stored rule is kept.
        read = {**values, "rule_kind": "once"} if kind == formedit.KEEP else values
        topic = db.get(Topic, programme.topic_id) if programme.topic_id else None
        data = formedit.keeping(
            forms.programme_from_form(read), programme, kind, topic_code=topic.code if topic else None
        )
        version = values.get("version", "")
        service.update_programme(
            db,
            principal=principal,
            programme_id=programme.id,
            data=data,
            expected_version=int(version) if version.isdigit() else None,
            accept=checks.parse_accept(values.get("accept")),
            now=utcnow(),
        )
        hooks.publish(db, data_dir=settings.data_dir, reason=f"programme:{programme.id}")
        db.commit()
    except LoaError as err:
        return refused(request, db, principal, values, err, programme)
    flash(request, "Đã lưu chương trình.")
    return RedirectResponse(f"/schedule/programmes/{programme.id}", status_code=303)


@router.post("/schedule/programmes/{programme_id:int}/end")
def end_programme(
    programme_id: int,
    request: Request,
    db: SessionDep,
    principal: WebPrincipal,
    settings: SettingsDep,
    _: CsrfProtected,
) -> Response:
    """Kết thúc chương trình: gỡ khỏi mọi lịch phát sắp tới; lịch sử và báo cáo vẫn giữ."""
    programme = service.cancel_programme(db, principal=principal, programme_id=programme_id, now=utcnow())
    hooks.publish(db, data_dir=settings.data_dir, reason=f"programme:{programme.id}")
    db.commit()
    flash(request, "Đã kết thúc chương trình: các buổi phát sắp tới đã được gỡ khỏi lịch của cụm loa.")
    return RedirectResponse(f"/schedule/programmes/{programme.id}", status_code=303)


@router.get("/schedule/targets/choices")
def target_choices(
    principal: ApiPrincipal, db: SessionDep, q: Annotated[str, Query(max_length=100)] = ""
) -> list[dict[str, str]]:
    """Gợi ý nơi phát theo tên: tỉnh, xã, thôn, đài, nhóm thiết bị, cụm loa."""
    return [{"value": c.value, "label": c.label} for c in targetpick.target_choices(db, principal, q)]

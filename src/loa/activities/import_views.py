"""The look at an upload before its duplicate rows are imported: the rows that repeat a record of the
register or an earlier row of the file, each with a box to tick; "Nhập" imports the fresh rows and the
ticked ones (all of them with "nhập cả các dòng trùng"), "Hủy" imports nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.activities import forms, imports, views
from loa.activities.registers import get_register
from loa.errors import Conflict
from loa.web.deps import Posted, SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/activities/{register}/imports/{import_id:int}")
def import_preview(
    register: str, import_id: int, request: Request, principal: WebPrincipal, db: SessionDep
) -> Response:
    """The rows of a waiting upload that repeat records or each other, to tick before importing."""
    spec = get_register(register)
    try:
        preview = imports.preview_import(db, spec=spec, principal=principal, import_id=import_id)
    except Conflict as err:
        db.rollback()
        views.flash(request, err.message)
        return RedirectResponse(f"/activities/{spec.key}", status_code=303)
    db.rollback()  # a look only (the row lock of a confirmation is not needed here)
    context = {
        **views.vocabulary(db, principal),
        "spec": spec,
        "tab": forms.TAB_BY_KEY[spec.key],
        "preview": preview,
    }
    return render(request, "activities/import_preview.html", context)


@router.post("/activities/{register}/imports/{import_id:int}")
def import_confirm(
    register: str,
    import_id: int,
    request: Request,
    principal: WebPrincipal,
    _csrf: CsrfProtected,
    db: SessionDep,
    posted: Posted,
) -> Response:
    spec = get_register(register)
    try:
        if posted.get("action") == "cancel":
            imports.cancel_import(
                db, spec=spec, principal=principal, import_id=import_id, ip=client_ip(request)
            )
            done = "Đã hủy nhập tệp; không nhập dòng nào."
        else:
            rows = {int(v) for v in posted.getlist("row") if isinstance(v, str) and v.isdigit()}
            result = imports.confirm_import(
                db,
                spec=spec,
                principal=principal,
                import_id=import_id,
                include_rows=rows,
                include_all=posted.get("include_all") == "1",
                ip=client_ip(request),
            )
            done = views.imported_text(spec, result)
    except Conflict as err:
        db.rollback()
        done = err.message
    else:
        db.commit()
    views.flash(request, done)
    return RedirectResponse(f"/activities/{spec.key}", status_code=303)

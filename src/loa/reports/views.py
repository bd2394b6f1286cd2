"""HTML pages of saved reports: the list (who, when, period, downloads), the "Lập báo cáo" form
(starting from the previous report's text), the report page with its figures, the rows behind each
figure (from the saved snapshot) and the file downloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from loa.accounts.deps import CsrfProtected, WebPrincipal, client_ip
from loa.accounts.logic import format_vietnam_time
from loa.accounts.models import User
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import require, visible_unit
from loa.activities import browse
from loa.areas import picker
from loa.areas.models import AdminUnit, UnitKind
from loa.errors import LoaError, NotFound
from loa.reports import service
from loa.reports.airtime import BULLETIN_PREFIX, PROGRAMME_PREFIX, parse_row_ref
from loa.reports.data import PROSE_SECTIONS, ChannelSection, ReportData
from loa.reports.models import Report
from loa.reports.pdf import pdf_available
from loa.reports.rollup import REGISTER_OF_CHANNEL, find_figure
from loa.reports.webform import (
    ASSESSMENT_HINT,
    CONTENTS_HINT,
    PROSE_HINTS,
    ReportForm,
    check,
    starting_form,
)
from loa.reports.wording import capitalise, hours_text
from loa.topics.service import get_topic, list_topics
from loa.vocab.dates import vn_date
from loa.vocab.numbers import count_text, decimal_text, number_text, percent_text
from loa.vocab.period import Period
from loa.vocab.periodform import choice_groups, year_choices
from loa.web.deps import SessionDep
from loa.web.templating import render

router = APIRouter(include_in_schema=False)

FLASH = "reports_flash"


async def read_form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(read_form)]


def _pop_flash(request: Request) -> str | None:
    value = request.session.pop(FLASH, None)
    return value if isinstance(value, str) else None


def cell_text(value: object, kind: str) -> str:
    """A snapshot cell as a person reads it (dates stored as ISO strings, decimals with a comma)."""
    if value is None or value == "":
        return ""
    if kind == "date" and isinstance(value, str):
        try:
            return vn_date(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, float):
        return decimal_text(value)
    if isinstance(value, int):
        return count_text(value) if kind != "money" else f"{number_text(value)} đ"
    return str(value)


ROW_LINKS = {BULLETIN_PREFIX: "/bulletins/{id}", PROGRAMME_PREFIX: "/schedule"}


def row_href(channel: str, row_id: int | str) -> str:
    """Where the record behind a detail row lives now: a register entry, a bulletin, the schedule."""
    ref = parse_row_ref(row_id)
    if ref is not None:
        return ROW_LINKS[ref[0]].format(id=ref[1])
    return f"/activities/{REGISTER_OF_CHANNEL[channel]}/{row_id}"


def helpers() -> dict[str, Any]:
    return {
        "row_href": row_href,
        "pct": percent_text,
        "hours": hours_text,
        "when": format_vietnam_time,
        "cell_text": cell_text,
        "count_text": count_text,
        "register_of": REGISTER_OF_CHANNEL,
        "cap": capitalise,
    }


def _creators(session: Session, reports: list[Report]) -> dict[int, str]:
    ids = {r.created_by_id for r in reports if r.created_by_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


@router.get("/reports")
def reports_page(request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    reports = service.list_reports(db, principal=principal)
    rows = [(r, service.report_data(r), Period.from_json(r.parameters["period"])) for r in reports]
    return render(
        request,
        "reports/list.html",
        {
            "active_nav": "reports",
            "rows": rows,
            "creators": _creators(db, reports),
            "can_write": principal.has(Permission.MAKE_REPORTS),
            "pdf_ready": pdf_available(),
            "flash": _pop_flash(request),
            **helpers(),
        },
    )


def _unit_code(session: Session, unit_id: int) -> tuple[str, bool]:
    unit = session.get(AdminUnit, unit_id)
    if unit is None:
        return "", False
    return unit.code, unit.kind is UnitKind.DISTRICT


def _initial_form(session: Session, principal: Principal, source: Report | None) -> ReportForm:
    """From ``source`` (organisation, topic, prose, area) when given; else from the user's area."""
    today = date.today()
    if source is None:
        unit = browse.default_area(session, principal)
        organisation = service.default_organisation(unit) if unit is not None else None
        return starting_form(today=today, area_code=unit.code if unit else "", organisation=organisation)
    code, is_district = _unit_code(session, source.area_id)
    form = starting_form(today=today, previous=service.report_data(source), previous_prose=source.prose)
    return replace(form, area="" if is_district else code, former_district=code if is_district else "")


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    form: ReportForm,
    *,
    source: Report | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    drafted: bool = False,
) -> Response:
    context = {
        "active_nav": "reports",
        "form": form,
        "source": source,
        "source_data": service.report_data(source) if source is not None else None,
        "errors": errors or {},
        "error": error,
        "period_groups": choice_groups(),
        "years": year_choices(date.today()),
        "topics": list_topics(session),
        "area_labels": picker.chosen_labels(session, [form.area, form.former_district]),
        "prose_sections": PROSE_SECTIONS,
        "prose_hints": PROSE_HINTS,
        "contents_hint": CONTENTS_HINT,
        "assessment_hint": ASSESSMENT_HINT,
        "drafted": drafted,
        "pdf_ready": pdf_available(),
        **helpers(),
    }
    return render(request, "reports/form.html", context, status_code=status)


@router.get("/reports/new")
def new_report(
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    source: Annotated[int | None, Query(alias="from", ge=1)] = None,
    blank: bool = False,
) -> Response:
    require(principal, Permission.MAKE_REPORTS)
    if source is not None:
        base: Report | None = service.get_report(db, principal=principal, report_id=source)
    elif blank:
        base = None
    else:
        latest = service.list_reports(db, principal=principal, limit=1)
        base = latest[0] if latest else None
    return _form_page(request, db, principal, _initial_form(db, principal, base), source=base)


TYPED_AREAS = (("area", ("province", "commune")), ("former_district", ("district",)))


def _typed_areas(
    session: Session, principal: Principal, form: ReportForm, posted: FormData
) -> tuple[ReportForm, dict[str, str]]:
    """Without JavaScript the area is typed, not chosen: read the name (one match only)."""
    errors: dict[str, str] = {}
    for name, kinds in TYPED_AREAS:
        typed = str(posted.get(f"{name}_text") or "")
        if getattr(form, name).strip() or not typed.strip():
            continue
        try:
            unit = picker.resolve(session, principal, code="", text=typed, kinds=picker.kinds_of(kinds))
        except LoaError as err:
            errors[name] = err.message
            continue
        form = replace(form, **{name: unit.code})
    return form, errors


def _root_id(session: Session, principal: Principal, form: ReportForm, errors: dict[str, str]) -> int | None:
    """The unit the report covers: the former district when one is given, else the area."""
    for name in ("former_district", "area"):
        code = getattr(form, name).strip()
        if not code:
            continue
        try:
            unit = visible_unit(session, principal, code=code)
        except LoaError as err:
            errors[name] = err.message
            return None
        if name == "former_district" and unit.kind is not UnitKind.DISTRICT:
            errors[name] = f"{unit.name} không phải là huyện cũ."
            return None
        return unit.id
    return None


@router.post("/reports")
def generate(
    request: Request, principal: WebPrincipal, _csrf: CsrfProtected, db: SessionDep, posted: Posted
) -> Response:
    form, typed_errors = _typed_areas(db, principal, ReportForm.from_posted(posted.get), posted)
    checked = check(form, today=date.today())
    errors = {**dict(checked.errors), **typed_errors}
    root_id = _root_id(db, principal, form, errors)
    if form.topic:
        try:
            get_topic(db, form.topic)
        except LoaError as err:
            errors["topic"] = err.message
    if errors or checked.period is None or root_id is None:
        db.rollback()
        message = "Chưa lập được báo cáo: vui lòng sửa các mục được đánh dấu."
        return _form_page(request, db, principal, form, errors=errors, error=message, status=422)
    report_request = service.ReportRequest(
        period=checked.period,
        area_id=root_id,
        issued_on=checked.issued_on or date.today(),
        topic_code=form.topic or None,
        organisation=checked.organisation,
        number=form.number.strip(),
        summary=form.summary.strip(),
        introduction=form.introduction.strip(),
        prose={k: v.strip() for k, v in form.prose.items()},
        contents=form.contents.strip(),
        assessment=form.edited_assessment,
    )
    if posted.get("action") == "draft":
        return _draft_page(request, db, principal, form, report_request)
    try:
        report = service.generate_report(
            db,
            principal=principal,
            request=report_request,
            with_pdf=bool(form.with_pdf) and pdf_available(),
            ip=client_ip(request),
        )
    except LoaError as err:
        db.rollback()
        return _form_page(request, db, principal, form, error=err.message, status=err.status)
    db.commit()
    request.session[FLASH] = f"Đã lập «{report.title}»."
    return RedirectResponse(f"/reports/{report.id}", status_code=303)


def _draft_page(
    request: Request, session: Session, principal: Principal, form: ReportForm, wanted: service.ReportRequest
) -> Response:
    """The form again, its assessment replaced by the one drafted from the figures; nothing saved."""
    try:
        text, _ = service.draft_assessment(session, principal=principal, request=wanted)
    except LoaError as err:
        session.rollback()
        return _form_page(request, session, principal, form, error=err.message, status=err.status)
    session.rollback()
    form = replace(form, assessment=text, assessment_draft=text)
    return _form_page(request, session, principal, form, drafted=True)


@router.get("/reports/{report_id:int}")
def report_page(report_id: int, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    report = service.get_report(db, principal=principal, report_id=report_id)
    data = service.report_data(report)
    return render(
        request,
        "reports/report.html",
        {
            "active_nav": "reports",
            "report": report,
            "data": data,
            "creator": _creators(db, [report]).get(report.created_by_id or 0, ""),
            "formats": {f.format for f in report.files},
            "pdf_ready": pdf_available(),
            "prose_sections": PROSE_SECTIONS,
            "can_write": principal.has(Permission.MAKE_REPORTS),
            "flash": _pop_flash(request),
            **helpers(),
        },
    )


def rows_of(section: ChannelSection, ids: tuple[int | str, ...]) -> list[Any]:
    wanted = set(ids)
    return [r for r in section.rows if r.id in wanted]


@router.get("/reports/{report_id:int}/rows")
def report_rows(
    report_id: int,
    request: Request,
    principal: WebPrincipal,
    db: SessionDep,
    figure: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The rows behind one figure of a saved report, as they were when the report was made."""
    report = service.get_report(db, principal=principal, report_id=report_id)
    data: ReportData = service.report_data(report)
    channel = data.channel(figure.split(".", 1)[0])
    found = find_figure(channel.figures, figure) if channel is not None else None
    if channel is None or found is None:
        raise NotFound("Không có số liệu này trong báo cáo.")
    return render(
        request,
        "reports/rows.html",
        {
            "active_nav": "reports",
            "heading": f"{channel.title}: {found.label}",
            "context_line": (
                f"{report.title} — số liệu lưu khi lập báo cáo lúc {format_vietnam_time(report.created_at)}"
            ),
            "back_href": f"/reports/{report.id}",
            "back_label": "Về báo cáo",
            "figure": found,
            "section": channel,
            "rows": rows_of(channel, found.row_ids),
            **helpers(),
        },
    )


@router.get("/reports/{report_id:int}/files/{fmt}")
def download(report_id: int, fmt: str, request: Request, principal: WebPrincipal, db: SessionDep) -> Response:
    stored = service.report_file(db, principal=principal, report_id=report_id, fmt=fmt, ip=client_ip(request))
    db.commit()  # the audit event, and a PDF made on first ask
    report = service.get_report(db, principal=principal, report_id=report_id)
    media_type, _ = service.FORMATS[fmt]
    return Response(
        stored.content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{service.file_name(report, fmt)}"',
            "X-Content-SHA256": stored.sha256,
        },
    )

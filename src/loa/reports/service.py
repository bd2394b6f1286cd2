"""Generate, save and serve reports. A report is saved with the parameters and prose a person chose,
the data snapshot (``ReportData`` JSON) it was made from, and its files with SHA-256, so every figure in
a document can be traced to the records behind it even after those records change."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from loa.accounts import audit
from loa.accounts.principal import Permission, Principal
from loa.accounts.scope import in_scope, require
from loa.areas.logic import UNIT_KINDS, display_name
from loa.areas.models import AdminUnit
from loa.errors import Conflict, InvalidInput, NotFound
from loa.reports.airdata import Airtime
from loa.reports.assessment import Comparison, draft_text, period_figures, previous_period
from loa.reports.data import PROSE_SECTIONS, ChannelSection, Organisation, ReportData, Topic
from loa.reports.docx_writer import render_docx
from loa.reports.gcpause import paused_gc
from loa.reports.models import Report, ReportFile
from loa.reports.pdf import docx_to_pdf
from loa.reports.statistics import former_areas, gather, resolve_root, sections_of
from loa.reports.xlsx_writer import render_xlsx
from loa.topics.service import get_topic
from loa.vocab.numbers import number_text
from loa.vocab.period import Period
from loa.vocab.text import fold

FORMATS: dict[str, tuple[str, str]] = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "pdf": ("application/pdf", "PDF"),
}
PROSE_KEYS = frozenset(k for k, _ in PROSE_SECTIONS)
# The texts a person writes, by the name a person knows them by (never the field's key).
TEXT_TITLES: dict[str, str] = {
    "introduction": "Mở đầu",
    "contents": "Nội dung tuyên truyền chủ yếu",
    "assessment": "Đánh giá chung",
    **dict(PROSE_SECTIONS),
}
MAX_PROSE_CHARS = 20_000


@dataclass(frozen=True)
class ReportRequest:
    period: Period
    area_id: int
    issued_on: date
    topic_code: str | None = None
    organisation: Organisation | None = None  # None → derived from the area
    number: str = ""
    summary: str = ""
    introduction: str = ""
    prose: Mapping[str, str] = field(default_factory=dict)
    contents: str = ""  # section I: the main contents put across, one per line
    assessment: str | None = None  # section I's assessment as edited; None or blank: the draft


def place_name(unit: AdminUnit) -> str:
    """'Xã Ba Tơ' → 'Ba Tơ' (the place name of the date line)."""
    label = UNIT_KINDS[unit.kind].label
    name = unit.name
    if fold(name).startswith(fold(label) + " "):
        return name[len(label) + 1 :]
    return name


def default_organisation(unit: AdminUnit) -> Organisation:
    """A starting point the user edits: 'UBND XÃ BA TƠ' issuing as 'VĂN PHÒNG HĐND VÀ UBND'."""
    full = display_name(unit.kind, unit.name)
    return Organisation(
        parent_name=f"UBND {full}".upper(),
        name="VĂN PHÒNG HĐND VÀ UBND",
        place=place_name(unit),
        short_code="VP",
        prose_name="Đơn vị",
        signer_title="CHÁNH VĂN PHÒNG",
        recipients=(f"UBND {full}",),
    )


def _check_text(request: ReportRequest) -> None:
    unknown = set(request.prose) - PROSE_KEYS
    if unknown:
        raise InvalidInput(f"Mục nội dung không hợp lệ: {', '.join(sorted(unknown))}.")
    texts = {
        **request.prose,
        "introduction": request.introduction,
        "contents": request.contents,
        "assessment": request.assessment or "",
    }
    for key, text in texts.items():
        if len(text) > MAX_PROSE_CHARS:
            raise InvalidInput(
                f"Mục «{TEXT_TITLES[key]}» quá dài (tối đa {number_text(MAX_PROSE_CHARS)} ký tự).",
                details=[{"field": key}],
            )


def build_report_data(
    session: Session, *, principal: Principal, request: ReportRequest, now: datetime | None = None
) -> ReportData:
    """``now``: the moment the figures are taken (default: now)."""
    _check_text(request)
    with paused_gc():
        return _build(session, principal=principal, request=request, now=now)


def _build(
    session: Session, *, principal: Principal, request: ReportRequest, now: datetime | None
) -> ReportData:
    root = resolve_root(session, principal, request.area_id)
    topic = None
    if request.topic_code:
        t = get_topic(session, request.topic_code)
        topic = Topic(t.code, t.name, t.abbreviation)
    gathered = gather(
        session,
        principal=principal,
        period=request.period,
        area_id=root.id,
        topic_code=request.topic_code,
        now=now,
    )
    airtime = gathered.system.airtime
    channels = sections_of(gathered)
    edited = (request.assessment or "").strip()
    comparison = None
    if not edited:
        comparison = _comparison(session, principal, request, root.id, channels, airtime, now)
    return ReportData(
        period=request.period,
        organisation=request.organisation or default_organisation(root),
        topic=topic,
        area_name=display_name(root.kind, root.name),
        channels=channels,
        issued_on=request.issued_on,
        number=request.number,
        summary=request.summary,
        introduction=request.introduction,
        prose={k: v for k, v in request.prose.items() if v.strip()},
        airtime=None if airtime.is_empty else airtime,
        former=tuple(f for f in former_areas(gathered) if not f.is_empty),
        contents=request.contents.strip(),
        assessment=edited or (draft_text(comparison) if comparison is not None else ""),
        assessment_drafted=not edited,
        comparison=comparison,
    )


def _comparison(
    session: Session,
    principal: Principal,
    request: ReportRequest,
    root_id: int,
    channels: Sequence[ChannelSection],
    airtime: Airtime,
    now: datetime | None,
) -> Comparison:
    """The report's radio figures beside those of the previous period of the same length, counted
    by the same rules as of the same moment."""
    before = previous_period(request.period)
    previous = gather(
        session,
        principal=principal,
        period=before,
        area_id=root_id,
        topic_code=request.topic_code,
        now=now or airtime.as_of,
    )
    radio = next((c for c in channels if c.key == "radio"), None)
    previous_radio = next((c for c in sections_of(previous) if c.key == "radio"), None)
    return Comparison(
        period_figures(request.period, radio, airtime),
        period_figures(before, previous_radio, previous.system.airtime),
    )


def draft_assessment(
    session: Session, *, principal: Principal, request: ReportRequest, now: datetime | None = None
) -> tuple[str, Comparison]:
    """The drafted assessment of the report ``request`` asks for, to show before it is made."""
    require(principal, Permission.MAKE_REPORTS)
    data = build_report_data(session, principal=principal, request=replace(request, assessment=None), now=now)
    assert data.comparison is not None  # drafted: no edited text was given
    return data.assessment, data.comparison


def _file(fmt: str, content: bytes) -> ReportFile:
    return ReportFile(
        format=fmt, sha256=hashlib.sha256(content).hexdigest(), size_bytes=len(content), content=content
    )


def generate_report(
    session: Session,
    *,
    principal: Principal,
    request: ReportRequest,
    with_pdf: bool = False,
    ip: str = "",
    now: datetime | None = None,
) -> Report:
    """Collect the figures as of ``now`` (default: now), write DOCX and XLSX (and PDF when asked),
    save everything, audit who made it. Flushes only."""
    require(principal, Permission.MAKE_REPORTS)
    data = build_report_data(session, principal=principal, request=request, now=now)
    docx = render_docx(data)
    files = [_file("docx", docx), _file("xlsx", render_xlsx(data))]
    if with_pdf:
        files.append(_file("pdf", docx_to_pdf(docx)))
    report = Report(
        title=f"Báo cáo {data.title_summary}",
        period_kind=request.period.kind.value,
        period_start=request.period.start,
        period_end=request.period.end,
        topic_code=request.topic_code or None,
        area_id=request.area_id,
        parameters={
            "period": request.period.to_json(),
            "area_id": request.area_id,
            "topic_code": request.topic_code,
            "issued_on": request.issued_on.isoformat(),
            "number": request.number,
            "summary": request.summary,
        },
        prose={
            **dict(request.prose),
            "introduction": request.introduction,
            "contents": request.contents,
            **({"assessment": data.assessment} if not data.assessment_drafted else {}),
        },
        snapshot=data.to_json(),
        created_by_id=principal.user_id or None,
        files=files,
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        action="report.generate",
        actor=principal,
        target_type="report",
        target_id=report.id,
        area_id=report.area_id,
        details={"title": report.title, "formats": [f.format for f in files]},
        ip=ip,
    )
    return report


def list_reports(session: Session, *, principal: Principal, limit: int = 100) -> list[Report]:
    require(principal, Permission.VIEW)
    query = (
        select(Report)
        .join(AdminUnit, AdminUnit.id == Report.area_id)
        .where(in_scope(principal, AdminUnit.path))
        .options(selectinload(Report.files))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def get_report(session: Session, *, principal: Principal, report_id: int) -> Report:
    require(principal, Permission.VIEW)
    report: Report | None = session.scalar(
        select(Report)
        .join(AdminUnit, AdminUnit.id == Report.area_id)
        .where(Report.id == report_id, in_scope(principal, AdminUnit.path))
        .options(selectinload(Report.files))
    )
    if report is None:
        raise NotFound(f"Không tìm thấy báo cáo số {report_id}.")
    return report


def report_data(report: Report) -> ReportData:
    return ReportData.from_json(report.snapshot)


def report_file(
    session: Session, *, principal: Principal, report_id: int, fmt: str, ip: str = ""
) -> ReportFile:
    """A stored file, checked against its SHA-256; the PDF is made from the stored DOCX on first ask.
    Each download is audited: who took which signed document, when."""
    if fmt not in FORMATS:
        raise NotFound("Định dạng tệp không được hỗ trợ (chỉ có docx, xlsx, pdf).")
    report = get_report(session, principal=principal, report_id=report_id)
    audit.record(
        session,
        action="report.download",
        actor=principal,
        target_type="report",
        target_id=report.id,
        area_id=report.area_id,
        details={"title": report.title, "format": fmt},
        ip=ip,
    )
    files = {f.format: f for f in report.files}
    if fmt == "pdf" and "pdf" not in files:
        docx = files.get("docx")
        if docx is None:
            raise NotFound("Báo cáo không còn tệp DOCX để chuyển sang PDF.")
        pdf = _file("pdf", docx_to_pdf(_verified(docx)))
        pdf.report_id = report.id
        session.add(pdf)
        session.flush()
        return pdf
    stored = files.get(fmt)
    if stored is None:
        raise NotFound("Báo cáo chưa có tệp định dạng này.")
    _verified(stored)
    return stored


def _verified(stored: ReportFile) -> bytes:
    if hashlib.sha256(stored.content).hexdigest() != stored.sha256:
        raise Conflict("Tệp báo cáo đã lưu bị sai lệch so với mã kiểm tra SHA-256; vui lòng tạo lại báo cáo.")
    return stored.content


def file_name(report: Report, fmt: str) -> str:
    return f"bao-cao-{report.id}-{report.period_start.isoformat()}.{fmt}"

"""JSON routes of reports: generate (POST), list, read (with the figures and the ids behind them),
download ``report.docx|xlsx|pdf``, the drafted assessment, and the statistics by area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.deps import ApiPrincipal, client_ip
from loa.areas.models import AdminUnit
from loa.errors import InvalidInput, NotFound
from loa.reports import service
from loa.reports.data import ChannelSection, FormerArea, Organisation, ReportData
from loa.reports.models import Report
from loa.reports.statistics import Level, broadcast_groups, former_areas, gather, groups_of, sections_of
from loa.vocab.period import Period, PeriodKind
from loa.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


class PeriodIn(BaseModel):
    kind: PeriodKind = PeriodKind.YEAR
    year: int | None = None
    index: int | None = Field(default=None, description="nửa năm 1-2, quý 1-4 hoặc tháng 1-12")
    start: date | None = None
    end: date | None = None

    def build(self) -> Period:
        return Period.build(self.kind, year=self.year, index=self.index, start=self.start, end=self.end)


class OrganisationIn(BaseModel):
    parent_name: str = Field(max_length=200)
    name: str = Field(max_length=300)
    place: str = Field(max_length=100)
    short_code: str = Field(default="", max_length=40)
    prose_name: str = Field(default="Đơn vị", max_length=200)
    signer_title: str = Field(default="GIÁM ĐỐC", max_length=200)
    signer_name: str = Field(default="", max_length=200)
    recipients: list[str] = Field(default_factory=list, max_length=30)

    def build(self) -> Organisation:
        return Organisation(**{**self.model_dump(), "recipients": tuple(self.recipients)})


def area_id_of(db: Session, code: str | None, area_id: int | None) -> int:
    """The unit a request names: by its code (``area``, like every other route) or, for older clients,
    by the internal ``area_id``."""
    if code:
        unit_id = db.scalar(select(AdminUnit.id).where(AdminUnit.code == code.strip()))
        if unit_id is None:
            raise NotFound(f"Không tìm thấy địa bàn mã {code.strip()}.", code="area_not_found")
        return unit_id
    if area_id is None:
        raise InvalidInput(
            "Thiếu địa bàn (area: mã địa bàn).", code="area_missing", details=[{"field": "area"}]
        )
    return area_id


class ReportIn(BaseModel):
    period: PeriodIn
    area: str | None = Field(default=None, max_length=32, description="mã địa bàn, ví dụ 21484")
    area_id: int | None = Field(default=None, description="cũ: mã nội bộ; dùng «area»")
    topic_code: str | None = Field(default=None, max_length=64)
    issued_on: date | None = None
    number: str = Field(default="", max_length=40)
    summary: str = Field(default="", max_length=500)
    introduction: str = Field(default="", max_length=20_000)
    prose: dict[str, str] = Field(default_factory=dict)
    contents: str = Field(
        default="", max_length=20_000, description="phần I: nội dung tuyên truyền, mỗi ý một dòng"
    )
    assessment: str | None = Field(
        default=None,
        max_length=20_000,
        description="phần I, đánh giá chung; để trống: đoạn hệ thống soạn từ số liệu (xem /assessment)",
    )
    organisation: OrganisationIn | None = None
    with_pdf: bool = False


def report_json(report: Report, *, with_figures: bool = False) -> dict[str, Any]:
    data = ReportData.from_json(report.snapshot)
    out: dict[str, Any] = {
        "id": report.id,
        "title": report.title,
        "period": report.parameters.get("period"),
        "area_id": report.area_id,
        "area_name": data.area_name,
        "topic_code": report.topic_code,
        "created_at": report.created_at.isoformat(),
        "missing_prose": list(data.missing_prose),
        "files": [
            {
                "format": f.format,
                "sha256": f.sha256,
                "size_bytes": f.size_bytes,
                "url": f"/api/v1/reports/{report.id}/report.{f.format}",
            }
            for f in report.files
        ],
    }
    if with_figures:
        out["figures"] = figures_json(data.channels)
        out["broadcasts"] = data.airtime.to_json() if data.airtime is not None else None
        out["former_units"] = former_json(data.former)
        out["contents"] = data.contents
        out["assessment"] = {
            "text": data.assessment,
            "drafted": data.assessment_drafted,
            "comparison": data.comparison.to_json() if data.comparison is not None else None,
        }
    return out


def former_json(former: Sequence[FormerArea]) -> list[dict[str, Any]]:
    """Former units' records, apart from the area's own figures (never added to them)."""
    return [{"name": f.name, "became": list(f.became), "figures": figures_json(f.channels)} for f in former]


def figures_json(channels: Sequence[ChannelSection]) -> list[dict[str, Any]]:
    return [
        {
            "channel": c.key,
            "key": f.key,
            "label": f.label,
            "unit": f.unit,
            "value": f.value,
            "row_ids": list(f.row_ids),
            "source": f.source,
        }
        for c in channels
        for f in c.figures
    ]


@router.post("", status_code=201)
def generate(body: ReportIn, request: Request, principal: ApiPrincipal, db: SessionDep) -> dict[str, Any]:
    wanted = service.ReportRequest(
        period=body.period.build(),
        area_id=area_id_of(db, body.area, body.area_id),
        issued_on=body.issued_on or date.today(),
        topic_code=body.topic_code or None,
        organisation=body.organisation.build() if body.organisation else None,
        number=body.number,
        summary=body.summary,
        introduction=body.introduction,
        prose=body.prose,
        contents=body.contents,
        assessment=body.assessment,
    )
    report = service.generate_report(
        db, principal=principal, request=wanted, with_pdf=body.with_pdf, ip=client_ip(request)
    )
    db.commit()
    return report_json(report, with_figures=True)


@router.get("")
def list_reports(
    principal: ApiPrincipal, db: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    return [report_json(r) for r in service.list_reports(db, principal=principal, limit=limit)]


@router.get("/statistics")
def statistics(
    principal: ApiPrincipal,
    db: SessionDep,
    area: Annotated[str | None, Query(max_length=32, description="mã địa bàn, ví dụ 21484")] = None,
    area_id: Annotated[int | None, Query(description="cũ: mã nội bộ; dùng «area»")] = None,
    kind: PeriodKind = PeriodKind.YEAR,
    year: int | None = None,
    index: int | None = None,
    start: date | None = None,
    end: date | None = None,
    topic_code: str | None = None,
    level: Level | None = None,
) -> dict[str, Any]:
    """Figures (with the ids of the records behind each) and, with ``level``, a split by area."""
    period = Period.build(kind, year=year, index=index, start=start, end=end)
    g = gather(
        db, principal=principal, period=period, area_id=area_id_of(db, area, area_id), topic_code=topic_code
    )
    airtime = g.system.airtime
    out: dict[str, Any] = {
        "area": {"id": g.root.id, "code": g.root.code, "name": g.root.name},
        "period": {**period.to_json(), "label": period.label},
        "figures": figures_json(sections_of(g)),
        "broadcasts": {"total": airtime.total.to_json(), **airtime.to_json()},
        "former_units": former_json([f for f in former_areas(g) if not f.is_empty]),
    }
    if level is not None:
        groups = groups_of(db, g, level)
        out["broadcast_areas"] = [
            {"key": b.key, "label": b.label, "area_id": b.area_id, **b.total.to_json()}
            for b in broadcast_groups(db, airtime, level)
        ]
        out["areas"] = [
            {
                "key": g.key,
                "label": g.label,
                "area_id": g.area_id,
                "figures": {
                    f.key: {"value": f.value, "row_ids": list(f.row_ids)} for f in g.figures if f.value
                },
            }
            for g in groups
        ]
    return out


@router.get("/assessment")
def assessment_draft(
    principal: ApiPrincipal,
    db: SessionDep,
    area: Annotated[str | None, Query(max_length=32, description="mã địa bàn, ví dụ 21484")] = None,
    area_id: Annotated[int | None, Query(description="cũ: mã nội bộ; dùng «area»")] = None,
    kind: PeriodKind = PeriodKind.YEAR,
    year: int | None = None,
    index: int | None = None,
    start: date | None = None,
    end: date | None = None,
    topic_code: str | None = None,
) -> dict[str, Any]:
    """The assessment the system drafts for a report (its figures beside the previous period's), to
    edit and send back as ``assessment`` when generating it. Nothing is saved."""
    wanted = service.ReportRequest(
        period=Period.build(kind, year=year, index=index, start=start, end=end),
        area_id=area_id_of(db, area, area_id),
        issued_on=date.today(),
        topic_code=topic_code or None,
    )
    text, comparison = service.draft_assessment(db, principal=principal, request=wanted)
    return {"text": text, "comparison": comparison.to_json()}


@router.get("/{report_id}")
def get_report(report_id: int, principal: ApiPrincipal, db: SessionDep) -> dict[str, Any]:
    report = service.get_report(db, principal=principal, report_id=report_id)
    out = report_json(report, with_figures=True)
    out["prose"] = report.prose
    out["parameters"] = report.parameters
    return out


@router.get("/{report_id}/report.{fmt}")
def download(report_id: int, fmt: str, request: Request, principal: ApiPrincipal, db: SessionDep) -> Response:
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

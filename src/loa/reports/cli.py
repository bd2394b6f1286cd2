"""``loa reports generate``: make and save a report, write its DOCX and XLSX (and PDF when LibreOffice
is installed) to a folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from loa.accounts.scope import visible_unit
from loa.activities.cli import cli_principal
from loa.areas.models import UnitKind
from loa.cli_support import cli_context, echo
from loa.errors import InvalidInput, LoaError, NotFound
from loa.reports import service
from loa.reports.models import Report
from loa.reports.pdf import pdf_available
from loa.reports.wording import figure_list
from loa.topics.models import Topic
from loa.topics.service import topic_lookup
from loa.vocab.period import Period
from loa.vocab.text import fold

app = typer.Typer(help="Báo cáo.", no_args_is_help=True)


def topic_code(session: Session, name: str) -> str:
    """A topic by code, name or abbreviation ("CCHC", "cchc", "Cải cách hành chính")."""
    topic_id = topic_lookup(session).get(fold(name))
    code = session.scalar(select(Topic.code).where(Topic.id == topic_id)) if topic_id else None
    if code is None:
        raise NotFound(f"Không có chủ đề “{name}”.")
    return code


def build_period(year: int, half: int | None, quarter: int | None, month: int | None) -> Period:
    chosen = [(k, v) for k, v in (("half", half), ("quarter", quarter), ("month", month)) if v is not None]
    if len(chosen) > 1:
        raise InvalidInput("Chỉ chọn một trong --half, --quarter, --month.")
    if not chosen:
        return Period.build("year", year=year)
    kind, index = chosen[0]
    return Period.build(kind, year=year, index=index)


def _read_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"Không đọc được tệp “{path}” (cần văn bản UTF-8).") from err


def _write(report: Report, out: Path, fmt: str) -> Path:
    stored = next(f for f in report.files if f.format == fmt)
    target = out / service.file_name(report, fmt)
    target.write_bytes(stored.content)
    return target


@app.command("generate")
def generate(
    ctx: typer.Context,
    year: int = typer.Option(..., "--year", help="Năm báo cáo."),
    half: int | None = typer.Option(None, "--half", min=1, max=2, help="Báo cáo 6 tháng: 1 hoặc 2."),
    quarter: int | None = typer.Option(None, "--quarter", min=1, max=4, help="Báo cáo quý: 1–4."),
    month: int | None = typer.Option(None, "--month", min=1, max=12, help="Báo cáo tháng: 1–12."),
    topic: str | None = typer.Option(None, "--topic", help="Chủ đề (mã, tên hoặc chữ viết tắt, ví dụ CCHC)."),
    area: str | None = typer.Option(None, "--area", help="Mã địa bàn (xã, phường, tỉnh)."),
    former_district: str | None = typer.Option(
        None, "--former-district", help="Mã huyện cũ: báo cáo gộp theo huyện trước 01/07/2025."
    ),
    out: Path = typer.Option(Path("."), "--out", file_okay=False, help="Thư mục ghi tệp."),
    number: str = typer.Option("", "--number", help="Số báo cáo."),
    issued_on: str | None = typer.Option(None, "--issued-on", help="Ngày ban hành (năm-tháng-ngày)."),
    pdf: bool | None = typer.Option(None, "--pdf/--no-pdf", help="Xuất PDF (mặc định: khi có LibreOffice)."),
    as_user: str | None = typer.Option(None, "--as", help="Lập với tư cách người dùng này."),
    contents_file: Path | None = typer.Option(
        None,
        "--contents-file",
        dir_okay=False,
        help="Tệp văn bản: nội dung tuyên truyền chủ yếu, mỗi ý một dòng.",
    ),
    assessment_file: Path | None = typer.Option(
        None,
        "--assessment-file",
        dir_okay=False,
        help="Tệp văn bản: đoạn đánh giá chung đã sửa (mặc định: hệ thống soạn từ số liệu).",
    ),
) -> None:
    """Lập báo cáo từ số liệu đã nhập; lưu vào hệ thống và ghi DOCX, XLSX (và PDF) ra thư mục."""
    if not area and not former_district:
        raise InvalidInput("Cần --area hoặc --former-district.")
    period = build_period(year, half, quarter, month)
    try:
        issued = date.fromisoformat(issued_on) if issued_on else date.today()
    except ValueError as err:
        raise InvalidInput(f"Ngày ban hành không hợp lệ: “{issued_on}”.") from err
    out.mkdir(parents=True, exist_ok=True)
    c = cli_context(ctx)
    with c.session() as s:
        principal = cli_principal(s, as_user)
        unit = visible_unit(s, principal, code=former_district or area or "")
        if former_district and unit.kind is not UnitKind.DISTRICT:
            raise InvalidInput(f"{unit.name} ({unit.code}) không phải là huyện cũ.")
        request = service.ReportRequest(
            period=period,
            area_id=unit.id,
            issued_on=issued,
            topic_code=topic_code(s, topic) if topic else None,
            number=number,
            contents=_read_text(contents_file),
            assessment=_read_text(assessment_file) or None,
        )
        report = service.generate_report(s, principal=principal, request=request)
        written = [_write(report, out, fmt) for fmt in ("docx", "xlsx")]
        data = service.report_data(report)
        report_id = report.id
    echo(f"Đã lập báo cáo số {report_id}: {report.title} — {data.area_name}.")
    for section in data.channels:
        echo(f"  {section.title}: {figure_list(section) or 'không có'}")
    source = "hệ thống soạn từ số liệu" if data.assessment_drafted else "theo tệp đã sửa"
    echo(f"  Đánh giá chung ({source}): {data.assessment}")
    if pdf is True or (pdf is None and pdf_available()):
        try:
            with c.session() as s:
                stored = service.report_file(s, principal=principal, report_id=report_id, fmt="pdf")
                saved = service.get_report(s, principal=principal, report_id=report_id)
                target = out / service.file_name(saved, "pdf")
                target.write_bytes(stored.content)
                written.append(target)
        except LoaError as err:
            echo(f"Chưa xuất được PDF: {err.message}")
    for path in written:
        echo(f"Đã ghi {path}")

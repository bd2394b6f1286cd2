"""The report's figures as XLSX: a summary sheet, then one sheet per channel with every detail row behind
every figure (ids, dates, places, sizes, links). Vietnamese headers, frozen header rows, set widths."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from loa.reports.airtime import MANUAL
from loa.reports.data import CellValue, ChannelSection, Column, ReportData
from loa.reports.period import vn_date
from loa.reports.xlsx_airtime import broadcast_summary, write_airtime_sheets
from loa.reports.xlsx_style import LINK_FONT, WRAP, header_row, sheet_title

SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("no", "STT", "int", 6),
    Column("channel", "Kênh tuyên truyền", "text", 32),
    Column("figure", "Chỉ tiêu", "text", 28),
    Column("value", "Số lượng", "int", 11),
    Column("unit", "Đơn vị tính", "text", 22),
    Column("rows", "Số bản ghi", "int", 11),
    Column("ids", "Mã bản ghi (xem trang chi tiết)", "text", 40),
    Column("source", "Nguồn số liệu", "text", 24),
)
# The radio section's rows are bulletins, programmes and manual entries; "Truyền thanh" is the
# sheet of broadcasts by commune (loa.reports.xlsx_airtime).
SHEET_TITLES = {"radio": "Tin bài truyền thanh"}


def render_xlsx(data: ReportData) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    used: set[str] = set()
    summary.title = sheet_title("Tổng hợp", used)
    titles = {c.key: sheet_title(SHEET_TITLES.get(c.key, c.title), used) for c in data.channels}
    _summary(summary, data, titles)
    if data.airtime is not None:
        write_airtime_sheets(book, data.airtime, used)
    for channel in data.channels:
        _channel_sheet(book.create_sheet(titles[channel.key]), channel)
    book.properties.title = f"Báo cáo {data.title_summary}"
    book.properties.creator = data.organisation.name
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary(sheet: Worksheet, data: ReportData, titles: dict[str, str]) -> None:
    topic = data.topic.name if data.topic else "Tất cả chủ đề"
    info = (
        f"BÁO CÁO {data.title_summary.upper()}",
        f"Đơn vị: {data.organisation.name}",
        f"Địa bàn: {data.area_name}",
        f"Kỳ báo cáo: {data.period.label} (từ {vn_date(data.period.start)} đến {vn_date(data.period.end)})",
        f"Chủ đề: {topic}",
    )
    for i, line in enumerate(info, start=1):
        sheet.cell(row=i, column=1, value=line).font = Font(bold=i == 1)
    header = len(info) + 2
    header_row(sheet, header, SUMMARY_COLUMNS)
    row, number = header + 1, 1
    for channel in data.channels:
        for figure in channel.figures:
            values: tuple[CellValue, ...] = (
                number,
                channel.title,
                figure.label,
                figure.value,
                figure.unit,
                len(figure.row_ids),
                ", ".join(str(i) for i in figure.row_ids),
                figure.source or MANUAL,
            )
            for col, value in enumerate(values, start=1):
                cell = sheet.cell(row=row, column=col, value=value)
                cell.alignment = WRAP
            link = sheet.cell(row=row, column=2)
            link.hyperlink = f"#'{titles[channel.key]}'!A1"
            link.font = LINK_FONT
            row, number = row + 1, number + 1
    sheet.freeze_panes = f"A{header + 1}"
    if data.airtime is not None:
        broadcast_summary(sheet, data.airtime, row + 1)


def _channel_sheet(sheet: Worksheet, channel: ChannelSection) -> None:
    columns = (
        Column("id", "Mã", "text" if any(isinstance(r.id, str) for r in channel.rows) else "int", 8),
        *channel.columns,
    )
    header_row(sheet, 1, columns)
    # Data cells get no per-cell style except where the value needs one (dates, links): styling
    # every cell of a province-year (hundreds of thousands) cost more than everything else.
    for r, detail in enumerate(channel.rows, start=2):
        for c, column in enumerate(columns, start=1):
            raw = detail.id if column.key == "id" else detail.get(column.key)
            if raw is None or raw == "":
                continue
            cell = sheet.cell(row=r, column=c, value=_cell_value(column, raw))
            if column.kind == "date":
                cell.number_format = "DD/MM/YYYY"
            elif column.kind == "link" and isinstance(raw, str) and raw.startswith(("http://", "https://")):
                cell.hyperlink = raw
                cell.font = LINK_FONT
    sheet.freeze_panes = "A2"
    if channel.rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(channel.rows) + 1}"


def _cell_value(column: Column, raw: CellValue) -> CellValue | date:
    if column.kind == "date" and isinstance(raw, str) and raw:
        return date.fromisoformat(raw)
    return raw

"""The report's figures as XLSX: a summary sheet, then one sheet per channel with every detail row behind
every figure (ids, dates, places, sizes, links). Vietnamese headers, frozen header rows, set widths.
Written with the streaming writer of ``loa.reports.xlsx_stream`` (a province-year has hundreds of
thousands of detail cells)."""

from __future__ import annotations

from typing import cast

from loa.reports.airtime import MANUAL
from loa.reports.data import ChannelSection, ReportData
from loa.reports.xlsx_airtime import broadcast_summary, write_airtime_sheets
from loa.reports.xlsx_stream import (
    BOLD,
    DATE,
    LINK,
    WRAP,
    WRAP_LINK,
    Book,
    Sheet,
    Value,
    column_letter,
    iso_serial,
)
from loa.reports.xlsx_style import header_row, sheet_title
from loa.vocab.cells import Column
from loa.vocab.dates import vn_date

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
__all__ = ["SUMMARY_COLUMNS", "render_xlsx", "sheet_title"]


def render_xlsx(data: ReportData) -> bytes:
    book = Book()
    used: set[str] = set()
    summary = book.sheet(sheet_title("Tổng hợp", used))
    titles = {c.key: sheet_title(SHEET_TITLES.get(c.key, c.title), used) for c in data.channels}
    _summary(summary, data, titles)
    if data.airtime is not None:
        write_airtime_sheets(book, data.airtime, used)
    for channel in data.channels:
        _channel_sheet(book.sheet(titles[channel.key]), channel)
    book.title = f"Báo cáo {data.title_summary}"
    book.creator = data.organisation.name
    return book.save()


def _summary(sheet: Sheet, data: ReportData, titles: dict[str, str]) -> None:
    topic = data.topic.name if data.topic else "Tất cả chủ đề"
    info = (
        f"BÁO CÁO {data.title_summary.upper()}",
        f"Đơn vị: {data.organisation.name}",
        f"Địa bàn: {data.area_name}",
        f"Kỳ báo cáo: {data.period.label} (từ {vn_date(data.period.start)} đến {vn_date(data.period.end)})",
        f"Chủ đề: {topic}",
    )
    for i, line in enumerate(info, start=1):
        sheet.row(i, [line], style=BOLD if i == 1 else 0)
    header = len(info) + 2
    header_row(sheet, header, SUMMARY_COLUMNS)
    row, number = header + 1, 1
    for channel in data.channels:
        for figure in channel.figures:
            values: list[Value | tuple[Value, int]] = [
                number,
                (channel.title, WRAP_LINK),
                figure.label,
                figure.value,
                figure.unit,
                len(figure.row_ids),
                ", ".join(str(i) for i in figure.row_ids),
                figure.source or MANUAL,
            ]
            sheet.row(row, values, style=WRAP)
            sheet.link(row, 2, f"'{titles[channel.key].replace(chr(39), chr(39) * 2)}'!A1", external=False)
            row, number = row + 1, number + 1
    sheet.freeze_row = header + 1
    if data.airtime is not None:
        broadcast_summary(sheet, data.airtime, row + 1)
        row += 10
    if data.former:
        _former_block(sheet, data, row + 2)


def _former_block(sheet: Sheet, data: ReportData, row: int) -> None:
    """Former units' records, apart: never added to the figures above."""
    sheet.row(
        row,
        [None, f"Số liệu của đơn vị cũ, báo cáo riêng (không cộng vào số liệu của {data.area_name})"],
        style=BOLD,
    )
    row += 1
    for former in data.former:
        where = f"{former.name} (đơn vị cũ, nay là {former.became_text})"
        for channel in former.channels:
            for figure in channel.figures:
                if not figure.value:
                    continue
                values: list[Value | tuple[Value, int]] = [
                    None,
                    f"{where}: {channel.title}",
                    figure.label,
                    figure.value,
                    figure.unit,
                    len(figure.row_ids),
                    ", ".join(str(i) for i in figure.row_ids),
                    figure.source or MANUAL,
                ]
                sheet.row(row, values, style=WRAP)
                row += 1


def _channel_sheet(sheet: Sheet, channel: ChannelSection) -> None:
    columns = (
        Column("id", "Mã", "text" if any(isinstance(r.id, str) for r in channel.rows) else "int", 8),
        *channel.columns,
    )
    header_row(sheet, 1, columns)
    rest = columns[1:]
    keys = [c.key for c in rest]
    # Positions in the row (after the id) of the cells that need more than their value.
    dates = [i for i, c in enumerate(rest, start=1) if c.kind == "date"]
    links = [i for i, c in enumerate(rest, start=1) if c.kind == "link"]
    for r, detail in enumerate(channel.rows, start=2):
        get = detail.cells.get
        values: list[Value | tuple[Value, int]] = [detail.id, *[get(k) for k in keys]]
        for i in dates:
            raw = values[i]
            if raw is None or raw == "":
                values[i] = None
            elif isinstance(raw, str):
                values[i] = (iso_serial(raw), DATE)  # the serial of date.fromisoformat(raw)
            else:
                values[i] = (cast(Value, raw), DATE)
        for i in links:
            raw = values[i]
            if isinstance(raw, str) and raw.startswith(("http://", "https://")):
                values[i] = (raw, LINK)
                sheet.link(r, i + 1, raw)
        sheet.row(r, values)
    sheet.freeze_row = 2
    if channel.rows:
        sheet.auto_filter = f"A1:{column_letter(len(columns))}{len(channel.rows) + 1}"

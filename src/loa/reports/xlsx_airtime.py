"""Broadcast sheets of the report workbook: "Truyền thanh" (by commune, with totals, then by
programme) and "Truyền thanh theo ngày" (by commune and day: the detail behind the commune figures;
a year of play receipts — up to millions — is summed per commune and day rather than listed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from loa.reports.data import Airtime, AirtimeRow, CellValue, Column
from loa.reports.xlsx_style import header_row, sheet_title

BOLD = Font(bold=True)

DEFINITIONS = (
    "Một lượt phát là một tin, bài phát trên một cụm loa.",
    "Lượt phát theo lịch: mỗi buổi phát của chương trình trong kỳ × số tin, bài trong buổi × số cụm loa "
    "đang hoạt động mà chương trình nhắm tới; thông báo đột xuất tính một lượt cho mỗi cụm loa.",
    "Lượt đã phát: biên nhận «đã phát» do cụm loa gửi về (mỗi biên nhận chỉ được ghi một lần).",
    "Giờ phát sóng: tổng thời lượng các lượt đã phát, mỗi lượt không vượt quá độ dài tệp âm thanh.",
)
COMMUNE_COLUMNS: tuple[Column, ...] = (
    Column("commune", "Xã, phường, đặc khu", "text", 28),
    Column("district", "Huyện cũ", "text", 20),
    Column("scheduled", "Lượt phát theo lịch", "int", 13),
    Column("played", "Lượt đã phát", "int", 12),
    Column("percent", "Tỷ lệ đã phát (%)", "decimal", 11),
    Column("preempted", "Lượt bị ngắt do nội dung ưu tiên", "int", 14),
    Column("failed", "Lượt lỗi", "int", 10),
    Column("hours", "Giờ phát sóng", "decimal", 12),
)
DAY_COLUMNS: tuple[Column, ...] = (Column("day", "Ngày", "date", 12), *COMMUNE_COLUMNS)
PROGRAMME_COLUMNS: tuple[Column, ...] = (
    Column("id", "Mã", "text", 8),
    Column("name", "Chuyên mục, chương trình", "text", 34),
    Column("schedule", "Lịch phát", "text", 30),
    Column("area", "Địa bàn", "text", 20),
    Column("scheduled_airings", "Số buổi theo lịch", "int", 11),
    Column("played_airings", "Số buổi có biên nhận đã phát", "int", 13),
    Column("scheduled", "Lượt phát theo lịch", "int", 13),
    Column("played", "Lượt đã phát", "int", 12),
)


def _values(row: AirtimeRow) -> list[CellValue]:
    percent = row.played_percent
    return [
        row.commune,
        row.former_district,
        row.scheduled,
        row.played,
        None if percent is None else round(percent, 1),
        row.preempted,
        row.failed,
        round(row.hours, 2),
    ]


def _write(sheet: Worksheet, row: int, values: Sequence[CellValue | date], *, bold: bool = False) -> None:
    for col, value in enumerate(values, start=1):
        if value is None:
            continue
        cell = sheet.cell(row=row, column=col, value=value)
        if bold:
            cell.font = BOLD


def write_airtime_sheets(book: Workbook, airtime: Airtime, used: set[str]) -> None:
    sheet = book.create_sheet(sheet_title("Truyền thanh", used))
    sheet.cell(row=1, column=1, value="PHÁT SÓNG TRÊN CỤM LOA THEO XÃ, PHƯỜNG, ĐẶC KHU").font = Font(
        bold=True
    )
    row = 2
    for line in (*DEFINITIONS, "Nguồn số liệu: hệ thống (lịch phát và biên nhận phát của cụm loa)."):
        sheet.cell(row=row, column=1, value=line)
        row += 1
    header = row + 1
    header_row(sheet, header, COMMUNE_COLUMNS)
    row = header + 1
    for commune in sorted(airtime.communes, key=lambda r: (r.former_district, r.commune)):
        _write(sheet, row, _values(commune))
        row += 1
    _write(sheet, row, _values(airtime.total), bold=True)
    sheet.freeze_panes = f"A{header + 1}"
    if airtime.programmes:
        row += 2
        sheet.cell(row=row, column=1, value="CHUYÊN MỤC, CHƯƠNG TRÌNH PHÁT TRONG KỲ").font = Font(bold=True)
        header_row(sheet, row + 1, PROGRAMME_COLUMNS)
        row += 2
        for p in airtime.programmes:
            values: list[CellValue] = [
                f"CT{p.programme_id}",
                p.name,
                p.schedule,
                p.area,
                p.scheduled_airings,
                p.played_airings,
                p.scheduled,
                p.played,
            ]
            _write(sheet, row, values)
            row += 1
    days = book.create_sheet(sheet_title("Truyền thanh theo ngày", used))
    days.cell(
        row=1,
        column=1,
        value=(
            "Chi tiết theo xã và ngày: mỗi dòng là tổng các biên nhận phát của mọi cụm loa trong xã trong "
            "ngày (giờ Việt Nam), cùng số lượt theo lịch của ngày đó. Biên nhận không được liệt kê từng "
            "dòng vì một năm có thể tới hàng triệu biên nhận; xem từng biên nhận trên trang của cụm loa."
        ),
    )
    header_row(days, 2, DAY_COLUMNS)
    for r, day in enumerate(airtime.days, start=3):
        _write(days, r, [day.day, *_values(day)])
        days.cell(row=r, column=1).number_format = "DD/MM/YYYY"
    days.freeze_panes = "A3"
    if airtime.days:
        days.auto_filter.ref = f"A2:{get_column_letter(len(DAY_COLUMNS))}{len(airtime.days) + 2}"


def broadcast_summary(sheet: Worksheet, airtime: Airtime, row: int) -> None:
    """A block under the summary table: the broadcast totals, with their source."""
    total = airtime.total
    sheet.cell(row=row + 1, column=2, value="Phát sóng trên cụm loa (nguồn: hệ thống)").font = Font(bold=True)
    percent = total.played_percent
    lines: list[tuple[str, CellValue, str]] = [
        ("Lượt phát theo lịch", total.scheduled, "lượt"),
        ("Lượt đã phát (có biên nhận)", total.played, "lượt"),
        ("Tỷ lệ đã phát so với lịch", None if percent is None else round(percent, 1), "%"),
        ("Lượt bị ngắt do nội dung ưu tiên", total.preempted, "lượt"),
        ("Lượt lỗi", total.failed, "lượt"),
        ("Giờ phát sóng", round(total.hours, 2), "giờ"),
    ]
    for i, (label, value, unit) in enumerate(lines, start=row + 2):
        _write(sheet, i, [None, "Truyền thanh", label, value, unit, None, None, "Hệ thống"])

"""Broadcast sheets of the report workbook: "Truyền thanh" (by commune, with totals, then by
programme) and "Truyền thanh theo ngày" (by commune and day: the detail behind the commune figures;
a year of play receipts — up to millions — is summed per commune and day rather than listed)."""

from __future__ import annotations

from loa.reports.data import Airtime, AirtimeRow
from loa.reports.xlsx_stream import BOLD, DATE, Book, Sheet, column_letter, date_serial
from loa.reports.xlsx_style import header_row, sheet_title
from loa.vocab.cells import CellValue, Column

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


def write_airtime_sheets(book: Book, airtime: Airtime, used: set[str]) -> None:
    sheet = book.sheet(sheet_title("Truyền thanh", used))
    sheet.row(1, ["PHÁT SÓNG TRÊN CỤM LOA THEO XÃ, PHƯỜNG, ĐẶC KHU"], style=BOLD)
    row = 2
    for line in (*DEFINITIONS, "Nguồn số liệu: hệ thống (lịch phát và biên nhận phát của cụm loa)."):
        sheet.row(row, [line])
        row += 1
    header = row + 1
    header_row(sheet, header, COMMUNE_COLUMNS)
    row = header + 1
    for commune in sorted(airtime.communes, key=lambda r: (r.former_district, r.commune)):
        sheet.row(row, _values(commune))
        row += 1
    sheet.row(row, _values(airtime.total), style=BOLD)
    sheet.freeze_row = header + 1
    if airtime.programmes:
        row += 2
        sheet.row(row, ["CHUYÊN MỤC, CHƯƠNG TRÌNH PHÁT TRONG KỲ"], style=BOLD)
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
            sheet.row(row, values)
            row += 1
    days = book.sheet(sheet_title("Truyền thanh theo ngày", used))
    days.row(
        1,
        [
            "Chi tiết theo xã và ngày: mỗi dòng là tổng các biên nhận phát của mọi cụm loa trong xã trong "
            "ngày (giờ Việt Nam), cùng số lượt theo lịch của ngày đó. Biên nhận không được liệt kê từng "
            "dòng vì một năm có thể tới hàng triệu biên nhận; xem từng biên nhận trên trang của cụm loa."
        ],
    )
    header_row(days, 2, DAY_COLUMNS)
    for r, day in enumerate(airtime.days, start=3):
        days.row(r, [(date_serial(day.day), DATE) if day.day else None, *_values(day)])
    days.freeze_row = 3
    if airtime.days:
        days.auto_filter = f"A2:{column_letter(len(DAY_COLUMNS))}{len(airtime.days) + 2}"


def broadcast_summary(sheet: Sheet, airtime: Airtime, row: int) -> None:
    """A block under the summary table: the broadcast totals, with their source."""
    total = airtime.total
    sheet.row(row + 1, [None, "Phát sóng trên cụm loa (nguồn: hệ thống)"], style=BOLD)
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
        sheet.row(i, [None, "Truyền thanh", label, value, unit, None, None, "Hệ thống"])

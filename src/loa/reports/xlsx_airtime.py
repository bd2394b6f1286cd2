"""Broadcast sheets of the report workbook: "Truyền thanh" (by commune, with totals, then by
programme) and "Truyền thanh theo ngày" (by commune and day: the detail behind the commune figures;
a year of play receipts — up to millions — is summed per commune and day rather than listed).
Played broadcasts are evidence (receipts); the plan stands beside them, never in their place."""

from __future__ import annotations

from datetime import timedelta, timezone

from loa.reports.airdata import Airtime, AirtimeRow
from loa.reports.composition import mix_text
from loa.reports.xlsx_stream import BOLD, DATE, Book, Sheet, column_letter, date_serial
from loa.reports.xlsx_style import header_row, sheet_title
from loa.vocab.cells import CellValue, Column
from loa.vocab.numbers import count_text

VIETNAM = timezone(timedelta(hours=7))

DEFINITIONS = (
    "Một lượt phát là một tin, bài phát trên một cụm loa.",
    "Lượt đã phát: biên nhận «đã phát» (phát trọn) do cụm loa gửi về, mỗi biên nhận chỉ được ghi một lần; "
    "lượt phát dở (bị ngắt) hoặc lỗi không tính là đã phát.",
    "Kế hoạch: mỗi buổi phát của chương trình trong kỳ × số tin, bài trong buổi × số cụm loa đang hoạt "
    "động mà chương trình nhắm tới; thông báo đột xuất tính một lượt cho mỗi cụm loa. Kế hoạch không phải "
    "là số đã phát.",
    "Tỷ lệ thực hiện: lượt đã phát theo kế hoạch chia cho kế hoạch đã đến giờ phát (không tính các ngày, "
    "giờ sau thời điểm lập báo cáo).",
    "Ngoài kế hoạch: phát ngay, phát khẩn cấp; được tính là đã phát, ghi riêng, không tính vào tỷ lệ.",
    "Giờ phát sóng: tổng thời lượng các lượt đã phát, mỗi lượt không vượt quá độ dài tệp âm thanh.",
)
COMMUNE_COLUMNS: tuple[Column, ...] = (
    Column("commune", "Xã, phường, đặc khu", "text", 28),
    Column("district", "Huyện cũ", "text", 20),
    Column("scheduled", "Kế hoạch (lượt)", "int", 12),
    Column("due", "Kế hoạch đã đến giờ (lượt)", "int", 13),
    Column("played", "Đã phát theo kế hoạch (lượt)", "int", 13),
    Column("percent", "Tỷ lệ thực hiện (%)", "decimal", 11),
    Column("extra", "Đã phát ngoài kế hoạch (lượt)", "int", 13),
    Column("preempted", "Lượt phát dở do nội dung ưu tiên", "int", 14),
    Column("failed", "Lượt lỗi", "int", 10),
    Column("hours", "Giờ phát sóng", "decimal", 12),
)
DAY_COLUMNS: tuple[Column, ...] = (Column("day", "Ngày", "date", 12), *COMMUNE_COLUMNS)
PROGRAMME_COLUMNS: tuple[Column, ...] = (
    Column("id", "Mã", "text", 8),
    Column("name", "Chuyên mục, chương trình", "text", 34),
    Column("schedule", "Lịch phát", "text", 30),
    Column("area", "Địa bàn", "text", 20),
    Column("scheduled_airings", "Số buổi kế hoạch", "int", 11),
    Column("played_airings", "Số buổi đã phát (có biên nhận)", "int", 13),
    Column("coverage", "Cụm loa đã phát / kế hoạch (cộng các buổi)", "text", 16),
    Column("scheduled", "Kế hoạch (lượt)", "int", 12),
    Column("played", "Lượt đã phát", "int", 12),
    Column("aired_mix", "Mỗi buổi đã phát gồm (tin, bài có biên nhận đã phát)", "text", 26),
    Column("planned_mix", "Mỗi buổi theo kế hoạch gồm", "text", 26),
)


def _values(row: AirtimeRow) -> list[CellValue]:
    percent = row.played_percent
    return [
        row.commune,
        row.former_district,
        row.scheduled,
        row.due,
        row.in_plan,
        None if percent is None else round(percent, 1),
        row.extra,
        row.preempted,
        row.failed,
        round(row.hours, 2),
    ]


def write_airtime_sheets(book: Book, airtime: Airtime, used: set[str]) -> None:
    sheet = book.sheet(sheet_title("Truyền thanh", used))
    sheet.row(1, ["PHÁT SÓNG TRÊN CỤM LOA THEO XÃ, PHƯỜNG, ĐẶC KHU"], style=BOLD)
    row = 2
    for line in (
        *DEFINITIONS,
        "Nguồn số liệu: biên nhận phát của cụm loa (đã phát) và lịch phát (kế hoạch).",
        *notes(airtime),
    ):
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
                f"{p.clusters_played}/{p.clusters_aimed}" if p.clusters_aimed else None,
                p.scheduled,
                p.played,
                mix_text(p.aired_mix) or None,
                mix_text(p.planned_mix) or None,
            ]
            sheet.row(row, values)
            row += 1
    days = book.sheet(sheet_title("Truyền thanh theo ngày", used))
    days.row(
        1,
        [
            "Chi tiết theo xã và ngày: mỗi dòng là tổng các biên nhận phát của mọi cụm loa trong xã trong "
            "ngày (giờ Việt Nam), cùng kế hoạch của ngày đó. Biên nhận không được liệt kê từng "
            "dòng vì một năm có thể tới hàng triệu biên nhận; xem từng biên nhận trên trang của cụm loa."
        ],
    )
    header_row(days, 2, DAY_COLUMNS)
    for r, day in enumerate(airtime.days, start=3):
        days.row(r, [(date_serial(day.day), DATE) if day.day else None, *_values(day)])
    days.freeze_row = 3
    if airtime.days:
        days.auto_filter = f"A2:{column_letter(len(DAY_COLUMNS))}{len(airtime.days) + 2}"


def notes(airtime: Airtime) -> list[str]:
    """When the figures were taken, and the receipts left out as not evidence."""
    out = []
    if airtime.as_of is not None:
        local = airtime.as_of.astimezone(VIETNAM)
        out.append(f"Số liệu tính đến {local:%H:%M} ngày {local:%d/%m/%Y} (thời điểm lập báo cáo).")
    if airtime.future_receipts:
        out.append(
            f"{count_text(airtime.future_receipts)} biên nhận ghi giờ phát sau thời điểm lập báo cáo "
            "(đồng hồ cụm loa chạy sai) không được tính."
        )
    return out


def broadcast_summary(sheet: Sheet, airtime: Airtime, row: int) -> None:
    """A block under the summary table: the broadcast totals, with their source."""
    total = airtime.total
    sheet.row(row + 1, [None, "Phát sóng trên cụm loa (nguồn: hệ thống)"], style=BOLD)
    percent = total.played_percent
    lines: list[tuple[str, CellValue, str, str]] = [
        ("Lượt đã phát (có biên nhận)", total.played, "lượt", "Biên nhận phát"),
        ("Trong đó: ngoài kế hoạch (phát ngay, khẩn cấp)", total.extra, "lượt", "Biên nhận phát"),
        ("Giờ phát sóng", round(total.hours, 2), "giờ", "Biên nhận phát"),
        ("Lượt phát dở do nội dung ưu tiên", total.preempted, "lượt", "Biên nhận phát"),
        ("Lượt lỗi", total.failed, "lượt", "Biên nhận phát"),
        ("Kế hoạch (không phải số đã phát)", total.scheduled, "lượt", "Lịch phát"),
        ("Tỷ lệ thực hiện kế hoạch đã đến giờ", None if percent is None else round(percent, 1), "%", ""),
    ]
    for i, (label, value, unit, source) in enumerate(lines, start=row + 2):
        sheet.row(i, [None, "Truyền thanh", label, value, unit, None, None, source or "Hệ thống"])

"""The streaming XLSX writer: openpyxl opens its workbooks without complaint and reads back the same
values and layout; LibreOffice converts them; text that XML cannot carry is escaped, not lost."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
import warnings
import zipfile
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from loa.reports.data import ChannelSection, DetailRow, Figure, Organisation, ReportData
from loa.reports.pdf import office_binary, office_to_pdf
from loa.reports.xlsx_stream import BOLD, DATE, HEADER, LINK, Book, column_letter
from loa.reports.xlsx_style import header_row
from loa.reports.xlsx_writer import render_xlsx
from loa.vocab.cells import Column
from loa.vocab.period import Period

TRICKY = "Thôn Đắk Rơ Wơng & <Ba Tơ> \"lũ\" 'bão'"


def _book() -> bytes:
    book = Book()
    book.title, book.creator = "Báo cáo năm 2024", "Sở Văn hóa & Thể thao"
    sheet = book.sheet("Tổng hợp & chi tiết")
    sheet.row(1, ["Mã", "Địa bàn", "Ngày", "Rộng (m)", "Liên kết"], style=HEADER)
    sheet.width(2, 40)
    sheet.row(2, [1, TRICKY, (date(2024, 2, 29), DATE), 1.25, ("https://a.vn/?x=1&y=2", LINK)])
    sheet.link(2, 5, "https://a.vn/?x=1&y=2")
    sheet.row(4, ["  lề trắng  ", "dòng 1\ndòng 2", None, 10**12, "có\x0bký tự\x00điều khiển"])
    sheet.row(5, ["Tổng", True, "_x0041_"], style=BOLD)
    sheet.freeze_row = 2
    sheet.auto_filter = "A1:E5"
    other = book.sheet("Khác")
    other.row(1, ["về trang đầu"])
    other.link(1, 1, "'Tổng hợp & chi tiết'!A1", external=False)
    return book.save()


def _load(content: bytes):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # openpyxl warns when it has to repair or skip parts
        return load_workbook(io.BytesIO(content))


def test_values_types_and_layout_read_back() -> None:
    book = _load(_book())
    assert book.sheetnames == ["Tổng hợp & chi tiết", "Khác"]
    assert book.properties.title == "Báo cáo năm 2024" and book.properties.creator == "Sở Văn hóa & Thể thao"
    sheet = book["Tổng hợp & chi tiết"]
    assert [c.value for c in sheet[1]] == ["Mã", "Địa bàn", "Ngày", "Rộng (m)", "Liên kết"]
    assert (
        sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb == "FFDDEBF7" and sheet["A1"].alignment.wrap_text
    )
    assert sheet["B2"].value == TRICKY
    assert sheet["C2"].value.date() == date(2024, 2, 29) and sheet["C2"].number_format == "DD/MM/YYYY"
    assert sheet["D2"].value == 1.25 and sheet["A2"].value == 1 and sheet["D4"].value == 10**12
    assert sheet["E2"].hyperlink.target == "https://a.vn/?x=1&y=2" and sheet["E2"].font.u == "single"
    assert sheet["A4"].value == "  lề trắng  " and sheet["B4"].value == "dòng 1\ndòng 2"
    assert sheet["C4"].value is None and sheet["A3"].value is None
    assert sheet["E4"].value == "có_x000B_ký tự_x0000_điều khiển"  # OOXML escapes; Excel shows the char
    assert (
        sheet["B5"].value is True and sheet["A5"].font.b and sheet["C5"].value == "_x0041_"
    )  # literal text survives
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E5"
    assert sheet.column_dimensions["B"].width == 40
    assert book["Khác"]["A1"].hyperlink.location == "'Tổng hợp & chi tiết'!A1"


def test_the_package_is_well_formed() -> None:
    with zipfile.ZipFile(io.BytesIO(_book())) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml"} <= names
        from xml.dom.minidom import parseString

        for name in names:
            parseString(z.read(name))  # every part is well-formed XML


def test_column_letters() -> None:
    assert [column_letter(i) for i in (1, 26, 27, 52, 53, 702, 703)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def _report() -> ReportData:
    rows = tuple(
        DetailRow(
            i,
            {
                "on": f"2024-03-{i:02d}",
                "place": f"Điểm {i} & <chợ>",
                "link": f"https://báo.vn/{i}",
                "size": i / 4,
            },
        )
        for i in range(1, 21)
    )
    press = ChannelSection(
        "press",
        "Cộng tác báo chí",
        (Figure("press.article", "Bài viết", 20, "bài", tuple(r.id for r in rows)),),
        (
            Column("on", "Ngày đăng", "date", 12),
            Column("place", "Địa điểm", width=30),
            Column("link", "Liên kết", "link", 30),
            Column("size", "Cỡ", "decimal"),
        ),
        rows,
    )
    return ReportData(
        period=Period.year(2024),
        organisation=Organisation("UBND TỈNH QUẢNG NGÃI", "SỞ VĂN HÓA", "Quảng Ngãi", "SVH"),
        topic=None,
        area_name="Tỉnh Quảng Ngãi",
        channels=(press,),
        issued_on=date(2025, 1, 10),
    )


def test_report_detail_sheet_reads_back() -> None:
    book = _load(render_xlsx(_report()))
    sheet = book["Cộng tác báo chí"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E21"
    first = [c.value for c in sheet[2]]
    assert (
        first[0] == 1
        and first[1].date() == date(2024, 3, 1)
        and first[2:] == ["Điểm 1 & <chợ>", "https://báo.vn/1", 0.25]
    )
    assert sheet["D21"].hyperlink.target == "https://báo.vn/20"
    summary = book["Tổng hợp"]
    assert (
        summary["B8"].value == "Cộng tác báo chí"
        and summary["B8"].hyperlink.location == "'Cộng tác báo chí'!A1"
    )


def test_libreoffice_converts_the_report_workbook() -> None:
    binary = office_binary()
    assert binary, "LibreOffice (soffice) is needed: apt-get install libreoffice-calc-nogui"
    with tempfile.TemporaryDirectory(prefix="loa-xlsx-") as tmp:
        root = Path(tmp)
        (root / "r.xlsx").write_bytes(render_xlsx(_report()))
        profile = root / "profile"
        result = subprocess.run(
            [
                binary,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,2",
                "--outdir",
                str(root),
                str(root / "r.xlsx"),
            ],
            capture_output=True,
            timeout=180,
            env={**os.environ, "HOME": str(root)},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        sheets = sorted(root.glob("r*.csv"))
        assert sheets, f"soffice wrote no CSV (is libreoffice-calc-nogui installed?): {result.stdout!r}"
        detail = sheets[0]  # the second sheet: the detail rows
        rows = list(csv.reader(detail.read_text(encoding="utf-8").splitlines()))
        assert rows[0][:3] == ["Mã", "Ngày đăng", "Địa điểm"]
        assert rows[1][1] == "01/03/2024"  # shown with the date style and rows[1][2] == "Điểm 1 & <chợ>"


def _wide_book(rows: int = 120) -> bytes:
    """Fourteen columns wider than a portrait page, a title line above the column header, and
    enough rows for several printed pages."""
    book = Book()
    sheet = book.sheet("Chi tiết")
    sheet.row(1, ["CHI TIẾT PHÁT SÓNG THEO XÃ"], style=BOLD)
    columns = tuple(Column(f"c{i}", f"Cột{i:02d}", "text", 14) for i in range(1, 15))
    header_row(sheet, 2, columns)
    for r in range(3, rows + 3):
        sheet.row(r, [f"dòng{r:03d}", *[r * i for i in range(2, 15)]])
    sheet.freeze_row = 3
    return book.save()


def test_sheets_print_across_one_page_with_the_header_repeated() -> None:
    book = _load(_wide_book())
    sheet = book["Chi tiết"]
    assert sheet.print_title_rows == "$2:$2"  # the column labels, not the title line above them
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert "Trang &P/&N" in sheet.oddFooter.center.text
    narrow = Book()
    small = narrow.sheet("Hẹp")
    header_row(small, 1, (Column("a", "Tên", "text", 30), Column("b", "Số", "int", 10)))
    small.freeze_row = 2
    reread = _load(narrow.save())["Hẹp"]
    assert reread.page_setup.orientation == "portrait" and reread.print_title_rows == "$1:$1"


def test_libreoffice_prints_every_column_on_each_page_and_repeats_the_header() -> None:
    assert office_binary(), "LibreOffice (soffice) is needed: apt-get install libreoffice-calc-nogui"
    pdf = office_to_pdf(_wide_book(), "xlsx")
    pages = (
        subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split("\f")
    )
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2, "120 rows should need more than one page"
    for number, page in enumerate(pages, start=1):
        assert "Cột01" in page and "Cột14" in page, f"page {number} lacks a header or is cut in width"
        assert f"Trang {number}/{len(pages)}" in page
    assert "dòng003" in pages[0] and "dòng122" in pages[-1]
    assert "CHI TIẾT PHÁT SÓNG" in pages[0] and "CHI TIẾT PHÁT SÓNG" not in pages[1]

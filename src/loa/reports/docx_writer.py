"""The narrative report as DOCX, laid out as Decree 30/2020/NĐ-CP (Appendix I) asks of an administrative
document: A4; margins top/bottom 20 mm, left 30 mm, right 15 mm; Times New Roman 13-14 pt; the agency
and national motto side by side with short rules under them; number and place/date line; the title and
summary line; body justified with a first-line indent; recipients and signature side by side.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from loa.reports.data import ReportData
from loa.reports.wording import Block, document_blocks

FONT = "Times New Roman"
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGIN_TOP_MM, MARGIN_BOTTOM_MM, MARGIN_LEFT_MM, MARGIN_RIGHT_MM = 20, 20, 30, 15
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM
HEADER_LEFT_MM = 70
HEADER_RIGHT_MM = TEXT_WIDTH_MM - HEADER_LEFT_MM
BODY_PT = 14
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_SUB = "Độc lập - Tự do - Hạnh phúc"

# Elements that follow w:pBdr inside w:pPr (OOXML schema order), so the border lands in a valid place.
_PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
    "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


def date_line(place: str, d: date) -> str:
    """'Ba Tơ, ngày 15 tháng 01 năm 2024': days below 10 and months 1-2 take a leading zero (Decree 30)."""
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"{place}, ngày {d.day:02d} tháng {month} năm {d.year}"


def number_line(number: str, short_code: str) -> str:
    suffix = f"/BC-{short_code}" if short_code else "/BC"
    return f"Số: {number.strip() or '      '}{suffix}"


def render_docx(data: ReportData) -> bytes:
    doc = Document()
    _page_setup(doc)
    _header(doc, data)
    _title(doc, data)
    for block in document_blocks(data):
        _block(doc, block)
    _signature(doc, data)
    doc.core_properties.title = f"Báo cáo {data.title_summary}"
    doc.core_properties.author = data.organisation.name
    doc.core_properties.language = "vi-VN"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- layout pieces -----------------------------------------------------------------------------------
def _page_setup(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP_MM), Mm(MARGIN_BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT_MM), Mm(MARGIN_RIGHT_MM)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)
    # Page numbers: centred at the top, from the second page on (Decree 30, Appendix I).
    section.different_first_page_header_footer = True
    header_p = section.header.paragraphs[0]
    header_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    header_p._p.append(field)


def _para(
    container: DocxDocument | _Cell,
    text: str = "",
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    before: float = 0,
    after: float = 0,
    indent_first: bool = False,
) -> Paragraph:
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = 1.0
    p.alignment = align
    if indent_first:
        fmt.first_line_indent = Cm(1.27)
    if text:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold, run.italic = bold, italic
    return p


def _rule(container: DocxDocument | _Cell, width_mm: float, box_mm: float) -> None:
    """A short centred horizontal line: an empty paragraph with a top border, indented to width."""
    p = container.add_paragraph()
    fmt = p.paragraph_format
    side = Mm(max(0.0, (box_mm - width_mm) / 2))
    fmt.left_indent, fmt.right_indent = side, side
    fmt.space_before, fmt.space_after = Pt(0), Pt(0)
    fmt.line_spacing = Pt(3)
    ppr = p._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    border.append(top)
    ppr.insert_element_before(border, *_PBDR_SUCCESSORS)


def _first_cell_paragraph(cell: _Cell) -> None:
    """Table cells start with an empty paragraph; drop it so the text sits on the first line."""
    first = cell.paragraphs[0]
    first._p.getparent().remove(first._p)


def _two_columns(doc: DocxDocument, left_mm: float, right_mm: float) -> tuple[_Cell, _Cell]:
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    for column, width in zip(table.columns, (left_mm, right_mm), strict=True):
        column.width = Mm(width)
    left, right = table.rows[0].cells
    left.width, right.width = Mm(left_mm), Mm(right_mm)
    _first_cell_paragraph(left)
    _first_cell_paragraph(right)
    return left, right


def _header(doc: DocxDocument, data: ReportData) -> None:
    org = data.organisation
    left, right = _two_columns(doc, HEADER_LEFT_MM, HEADER_RIGHT_MM)
    for line in org.parent_name.upper().splitlines():
        _para(left, line.strip(), size=13)
    for line in org.name.upper().splitlines():
        _para(left, line.strip(), size=13, bold=True)
    _rule(left, 22, HEADER_LEFT_MM)
    _para(left, number_line(data.number, org.short_code), size=13, before=4)
    _para(right, MOTTO, size=12, bold=True)
    _para(right, MOTTO_SUB, size=13, bold=True)
    _rule(right, 60, HEADER_RIGHT_MM)
    _para(right, date_line(org.place, data.issued_on), size=14, italic=True, before=4)


def _title(doc: DocxDocument, data: ReportData) -> None:
    _para(doc, "BÁO CÁO", bold=True, before=18).paragraph_format.keep_with_next = True
    _para(doc, data.title_summary, bold=True).paragraph_format.keep_with_next = True
    _rule(doc, 50, TEXT_WIDTH_MM)
    _para(doc, "", after=6)


def _block(doc: DocxDocument, block: Block) -> None:
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    if block.kind in ("heading", "subheading"):
        heading = _para(doc, block.text, bold=True, align=justify, before=6, after=6, indent_first=True)
        heading.paragraph_format.keep_with_next = True  # never the last line of a page
        return
    p = _para(doc, block.text, align=justify, after=6, indent_first=True)
    p.paragraph_format.line_spacing = 1.15
    if block.text.endswith(":"):  # a lead-in ("… như sau:") stays on the page of what it announces
        p.paragraph_format.keep_with_next = True
    if block.kind == "placeholder":
        for run in p.runs:
            run.italic = True
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _recipients(data: ReportData) -> Iterable[str]:
    given = [r.strip().lstrip("-").strip().rstrip(";.") for r in data.organisation.recipients if r.strip()]
    given = [r for r in given if not r.lower().startswith("lưu")]  # "Lưu: VT." always closes the list
    for name in given or ["Như trên"]:
        yield f"- {name};"
    yield "- Lưu: VT."


def _signature(doc: DocxDocument, data: ReportData) -> None:
    # The signature block is one unbreakable row, kept on the page of the text it signs: the last
    # paragraph of the body stays with it.
    if doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    _para(doc, "", after=6).paragraph_format.keep_with_next = True
    left, right = _two_columns(doc, 80, TEXT_WIDTH_MM - 80)
    row_properties = doc.tables[-1].rows[0]._tr.get_or_add_trPr()
    row_properties.append(OxmlElement("w:cantSplit"))
    _para(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in _recipients(data):
        _para(left, line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in data.organisation.signer_title.upper().splitlines() or ["GIÁM ĐỐC"]:
        _para(right, line, bold=True)
    for _ in range(4):
        _para(right, "")
    _para(right, data.organisation.signer_name, bold=True)

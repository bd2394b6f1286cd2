"""A small streaming XLSX writer for the report workbook: sheet XML is written as text (shared strings,
numbers as numbers, dates as serials with a date style, frozen header rows, column widths, filters,
links) and zipped. A province-year has hundreds of thousands of detail cells; openpyxl's per-cell
objects cost seconds there, this costs a fraction. Only what the report uses is supported.

Why not XlsxWriter: ``benchmarks/libs.py`` writes the same 100,000-row detail sheet (text, whole
numbers, dates, decimals) with both in one run. On the 2-core CI machine (2026-12-07, medians of 3):
this writer 0.96 s, XlsxWriter 3.3 in ``constant_memory`` mode 6.4 s (6.7×; its generic
``write_row`` 6.2 s). The report's XLSX step is about 0.5 s of a 2.2 s province-year report, so
XlsxWriter would more than double the report's time.

Rows are appended in ascending order; a cell is a value, or ``(value, style)``."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import cast
from xml.sax.saxutils import escape, quoteattr

from loa.vocab.cells import defuse_formula

Value = str | int | float | date | None

# Cell styles (indexes into cellXfs below).
PLAIN, BOLD, HEADER, DATE, LINK, WRAP, WRAP_LINK = range(7)
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="DD/MM/YYYY"/></numFmts>\
<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="3"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill>\
</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" \
applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf>\
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 forbids these; OOXML writes them as _xHHHH_ (and a literal "_xHHHH_" as "_x005F_xHHHH_").
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]|_(?=x[0-9A-Fa-f]{4}_)")
_EPOCH = date(1899, 12, 30)
_EPOCH_DT = datetime(1899, 12, 30)


# Margins in inches (OOXML's unit), A4 (paperSize 9), as wide as one page and as many pages down as
# needed (fitToHeight 0), and "Trang 2/7" centred in the footer.
_PRINT_SETUP = (
    '<printOptions horizontalCentered="1"/>'
    '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
    '<pageSetup paperSize="9" orientation="{orientation}" fitToWidth="1" fitToHeight="0"/>'
    "<headerFooter><oddFooter>&amp;CTrang &amp;P/&amp;N</oddFooter></headerFooter>"
)
# Column widths (in characters) that fit across a portrait A4 page at 100 % within those margins.
PORTRAIT_WIDTH_CHARS = 95

_NEEDS_ESCAPE = re.compile(_ILLEGAL.pattern + r"|[&<>]")


def _xml_text(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:  # most text: one scan instead of four
        return text
    text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return escape(text)


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_LETTERS = [column_letter(i) for i in range(1, 257)]


@lru_cache(maxsize=8192)
def date_serial(day: date) -> int:
    """A day as the number Excel stores: write it as ``(date_serial(day), DATE)``, the same cell as
    ``(day, DATE)`` without working it out again for every row of the same day."""
    return (day - _EPOCH).days


@lru_cache(maxsize=8192)
def iso_serial(day: str) -> int:
    """``date_serial`` of an ISO date ("2024-03-04")."""
    return (date.fromisoformat(day) - _EPOCH).days


def _other(ref: str, value: Value, s: int, st: str, strings: dict[str, int]) -> str:
    """A cell of a less common type (float, bool, date, datetime, str subclass, anything else)."""
    if isinstance(value, bool):
        return f'<c r="{ref}"{st} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, float) and math.isfinite(value):
        return f'<c r="{ref}"{st}><v>{value!r}</v></c>'
    if isinstance(value, int) and not isinstance(value, float):
        return f'<c r="{ref}"{st}><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        serial = (naive - _EPOCH_DT).total_seconds() / 86400
        return f'<c r="{ref}" s="{s or DATE}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{s or DATE}"><v>{(value - _EPOCH).days}</v></c>'
    text = str(value)  # a str subclass (an enum), an infinite float, anything else: as text
    n = strings.get(text)
    if n is None:
        n = strings[text] = len(strings)
    return f'<c r="{ref}"{st} t="s"><v>{n}</v></c>'


@dataclass
class Sheet:
    title: str
    _strings: dict[str, int]
    _rows: list[str] = field(default_factory=list)
    _widths: dict[int, float] = field(default_factory=dict)
    _links: list[tuple[str, str, bool]] = field(default_factory=list)  # (cell, target, external)
    _last_row: int = 0
    _max_col: int = 0
    freeze_row: int | None = None  # first unfrozen row
    auto_filter: str | None = None
    # Printing: every page as wide as the paper (as many pages down as needed), landscape when the
    # columns are wider than a portrait page, and these rows (first, last) repeated at the top of
    # each page; by default the column header just above the frozen rows, else all frozen rows.
    print_title_rows: tuple[int, int] | None = None
    _header_rows: set[int] = field(default_factory=set)

    def mark_header(self, row: int) -> None:
        """``row`` holds column labels (``xlsx_style.header_row`` marks the rows it writes)."""
        self._header_rows.add(row)

    def printed_titles(self) -> tuple[int, int] | None:
        if self.print_title_rows is not None:
            return self.print_title_rows
        if not self.freeze_row or self.freeze_row <= 1:
            return None
        last = self.freeze_row - 1
        return (last, last) if last in self._header_rows else (1, last)

    def landscape(self) -> bool:
        return sum(self._widths.values()) > PORTRAIT_WIDTH_CHARS

    def width(self, column: int, width: float) -> None:
        self._widths[column] = width

    def link(self, row: int, column: int, target: str, *, external: bool = True) -> None:
        self._links.append((f"{_LETTERS[column - 1]}{row}", target, external))

    def row(self, row: int, cells: Sequence[Value | tuple[Value, int]], *, style: int = PLAIN) -> None:
        """Write row ``row`` (1-based, above every row written so far); None cells stay empty."""
        if row <= self._last_row:
            raise ValueError(f"row {row} written after row {self._last_row}")
        self._last_row = row
        strings, r = self._strings, str(row)
        out = [f'<row r="{r}">']
        append = out.append
        base = f' s="{style}"' if style else ""
        # The common types first, by exact type and without calls: this runs for every cell of the
        # workbook (hundreds of thousands on a province-year).
        if len(cells) > len(_LETTERS):
            raise ValueError(f"{len(cells)} cells in a row: at most {len(_LETTERS)}")
        for letter, cell in zip(_LETTERS, cells, strict=False):
            kind = type(cell)
            if kind is str:
                if cell:
                    n = strings.get(cell)  # type: ignore[arg-type]
                    if n is None:
                        n = strings[cell] = len(strings)  # type: ignore[index]
                    append(f'<c r="{letter}{r}"{base} t="s"><v>{n}</v></c>')
            elif kind is int:
                append(f'<c r="{letter}{r}"{base}><v>{cell}</v></c>')
            elif cell is None:
                continue
            elif kind is tuple:
                value, s = cast(tuple[Value, int], cell)
                if value is None:
                    continue
                st = f' s="{s}"' if s else ""
                if type(value) is str:
                    if value:
                        n = strings.get(value)
                        if n is None:
                            n = strings[value] = len(strings)
                        append(f'<c r="{letter}{r}"{st} t="s"><v>{n}</v></c>')
                elif type(value) is int:
                    append(f'<c r="{letter}{r}"{st}><v>{value}</v></c>')
                else:
                    append(_other(f"{letter}{r}", value, s, st, strings))
            elif kind is float and math.isfinite(cell):  # type: ignore[arg-type]
                append(f'<c r="{letter}{r}"{base}><v>{cell!r}</v></c>')
            else:
                append(_other(f"{letter}{r}", cell, style, base, strings))  # type: ignore[arg-type]
        if len(cells) > self._max_col:
            self._max_col = len(cells)
        append("</row>")
        self._rows.append("".join(out))

    def _xml(self, selected: bool) -> tuple[str, list[tuple[str, str]]]:
        """The sheet XML and its external link relationships (id, target)."""
        last = f"{_LETTERS[max(self._max_col, 1) - 1]}{max(self._last_row, 1)}"
        parts = [
            _HEAD,
            f"<worksheet {_NS} {_R_NS}>",
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="A1:{last}"/>',
        ]
        selected_attr = ' tabSelected="1"' if selected else ""
        view = f'<sheetView workbookViewId="0"{selected_attr}'
        if self.freeze_row and self.freeze_row > 1:
            top = f"A{self.freeze_row}"
            parts.append(
                f'<sheetViews>{view}><pane ySplit="{self.freeze_row - 1}" topLeftCell="{top}" '
                f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
                f'activeCell="{top}" sqref="{top}"/></sheetView></sheetViews>'
            )
        else:
            parts.append(f"<sheetViews>{view}/></sheetViews>")
        parts.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self._widths:
            cols = "".join(
                f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>'
                for c, w in sorted(self._widths.items())
            )
            parts.append(f"<cols>{cols}</cols>")
        parts.append("<sheetData>")
        parts.extend(self._rows)
        parts.append("</sheetData>")
        if self.auto_filter:
            parts.append(f'<autoFilter ref="{self.auto_filter}"/>')
        rels: list[tuple[str, str]] = []
        if self._links:
            parts.append("<hyperlinks>")
            for ref, target, external in self._links:
                if external:
                    rid = f"rId{len(rels) + 1}"
                    rels.append((rid, target))
                    parts.append(f'<hyperlink ref="{ref}" r:id="{rid}"/>')
                else:
                    parts.append(f"<hyperlink ref={quoteattr(ref)} location={quoteattr(target)}/>")
            parts.append("</hyperlinks>")
        parts.append(_PRINT_SETUP.format(orientation="landscape" if self.landscape() else "portrait"))
        parts.append("</worksheet>")
        return "".join(parts), rels


class Book:
    def __init__(self) -> None:
        self.sheets: list[Sheet] = []
        self._strings: dict[str, int] = {}
        self.title = ""
        self.creator = ""

    def sheet(self, title: str) -> Sheet:
        made = Sheet(title, self._strings)
        self.sheets.append(made)
        return made

    def save(self) -> bytes:
        out = io.BytesIO()
        # Level 1: a province-year's 24 MB of sheet XML zips in half the time of level 3 (measured:
        # 0.07 s against 0.13 s) for a file about a tenth larger (3.5 MB against 3.2 MB).
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            z.writestr("[Content_Types].xml", self._content_types())
            z.writestr(
                "_rels/.rels",
                _rels(
                    [
                        ("rId1", "officeDocument", "xl/workbook.xml"),
                        ("rId2", "package/2006/relationships/metadata/core-properties", "docProps/core.xml"),
                        ("rId3", "extended-properties", "docProps/app.xml"),
                    ]
                ),
            )
            z.writestr("docProps/core.xml", self._core())
            z.writestr("docProps/app.xml", _APP)
            z.writestr("xl/workbook.xml", self._workbook())
            rels = [
                (f"rId{i}", "worksheet", f"worksheets/sheet{i}.xml") for i in range(1, len(self.sheets) + 1)
            ]
            n = len(self.sheets)
            rels += [
                (f"rId{n + 1}", "styles", "styles.xml"),
                (f"rId{n + 2}", "sharedStrings", "sharedStrings.xml"),
            ]
            z.writestr("xl/_rels/workbook.xml.rels", _rels(rels))
            z.writestr("xl/styles.xml", _STYLES)
            for i, sheet in enumerate(self.sheets, start=1):
                xml, links = sheet._xml(selected=i == 1)
                z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
                if links:
                    z.writestr(
                        f"xl/worksheets/_rels/sheet{i}.xml.rels",
                        _rels([(rid, "hyperlink", target) for rid, target in links], external=True),
                    )
            z.writestr("xl/sharedStrings.xml", self._shared_strings())
        return out.getvalue()

    def _content_types(self) -> str:
        main = "application/vnd.openxmlformats-officedocument"
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            f'ContentType="{main}.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(self.sheets) + 1)
        )
        return (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{main}.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{main}.spreadsheetml.sharedStrings+xml"/>'
            f"{sheets}"
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{main}.extended-properties+xml"/>'
            "</Types>"
        )

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(s.title)} sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self.sheets, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_xml_text(_absolute(s.title, s.auto_filter))}</definedName>"
            for i, s in enumerate(self.sheets)
            if s.auto_filter
        )
        names += "".join(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
            f"{_xml_text(_title_rows(s.title, rows))}</definedName>"
            for i, s in enumerate(self.sheets)
            if (rows := s.printed_titles()) is not None
        )
        return (
            f"{_HEAD}<workbook {_NS} {_R_NS}><workbookPr/>"
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets>"
            f"{f'<definedNames>{names}</definedNames>' if names else ''}"
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        )

    def _shared_strings(self) -> str:
        # Every text cell is a shared string, so defusing formulas (issue 20.3) here costs one check
        # per distinct text rather than one per cell.
        texts = [defuse_formula(s) for s in self._strings]
        items = "".join(
            f'<si><t xml:space="preserve">{_xml_text(s)}</t></si>'
            if s != s.strip() or "\n" in s
            else f"<si><t>{_xml_text(s)}</t></si>"
            for s in texts
        )
        n = len(self._strings)
        return f'{_HEAD}<sst {_NS} count="{n}" uniqueCount="{n}">{items}</sst>'

    def _core(self) -> str:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{_HEAD}<cp:coreProperties "
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_xml_text(self.title)}</dc:title><dc:creator>{_xml_text(self.creator)}</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
            "</cp:coreProperties>"
        )


_APP = (
    f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Loa</Application></Properties>"
)


def _absolute(title: str, ref: str) -> str:
    quoted = "'" + title.replace("'", "''") + "'"
    start, _, end = ref.partition(":")

    def dollar(cell: str) -> str:
        letters = cell.rstrip("0123456789")
        return f"${letters}${cell[len(letters) :]}"

    return f"{quoted}!{dollar(start)}:{dollar(end or start)}"


def _title_rows(title: str, rows: tuple[int, int]) -> str:
    quoted = "'" + title.replace("'", "''") + "'"
    return f"{quoted}!${rows[0]}:${rows[1]}"


def _rels(items: Iterable[tuple[str, str, str]], *, external: bool = False) -> str:
    body = []
    for rid, kind, target in items:
        type_ = (
            f"http://schemas.openxmlformats.org/{kind}" if kind.startswith("package/") else f"{_REL}/{kind}"
        )
        mode = ' TargetMode="External"' if external else ""
        body.append(f'<Relationship Id="{rid}" Type="{type_}" Target={quoteattr(target)}{mode}/>')
    return f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{"".join(body)}</Relationships>'

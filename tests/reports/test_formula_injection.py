"""Issue 20.3: text that a spreadsheet would take for a formula (= + - @, tab, CR first) is stored with a
leading apostrophe in every export (the registers' CSV, the report workbook), and numbers stay numbers."""

from __future__ import annotations

import csv
import io
import warnings

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from loa.accounts.principal import Role
from loa.activities.csvio import read_csv
from loa.activities.registers import EVENTS
from loa.reports.xlsx_stream import Book
from loa.vocab.cells import defuse_formula, restore_formula
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, make_user

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(1)", "\t=1", "-2+3+cmd|' /C calc'!A0", "\r=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_starts_are_defused(text: str) -> None:
    assert defuse_formula(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["", "Hội nghị", "-3", "+84 912 345 678", "-1,5", "12,5 %", "Tin 'trích dẫn'", " =không đầu"]
)
def test_plain_text_and_numbers_as_text_are_kept(text: str) -> None:
    assert defuse_formula(text) == text


@pytest.mark.parametrize("text", [*HOSTILE, "Hội nghị", "'trích dẫn", "'-3"])
def test_restoring_undoes_defusing(text: str) -> None:
    assert restore_formula(defuse_formula(text)) == text


def _load(content: bytes):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_workbook(io.BytesIO(content))


def test_the_workbook_writer_stores_hostile_text_as_defused_text_and_numbers_as_numbers() -> None:
    book = Book()
    sheet = book.sheet("Chi tiết")
    sheet.row(1, [*HOSTILE, -3, -2.5, ("=1+1", 1)])
    ws = _load(book.save())["Chi tiết"]
    cells = list(ws[1])
    for cell, text in zip(cells, HOSTILE, strict=False):
        assert cell.data_type == "s" and cell.value == "'" + text.replace("\r", "\n")  # XML reads CR as LF
    assert cells[6].value == -3 and cells[6].data_type == "n"
    assert cells[7].value == -2.5 and cells[7].data_type == "n"
    assert cells[8].value == "'=1+1" and cells[8].data_type == "s"


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "xabato", Role.COMMUNE_OPERATOR, area_code="21484")
    session.commit()
    return tree


TITLES = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(1)", "-1+cmd"]


def _events(client: TestClient, headers: dict[str, str]) -> None:
    for n, title in enumerate(TITLES):
        response = client.post(
            "/api/v1/activities/events",
            headers=headers,
            json={
                "kind": "hội nghị",
                "held_on": f"2024-02-0{n + 1}",
                "title": title,
                "participants": 80,
                "area_code": "21484",
            },
        )
        assert response.status_code == 201, response.text


def test_register_csv_export_defuses_and_reimports_the_same_text(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    _events(client, headers)
    exported = client.get("/api/v1/activities/events/export.csv", headers=headers)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    cells = {cell for row in rows[1:] for cell in row}
    for title in TITLES:
        assert "'" + title in cells and title not in cells
    assert "80" in cells  # a number stays a plain number
    # The apostrophe is the export's, not the data's: reading the file back gives the titles again.
    table = read_csv(EVENTS, exported.content)
    assert {cells["title"] for _, cells in table.rows} == set(TITLES)


def test_report_workbook_defuses_titles(client: TestClient, tree: Tree) -> None:
    headers = bearer(client, "xabato")
    _events(client, headers)
    payload = {
        "period": {"kind": "quarter", "year": 2024, "index": 1},
        "issued_on": "2024-04-02",
        "area_id": tree.new_x.id,
    }
    report = client.post("/api/v1/reports", headers=headers, json=payload)
    assert report.status_code == 201, report.text
    xlsx = next(f for f in report.json()["files"] if f["format"] == "xlsx")
    download = client.get(xlsx["url"], headers=headers)
    assert download.status_code == 200
    book = _load(download.content)
    values = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    for title in TITLES:
        found = [c for c in values if title in c.value]
        assert found, title
        assert all(
            c.value.startswith("'") and c.data_type == "s" for c in found if c.value.startswith(("'", title))
        )
        assert not any(c.value == title for c in found)
    numbers = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == 80]
    assert numbers and all(c.data_type == "n" for c in numbers)

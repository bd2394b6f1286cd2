"""Uploads that repeat records: rows that duplicate a record of the register or an earlier row of the
same file are listed (in Vietnamese) and nothing is imported until the person confirms; a confirmed
upload is imported once; every step is audited with its counts. Service, API, pages, command line and
Excel files, on a real database."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from loa.accounts.models import AuditEvent
from loa.accounts.principal import Principal, Role
from loa.activities import imports, service
from loa.activities.models import ActivityImport, ImportStatus, PressItem, VisualItem
from loa.activities.registers import PRESS, VISUAL
from loa.cli import app
from loa.errors import Conflict, NotFound
from tests.activities.areas import Tree, build_tree
from tests.support.auth import bearer, login_web, make_user

TODAY = date(2024, 1, 15)
ACT = "/api/v1/activities"
HEADER = "Loại,Cơ quan báo chí,Ngày đăng/phát,Tiêu đề,Mã địa bàn\n"
ROWS = (
    "Tin,Báo Quảng Ngãi,01/03/2023,Ba Tơ cải cách thủ tục,D1\n"  # row 2: already in the register
    "Tin,Báo Quảng Ngãi,02/03/2023,Một cửa liên thông,D1\n"  # row 3: new
    "Tin,Báo Quảng Ngãi,02/03/2023,  một cửa LIÊN THÔNG ,D1\n"  # row 4: repeats row 3
    "Bài,Báo Quảng Ngãi,02/03/2023,Một cửa liên thông,D1\n"  # row 5: another kind, new
)
FILE = (HEADER + ROWS).encode()


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = build_tree(session)
    make_user(session, "tinh", Role.PROVINCE_EDITOR, area_code="51")
    make_user(session, "khac", Role.PROVINCE_EDITOR, area_code="51")
    session.commit()
    return tree


def _principal(session: Session, username: str) -> Principal:
    from loa.accounts.service import get_user_by_username, principal_for

    return principal_for(session, get_user_by_username(session, username))


def _existing(session: Session, principal: Principal) -> int:
    record = service.create_record(
        session,
        spec=PRESS,
        principal=principal,
        data={
            "kind": "news",
            "outlet": "Báo Quảng Ngãi",
            "published_on": "2023-03-01",
            "title": "Ba Tơ cải cách thủ tục",
            "area_code": "D1",
        },
        today=TODAY,
    )
    return record.id


def _press_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(PressItem)) or 0)


def _audit(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_duplicates_wait_for_confirmation_then_import_once(session: Session, tree: Tree) -> None:
    editor = _principal(session, "tinh")
    existing_id = _existing(session, editor)
    outcome = imports.import_file(
        session, spec=PRESS, principal=editor, content=FILE, filename="bao-chi.csv", today=TODAY
    )
    assert outcome.result is None and outcome.preview is not None
    preview = outcome.preview
    assert _press_count(session) == 1  # nothing imported yet
    assert (preview.rows, preview.fresh) == (4, 2)
    by_row = {d.row: d for d in preview.duplicates}
    assert sorted(by_row) == [2, 4]
    assert by_row[2].record_id == existing_id and by_row[2].same_as_row is None
    assert by_row[2].reason == f"Trùng bản ghi số {existing_id} đã có trong sổ"
    assert by_row[4].reason == "Trùng dòng 3 trong tệp" and by_row[4].record_id is None
    assert by_row[2].summary == "Tin · 01/03/2023 · Ba Tơ cải cách thủ tục · Huyện Ba Tơ"
    held = _audit(session, "activity.import_hold")
    assert [e.details["duplicates"] for e in held] == [2]

    # Someone else cannot confirm another person's upload.
    with pytest.raises(NotFound):
        imports.confirm_import(
            session, spec=PRESS, principal=_principal(session, "khac"), import_id=preview.import_id
        )
    result = imports.confirm_import(
        session, spec=PRESS, principal=editor, import_id=preview.import_id, include_rows=[4], today=TODAY
    )
    assert (result.created, result.skipped) == (3, 1)  # rows 3, 4 (chosen) and 5; row 2 left out
    assert _press_count(session) == 4
    with pytest.raises(Conflict) as again:
        imports.confirm_import(session, spec=PRESS, principal=editor, import_id=preview.import_id)
    assert again.value.code == "import_done" and "không nhập lại" in again.value.message
    assert _press_count(session) == 4
    staged = session.get(ActivityImport, preview.import_id)
    assert staged is not None and staged.status is ImportStatus.IMPORTED and staged.content == b""
    done = _audit(session, "activity.import")
    assert [
        (e.details["rows"], e.details["created"], e.details["duplicates"], e.details["skipped"]) for e in done
    ] == [(4, 3, 2, 1)]
    assert done[0].details["file"] == "bao-chi.csv" and done[0].actor_name == "tinh"


def test_skip_and_include_policies(session: Session, tree: Tree) -> None:
    editor = _principal(session, "tinh")
    _existing(session, editor)
    skipped = imports.import_file(
        session, spec=PRESS, principal=editor, content=FILE, duplicates="skip", today=TODAY
    )
    assert skipped.result is not None and (skipped.result.created, skipped.result.skipped) == (2, 2)
    assert _press_count(session) == 3
    included = imports.import_file(
        session, spec=PRESS, principal=editor, content=FILE, duplicates="include", today=TODAY
    )
    assert included.result is not None and included.result.created == 4
    assert _press_count(session) == 7


def test_a_cancelled_upload_imports_nothing(session: Session, tree: Tree) -> None:
    editor = _principal(session, "tinh")
    _existing(session, editor)
    outcome = imports.import_file(session, spec=PRESS, principal=editor, content=FILE, today=TODAY)
    assert outcome.preview is not None
    imports.cancel_import(session, spec=PRESS, principal=editor, import_id=outcome.preview.import_id)
    with pytest.raises(Conflict):
        imports.confirm_import(session, spec=PRESS, principal=editor, import_id=outcome.preview.import_id)
    assert _press_count(session) == 1
    assert [e.details["rows"] for e in _audit(session, "activity.import_cancel")] == [4]


def test_a_row_that_became_a_duplicate_meanwhile_is_left_out(session: Session, tree: Tree) -> None:
    editor = _principal(session, "tinh")
    _existing(session, editor)
    outcome = imports.import_file(session, spec=PRESS, principal=editor, content=FILE, today=TODAY)
    assert outcome.preview is not None
    # Meanwhile the same file goes in another way (skipping its duplicates): rows 3 and 5 now exist.
    imports.import_file(session, spec=PRESS, principal=editor, content=FILE, duplicates="skip", today=TODAY)
    assert _press_count(session) == 3
    result = imports.confirm_import(
        session, spec=PRESS, principal=editor, import_id=outcome.preview.import_id
    )
    assert (result.created, result.skipped) == (0, 4)
    assert _press_count(session) == 3


def _xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["Loại", "Địa điểm", "Rộng (m)", "Cao (m)", "Số mặt", "Số lượng", "Ngày lắp đặt", "Mã địa bàn", None]
    )
    sheet.append(["Pa nô", "Dọc con lươn", 1.8, 1.2, 2, 3, datetime(2023, 3, 15), "D1"])
    sheet.append(["Băng rôn", "Trung tâm huyện", None, None, None, 5, date(2023, 2, 1), "D1"])
    sheet.append(["Pa nô", "Dọc con lươn", 1.8, 1.2, 2, 3, datetime(2023, 3, 15), "D1"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_file_is_read_like_a_csv(session: Session, tree: Tree) -> None:
    editor = _principal(session, "tinh")
    outcome = imports.import_file(session, spec=VISUAL, principal=editor, content=_xlsx(), today=TODAY)
    assert outcome.preview is not None and [d.row for d in outcome.preview.duplicates] == [4]
    assert outcome.preview.encoding == "tệp Excel (.xlsx)"
    result = imports.confirm_import(
        session, spec=VISUAL, principal=editor, import_id=outcome.preview.import_id
    )
    assert result.created == 2
    items = {i.place: i for i in session.scalars(select(VisualItem))}
    panel, banner = items["Dọc con lươn"], items["Trung tâm huyện"]
    assert (panel.width_m, panel.height_m, panel.sides, panel.quantity) == (1.8, 1.2, 2, 3)
    assert panel.installed_on == date(2023, 3, 15)
    assert (banner.width_m, banner.quantity, banner.installed_on) == (None, 5, date(2023, 2, 1))


def test_api_holds_duplicates_until_confirmed(client: TestClient, session: Session, tree: Tree) -> None:
    _existing(session, _principal(session, "tinh"))
    session.commit()
    headers = bearer(client, "tinh")
    files = {"file": ("bao-chi.csv", FILE, "text/csv")}
    held = client.post(f"{ACT}/press-items/import", headers=headers, files=files)
    assert held.status_code == 409, held.text
    problem = held.json()
    assert problem["code"] == "import_duplicates" and "chưa nhập dòng nào" in problem["title"]
    details = problem["details"]
    assert [d["row"] for d in details["duplicates"]] == [2, 4] and details["rows"] == 4
    assert _press_count(session) == 1
    url = details["confirm_url"]
    assert client.get(url, headers=headers).json()["duplicates"][1]["reason"] == "Trùng dòng 3 trong tệp"
    confirmed = client.post(url, headers=headers, json={"include_all": True})
    assert confirmed.status_code == 201, confirmed.text
    assert (confirmed.json()["created"], confirmed.json()["skipped"]) == (4, 0)
    twice = client.post(url, headers=headers, json={"include_all": True})
    assert twice.status_code == 409 and twice.json()["code"] == "import_done"
    assert _press_count(session) == 5
    skipped = client.post(
        f"{ACT}/press-items/import", headers=headers, files=files, data={"duplicates": "skip"}
    )
    assert skipped.status_code == 201 and skipped.json()["created"] == 0 and skipped.json()["skipped"] == 4


def test_pages_list_the_duplicate_rows_with_boxes_to_tick(
    client: TestClient, session: Session, tree: Tree
) -> None:
    _existing(session, _principal(session, "tinh"))
    session.commit()
    csrf = login_web(client, "tinh")
    files = {"file": ("bao-chi.csv", FILE, "text/csv")}
    posted = client.post(
        "/activities/press-items/import", data={"csrf_token": csrf}, files=files, follow_redirects=False
    )
    assert posted.status_code == 303 and "/activities/press-items/imports/" in posted.headers["location"]
    page = client.get(posted.headers["location"])
    assert page.status_code == 200
    assert "Tệp có 4 dòng hợp lệ, trong đó <strong>2 dòng trùng</strong>" in page.text
    table = page.text.split('data-testid="duplicate-rows"', 1)[1].split("</table>", 1)[0]
    assert table.count('type="checkbox" name="row"') == 2
    assert "Trùng dòng 3 trong tệp" in table and "Tin · 01/03/2023 · Ba Tơ cải cách thủ tục" in table
    assert "Nhập cả các dòng trùng" in page.text
    assert _press_count(session) == 1
    confirmed = client.post(
        posted.headers["location"],
        data={"csrf_token": csrf, "row": "2", "action": "import"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    flash = client.get("/activities/press-items").text
    assert "Đã nhập 3 tin, bài từ tệp «bao-chi.csv» (mã hóa UTF-8); bỏ qua 1 dòng trùng." in flash
    assert _press_count(session) == 4
    again = client.post(posted.headers["location"], data={"csrf_token": csrf, "row": "2"})
    assert "đã được nhập" in again.text and _press_count(session) == 4


def test_command_line_lists_duplicates_and_imports_on_request(
    tmp_path: Path, session: Session, tree: Tree, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LOA_DEMO", "1")
    _existing(session, _principal(session, "tinh"))
    session.commit()
    path = tmp_path / "bao-chi.csv"
    path.write_bytes(FILE)
    runner = CliRunner()
    held = runner.invoke(app, ["activities", "import", "press-items", str(path)])
    assert held.exit_code == 3, held.output
    assert "Chưa nhập dòng nào: tệp có 2 dòng trùng (trong 4 dòng)." in held.stderr
    assert (
        "Dòng 4: Tin · 02/03/2023 · một cửa LIÊN THÔNG · Huyện Ba Tơ — Trùng dòng 3 trong tệp" in held.stderr
    )
    assert _press_count(session) == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ActivityImport)) == 0  # nothing kept either
    done = runner.invoke(app, ["activities", "import", "press-items", str(path), "--duplicates", "skip"])
    assert done.exit_code == 0, done.output
    assert "Đã nhập 2 tin, bài vào sổ «Cộng tác báo chí, phát thanh, truyền hình»" in done.output
    assert "bỏ qua 2 dòng trùng" in done.output
    assert _press_count(session) == 3

"""``loa activities import`` and ``loa reports generate`` through the real CLI, on the test database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from loa.activities.models import VisualItem
from loa.cli import app
from loa.reports.models import Report
from tests.activities.areas import Tree, build_tree

runner = CliRunner()
CSV_HEADER = "Loại,Địa điểm,Rộng (m),Cao (m),Số mặt,Ngày lắp đặt,Chủ đề\n"


@pytest.fixture
def tree(session: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Tree:
    tree = build_tree(session)
    session.commit()
    monkeypatch.setenv("LOA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LOA_DEMO", "1")
    return tree


def _count(session: Session, model: type[VisualItem] | type[Report]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_lists_row_errors_then_imports(tmp_path: Path, session: Session, tree: Tree) -> None:
    bad = tmp_path / "sai.csv"
    bad.write_text(
        CSV_HEADER + '"Pa nô","Ngã ba",4,6,1,02/01/2024,CCHC\n"Băng rôn","Chợ",-1,6,1,03/01/2024,\n'
    )
    result = runner.invoke(app, ["activities", "import", "visual-items", str(bad), "--area", "21484"])
    assert result.exit_code == 2
    assert "Dòng 3, cột «Rộng (m)»: Rộng (m) phải lớn hơn 0: -1 (giá trị: -1)" in result.stderr
    assert _count(session, VisualItem) == 0

    good = tmp_path / "dung.csv"
    good.write_text(
        CSV_HEADER + '"Pa nô","Ngã ba",4,6,1,02/01/2024,CCHC\n"Băng rôn","Chợ",0.8,6,1,03/01/2024,\n'
    )
    done = runner.invoke(
        app, ["activities", "import", "tuyen truyen truc quan", str(good), "--area", "21484"]
    )
    assert done.exit_code == 0, done.output
    assert "Đã nhập 2 sản phẩm trực quan vào sổ «Tuyên truyền trực quan»" in done.output
    assert _count(session, VisualItem) == 2


def test_generate_writes_documents(tmp_path: Path, session: Session, tree: Tree) -> None:
    csv = tmp_path / "bang-ron.csv"
    csv.write_text(CSV_HEADER + '"Băng rôn","Cổng UBND",0.8,6,1,03/01/2024,CCHC\n', encoding="utf-8")
    assert (
        runner.invoke(app, ["activities", "import", "visual-items", str(csv), "--area", "21484"]).exit_code
        == 0
    )
    out = tmp_path / "bao-cao"
    args = ["reports", "generate", "--year", "2024", "--topic", "CCHC", "--area", "21484", "--out", str(out)]
    result = runner.invoke(app, [*args, "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "Tuyên truyền trực quan: 01 băng rôn" in result.output
    files = sorted(p.suffix for p in out.iterdir())
    assert files == [".docx", ".xlsx"]
    docx = next(out.glob("*.docx")).read_bytes()
    assert any("01 băng rôn" in p.text for p in Document(io.BytesIO(docx)).paragraphs)
    district = runner.invoke(
        app,
        ["reports", "generate", "--year", "2024", "--former-district", "D1", "--out", str(out), "--no-pdf"],
    )
    assert district.exit_code == 0, district.output
    assert "Báo cáo Kết quả công tác tuyên truyền năm 2024 — Huyện Ba Tơ." in district.output
    not_district = runner.invoke(
        app, ["reports", "generate", "--year", "2024", "--former-district", "21484", "--no-pdf"]
    )
    assert not_district.exit_code != 0 and "không phải là huyện cũ" in str(not_district.exception)
    assert _count(session, Report) == 2
    # The assessment: drafted from the figures, or the edited text of a file; the contents from a file.
    assert "  Đánh giá chung (hệ thống soạn từ số liệu): Trong năm 2024 và năm 2023, chưa ghi nhận" in (
        result.output
    )
    edited, contents = tmp_path / "danh-gia.txt", tmp_path / "noi-dung.txt"
    edited.write_text("Hoàn thành kế hoạch tuyên truyền năm.\n", encoding="utf-8")
    contents.write_text("Cải cách thủ tục hành chính\nChữ ký số\n", encoding="utf-8")
    signed = runner.invoke(
        app,
        [*args, "--no-pdf", "--assessment-file", str(edited), "--contents-file", str(contents)],
    )
    assert signed.exit_code == 0, signed.output
    assert "  Đánh giá chung (theo tệp đã sửa): Hoàn thành kế hoạch tuyên truyền năm." in signed.output
    newest = max(out.glob("*.docx"), key=lambda p: p.stat().st_mtime_ns)
    texts = [p.text for p in Document(io.BytesIO(newest.read_bytes())).paragraphs]
    assert "Hoàn thành kế hoạch tuyên truyền năm." in texts and "- Chữ ký số" in texts

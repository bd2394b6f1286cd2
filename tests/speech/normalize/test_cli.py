"""``loa speech normalize`` end to end through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from loa.cli import app

runner = CliRunner()


def test_normalize_argument() -> None:
    result = runner.invoke(app, ["speech", "normalize", "Kế hoạch 56/KH-UBND ngày 29/4/2020"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Kế hoạch số năm mươi sáu, kế hoạch, ủy ban nhân dân ngày hai mươi chín tháng tư năm hai nghìn "
        "không trăm hai mươi."
    )


def test_normalize_stdin_with_report() -> None:
    result = runner.invoke(app, ["speech", "normalize", "--report"], input="Gọi 113 hoặc XYZT 😀\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Gọi một một ba hoặc XYZT 😀."
    assert "Chỗ khó đọc (2):" in lines
    assert "- “XYZT” (ký tự 14–17): Từ viết tắt chưa có trong từ điển" in lines


def test_report_says_when_everything_is_readable() -> None:
    result = runner.invoke(app, ["speech", "normalize", "--report", "UBND xã"])
    assert "Không có chỗ khó đọc." in result.output


def test_south_and_overrides(tmp_path: Path) -> None:
    overrides = tmp_path / "doc-rieng.txt"
    overrides.write_text("TT-VH-TT = thông tin văn hóa thể thao\n", "utf-8")
    result = runner.invoke(
        app, ["speech", "normalize", "--south", "--overrides", str(overrides), "TT-VH-TT có 1.005 hộ"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "thông tin văn hóa thể thao có một ngàn không trăm lẻ năm hộ."


def test_bad_overrides_file_is_a_vietnamese_error(tmp_path: Path) -> None:
    from loa.errors import InvalidInput

    overrides = tmp_path / "sai.txt"
    overrides.write_text("không có dấu bằng\n", "utf-8")
    result = runner.invoke(app, ["speech", "normalize", "--overrides", str(overrides), "x"])
    assert isinstance(result.exception, InvalidInput)
    assert "dòng 1" in result.exception.message

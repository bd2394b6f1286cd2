"""``loa speech say`` and ``loa speech voices`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from loa.cli import app
from loa.errors import InvalidInput
from tests.speech.audio.media import measure_file

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No secret key, no demo mode, no database: speech commands need none of them."""
    monkeypatch.delenv("LOA_SECRET_KEY", raising=False)
    monkeypatch.delenv("LOA_DEMO", raising=False)
    monkeypatch.setenv("LOA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LOA_DATABASE_URL", raising=False)
    return tmp_path


def test_say_writes_a_broadcast_ready_mp3_without_secret_or_database(cli_env: Path) -> None:
    out = cli_env / "ban-tin" / "thong-bao.mp3"
    result = runner.invoke(
        app,
        ["speech", "say", "Sáng 15/3, UBND xã Ba Tơ họp dân.", "-o", str(out), "--voice", "vi-vn-x-south"],
    )
    assert result.exit_code == 0, result.output
    assert "Đã ghi" in result.output and "LUFS" in result.output
    measured = measure_file(out.read_bytes())
    assert measured.loudness_lufs == pytest.approx(-16, abs=1) and measured.true_peak_dbtp <= -1.5
    assert not (cli_env / "data").exists()  # touched no database and no store
    assert not list(cli_env.joinpath("ban-tin").glob(".loa-say-*"))


def test_say_reports_what_it_could_not_read(cli_env: Path) -> None:
    out = cli_env / "tin.mp3"
    result = runner.invoke(app, ["speech", "say", "Điểm 8^2 đạt yêu cầu.", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Chỗ khó đọc (1):" in result.output and "Ký hiệu “^” không đọc được" in result.output
    assert out.exists()


def test_say_reads_stdin_and_writes_opus(cli_env: Path) -> None:
    out = cli_env / "tin.opus"
    result = runner.invoke(app, ["speech", "say", "-o", str(out)], input="Xin chào bà con.\n")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"OggS"


def test_say_refuses_bad_requests(cli_env: Path) -> None:
    for args in (
        ["", "-o", "x.mp3"],
        ["Xin chào", "-o", "x.wav"],
        ["Xin chào", "-o", "x.mp3", "--voice", "en"],
    ):
        result = runner.invoke(app, ["speech", "say", *args])
        assert isinstance(result.exception, InvalidInput), args
    assert not (cli_env / "x.mp3").exists()


def test_voices_lists_gender_region_and_rate(cli_env: Path) -> None:
    result = runner.invoke(app, ["speech", "voices"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("espeak:vi\t") and "(mặc định)" in lines[0]
    assert "Giọng miền Nam" in lines[2] and "175 tiếng/phút" in lines[2]

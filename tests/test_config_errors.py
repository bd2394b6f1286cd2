"""Configuration errors reach a person as one Vietnamese sentence each, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from loa.config_errors import describe
from loa.settings import Settings


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from loa.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env["LOA_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_missing_secret_is_one_vietnamese_sentence(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], clean_env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Lỗi cấu hình: LOA_SECRET_KEY chưa đặt hoặc là giá trị mẫu"
    )
    assert "Value error" not in result.stderr and "unset" not in result.stderr


def test_each_wrong_setting_names_its_variable(clean_env: dict[str, str], tmp_path: Path) -> None:
    env = clean_env | {"LOA_PORT": "tám nghìn", "LOA_MQTT_MODE": "cloud", "LOA_DEMO": "1"}
    result = _run(["db", "upgrade"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Lỗi cấu hình: Giá trị của LOA_PORT phải là một số nguyên.",
        "Lỗi cấu hình: Giá trị của LOA_MQTT_MODE không hợp lệ; chỉ nhận: embedded, external.",
    ]


def test_speech_text_commands_run_without_secret(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = _run(["speech", "normalize", "--report", "Giá 20$ ngày 15/3"], clean_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Giá hai mươi đô la ngày mười lăm tháng ba.")
    voices = _run(["speech", "voices"], clean_env, tmp_path)
    assert voices.returncode == 0, voices.stderr
    assert "espeak:vi-vn-x-central" in voices.stdout
    assert not (tmp_path / "data").exists()


def test_a_weak_secret_is_one_sentence_without_pydantic_words() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_key="ngắn")  # type: ignore[arg-type]
    sentences = describe(caught.value)
    assert len(sentences) == 1 and sentences[0].startswith("LOA_SECRET_KEY quá yếu")

"""The agent's configuration file: a broken CA bundle for MQTT over TLS is refused when the agent
starts, in one Vietnamese line, not as a stack trace when it first connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from loa.agent.cli import run
from loa.agent.config import AgentConfig
from tests.fleet.test_tls import make_ca


def _write(tmp_path: Path, ca_line: str) -> Path:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'server_url = "https://loa.example.vn"\ndata_dir = "data"\nmqtt_tls = true\n{ca_line}\n'
    )
    return config


def test_a_missing_or_broken_ca_file_is_a_clear_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_write(tmp_path, 'mqtt_ca_file = "khong-co.pem"')) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi cấu hình") and "không đọc được chứng chỉ CA" in err and "Traceback" not in err
    (tmp_path / "hong.pem").write_text("-----BEGIN CERTIFICATE-----\nkhông phải chứng chỉ\n")
    assert run(_write(tmp_path, 'mqtt_ca_file = "hong.pem"')) == 2
    assert "không đọc được chứng chỉ CA" in capsys.readouterr().err


def test_a_relative_ca_file_is_found_beside_the_configuration(tmp_path: Path) -> None:
    _, _, ca = make_ca(tmp_path, "loa")
    config = AgentConfig.load(_write(tmp_path, f'mqtt_ca_file = "{ca.name}"'))
    assert config.mqtt_ca_file == ca.resolve()

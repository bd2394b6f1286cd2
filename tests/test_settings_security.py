"""Settings refuse a weak secret key outside demo mode, and demo mode stays on this machine
(issue 20, point 10)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from loa.settings import Settings, is_loopback
from tests.support.cli import run_loa


def make(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, _env_file=None, **values)  # type: ignore[arg-type, call-arg]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "changeme",
        secrets.token_hex(16),  # 16 random bytes
        "a" * 80,
        "0123" * 20,
        "test-secret-key-0123456789abcdef",
        "mot-chuoi-bi-mat-cua-xa-ba-to!!",
    ],
    ids=[
        "empty",
        "changeme",
        "16-random-bytes",
        "one-letter",
        "repeated",
        "test-key",
        "a-phrase",
    ],  # stable ids: xdist
)
def test_weak_secret_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValidationError, match="LOA_SECRET_KEY"):
        make(tmp_path, secret_key=key)


@pytest.mark.parametrize(
    "key",
    [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)],
    ids=[
        "hex-32",
        "urlsafe-32",
        "urlsafe-48",
    ],  # random values, stable ids: pytest-xdist workers must collect alike
)
def test_random_keys_of_32_bytes_are_accepted(tmp_path: Path, key: str) -> None:
    assert make(tmp_path, secret_key=key).secret_key.get_secret_value() == key


def test_demo_mode_allows_the_demo_secret_but_only_on_loopback(tmp_path: Path) -> None:
    make(tmp_path, demo=True)
    make(tmp_path, demo=True, host="localhost", mqtt_host="::1")
    for field in ("host", "mqtt_host"):
        with pytest.raises(ValidationError, match="chỉ chạy trên địa chỉ nội bộ"):
            make(tmp_path, demo=True, **{field: "0.0.0.0"})


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.8.8", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("::", False),
        ("loa.example.vn", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_trusted_proxies_must_be_networks(tmp_path: Path) -> None:
    assert make(tmp_path, demo=True, trusted_proxies="10.0.0.0/8, 127.0.0.1").trusted_proxy_networks
    with pytest.raises(ValidationError, match="LOA_TRUSTED_PROXIES"):
        make(tmp_path, demo=True, trusted_proxies="10.0.0.0/8, ở-đâu-đó")


def test_the_demo_command_refuses_to_listen_on_the_network(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_loa(monkeypatch, engine, capsys, "demo", "--host", "0.0.0.0")
    assert code == 2
    assert "chỉ chạy trên địa chỉ nội bộ" in err
    code, _out, err = run_loa(monkeypatch, engine, capsys, "serve", "--host", "192.168.1.20")
    assert code == 2 and "chỉ chạy trên địa chỉ nội bộ" in err  # LOA_DEMO=1 (run_loa) with serve too

"""``loa …`` through the real entry point (``loa.cli.main``) against a test database."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import Engine

from loa.cli import main


def run_loa(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``loa *args`` in demo mode on ``engine``'s database."""
    monkeypatch.setenv("LOA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LOA_DEMO", "1")
    monkeypatch.setattr(sys, "argv", ["loa", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err

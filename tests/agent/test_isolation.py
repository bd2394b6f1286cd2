"""The agent installs alone on a small board: importing it must not pull in the server's stack."""

from __future__ import annotations

import subprocess
import sys

SERVER_ONLY = ("sqlalchemy", "fastapi", "starlette", "typer", "alembic", "amqtt", "jinja2", "numpy", "av")


def test_agent_imports_only_protocol_and_its_own_dependencies() -> None:
    code = (
        "import sys, loa.agent.runtime, loa.agent.cli;"
        f"print(','.join(m for m in {SERVER_ONLY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

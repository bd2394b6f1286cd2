"""``loa agent run --config FILE`` (and ``python -m loa.agent --config FILE`` without the server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from pydantic import ValidationError


def run(config_path: Path) -> int:
    from loa.agent.config import AgentConfig
    from loa.agent.runtime import RESTART_EXIT_CODE, Agent, EnrolmentError, RestartRequested

    try:
        config = AgentConfig.load(config_path)
    except (OSError, ValueError, ValidationError) as err:
        sys.stderr.write(f"Lỗi cấu hình {config_path}: {err}\n")
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(Agent(config).run())
    except EnrolmentError as err:
        sys.stderr.write(f"Lỗi: {err}\n")
        return 2
    except RestartRequested:
        return RESTART_EXIT_CODE
    return 0


def status(config_path: Path) -> int:
    """For a technician on site: the broker link's last state, from the data directory."""
    from loa.agent.config import AgentConfig
    from loa.agent.link import describe

    try:
        config = AgentConfig.load(config_path)
    except (OSError, ValueError, ValidationError) as err:
        sys.stderr.write(f"Lỗi cấu hình {config_path}: {err}\n")
        return 2
    sys.stdout.write(describe(config.data_dir) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loa-agent", description="Phần mềm trên cụm loa Loa.")
    parser.add_argument("--config", type=Path, required=True, help="tệp cấu hình TOML")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--status", action="store_true", help="in trạng thái kết nối máy chủ tin nhắn rồi thoát"
    )
    args = parser.parse_args(argv)
    if args.status:
        return status(args.config)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    return run(args.config)


def _typer_app() -> object:
    import typer

    app = typer.Typer(help="Phần mềm trên cụm loa (tác tử).", no_args_is_help=True)

    @app.command("run")
    def run_command(config: Path = typer.Option(..., "--config", help="Tệp cấu hình TOML")) -> None:
        """Chạy tác tử cụm loa với tệp cấu hình."""
        raise typer.Exit(run(config))

    return app


def __getattr__(name: str) -> object:
    # ``app`` is built lazily so the agent alone (without typer) can import this module.
    if name == "app":
        return _typer_app()
    raise AttributeError(name)

"""What every ``loa`` sub-command needs: settings built once, an engine, the process wired by the
entry point (``loa.cli`` hands it ``loa.wiring.wire``), a session scope, output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loa.db import make_engine
from loa.process import Process
from loa.settings import Settings


@dataclass
class CliContext:
    """Held in ``typer.Context.obj``; settings are built lazily so ``--help`` needs no config.
    ``wire`` connects the domains of this process (``loa.wiring.wire``, given by ``loa.cli``)."""

    wire: Callable[[Engine, Settings], Process]
    overrides: dict[str, object] = field(default_factory=dict)

    @cached_property
    def settings(self) -> Settings:
        return Settings(**self.overrides)  # type: ignore[arg-type]

    @cached_property
    def settings_without_secret(self) -> Settings:
        """For commands that touch no database and sign nothing (text normalisation, synthesis to
        a file, the list of voices): they run without ``LOA_SECRET_KEY``."""
        return Settings.without_secret(**self.overrides)

    @cached_property
    def engine(self) -> Engine:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def process(self) -> Process:
        """This command's process: sessions with every change handler subscribed, its doorbell and
        periodic work (one per command, so ``loa demo``'s web app and gateway share it)."""
        return self.wire(self.engine, self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block succeeds."""
        with self.process.sessions() as session, session.begin():
            yield session


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # only the ``loa`` command makes one (``loa.cli._root``)
        raise RuntimeError("a loa sub-command was run outside the loa command")
    return obj


def echo(message: str) -> None:
    typer.echo(message)


def fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"Lỗi: {message}\n")
    raise typer.Exit(code)

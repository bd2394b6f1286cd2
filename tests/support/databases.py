"""Real databases for tests: a migrated template per backend, and a fresh copy of it per test.

SQLite: the template is a file, copied per test. PostgreSQL: the template is a database, cloned with
``CREATE DATABASE … TEMPLATE …`` per test. Both run the real Alembic migrations, so every test also
exercises them. Extra templates (e.g. with all administrative units imported) are built once per run
by a seeding function and cloned the same way.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loa.db import make_engine, make_session_factory
from loa.db.migrate import upgrade

Seeder = Callable[[Session], None]

POSTGRES_ENV = "LOA_TEST_POSTGRES_URL"
REQUIRE_ENV = "LOA_TEST_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


@dataclass
class SqliteBackend:
    root: Path
    name: str = "sqlite"
    _templates: dict[str, Path] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def _template(self, key: str, seed: Seeder | None) -> Path:
        if key not in self._templates:
            path = self.root / f"template-{key}.sqlite3"
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            if seed is not None:
                _run_seed(engine, seed)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            self._templates[key] = path
        return self._templates[key]

    @contextmanager
    def database(self, key: str = "base", seed: Seeder | None = None) -> Iterator[Engine]:
        template = self._template(key, seed)
        path = self.root / f"test-{next(self._counter)}.sqlite3"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


@dataclass
class PostgresBackend:
    url: str
    name: str = "postgres"
    _templates: dict[str, str] = field(default_factory=dict)
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def _admin(self) -> Engine:
        return create_engine(self.url, isolation_level="AUTOCOMMIT")

    def _url_for(self, dbname: str) -> str:
        return make_url(self.url).set(database=dbname).render_as_string(hide_password=False)

    def _template(self, key: str, seed: Seeder | None) -> str:
        if key not in self._templates:
            name = f"loa_tpl_{self._run_id}_{key}"
            admin = self._admin()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            engine = make_engine(self._url_for(name))
            upgrade(engine)
            if seed is not None:
                _run_seed(engine, seed)
            engine.dispose()
            self._templates[key] = name
        return self._templates[key]

    @contextmanager
    def database(self, key: str = "base", seed: Seeder | None = None) -> Iterator[Engine]:
        template = self._template(key, seed)
        name = f"loa_t_{self._run_id}_{next(self._counter)}"
        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        engine = make_engine(self._url_for(name))
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    def close(self) -> None:
        admin = self._admin()
        with admin.connect() as conn:
            for name in self._templates.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_seed(engine: Engine, seed: Seeder) -> None:
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        seed(session)


def postgres_reachable(url: str) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False

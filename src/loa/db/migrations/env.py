"""Alembic environment: the engine comes from ``loa.db.migrate`` (never from a global URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from loa.db.models import load_all_models
from loa.db.partitions import is_partition_name

config = context.config


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Monthly partitions (``loa.db.partitions``) are no tables of the models."""
    return not (type_ == "table" and is_partition_name(name))


target_metadata = load_all_models().metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through loa.db.migrate (loa db upgrade)")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename) to alter it on SQLite: with foreign keys
            # on, dropping the old ``devices`` would delete every row that cascades from it (play
            # receipts). Off for the migration (it only takes effect outside a transaction), checked
            # after, on again for whatever uses this connection next.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")


run_migrations_online()

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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""Models and migrations must agree, on every backend; upgrade → downgrade → upgrade must work."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from loa.db.migrate import current_revision, downgrade, upgrade
from loa.db.models import load_all_models
from loa.db.partitions import is_partition_name


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    metadata = load_all_models().metadata
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: not (kind == "table" and is_partition_name(name)),
            },
        )
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    tables = set(load_all_models().metadata.tables)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) & tables == set()
    upgrade(engine)
    assert current_revision(engine) is not None
    assert tables <= set(inspect(engine).get_table_names())

"""The migrations build the schema the models describe: a column, index or table added to
models/tables.py without its migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (the tables, registered on SQLModel.metadata)
from store.migrate import upgrade


def test_the_migrated_schema_is_the_models_schema(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == [], f"write a migration (store/migrate.py autogenerate) for: {differences}"

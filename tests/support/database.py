"""A fresh, migrated database for one test: a SQLite file in the test's folder, or, when
PROCTORFLOW_TEST_POSTGRES is set (CI does), a new database on that PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from store.migrate import upgrade

POSTGRES = os.environ.get("PROCTORFLOW_TEST_POSTGRES")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432


def fresh_database_url(tmp_path: Path) -> str:
    if not POSTGRES:
        url = f"sqlite:///{tmp_path / 'proctorflow.db'}"
    else:
        name = f"test_{uuid.uuid4().hex[:16]}"
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = f"{POSTGRES}/{name}"
    upgrade(url)
    return url

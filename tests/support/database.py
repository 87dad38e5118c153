"""A fresh, migrated database for one test: a SQLite file in the test's folder, or, when
PROCTORFLOW_TEST_POSTGRES is set (CI does), a new database on that PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.tables import (
    Attempt,
    AttemptEvent,
    Certificate,
    Course,
    CourseProgress,
    Learner,
    Lesson,
    LessonProgress,
    Notice,
    ReviewTask,
    WebhookDelivery,
)
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


# --- The database, taken away -------------------------------------------------------------------

# What ProctorFlow writes: under PostgreSQL, the tables locked against writers for the outage.
WRITTEN_TABLES = [
    table.__tablename__  # type: ignore[attr-defined]
    for table in (
        Attempt,
        AttemptEvent,
        ReviewTask,
        LessonProgress,
        CourseProgress,
        Certificate,
        Learner,
        WebhookDelivery,
        Course,
        Lesson,
        Notice,
    )
]


class DatabaseOutage:
    """The database refuses every writer for a while, as when its disk stalls or a migration
    holds its locks: another connection holds the write lock. SQLite: a transaction begun
    IMMEDIATE holds the whole database's write lock (readers go on, in WAL mode; writers wait
    out their busy timeout, `store.db.LOCK_WAIT_MS`, and fail). PostgreSQL: ProctorFlow's
    tables locked EXCLUSIVE (plain reads go on; writers and row locks wait). Held from a thread
    of its own, so a test that fails meanwhile gives the database back at once (`hold` is
    cancelled); or for a block, `locked()`."""

    def __init__(self, database_url: str) -> None:
        self._url = make_url(database_url)
        self._give_back = threading.Event()
        self.held_seconds = 0.0

    async def hold(self, seconds: float) -> None:
        try:
            await asyncio.to_thread(self._hold, seconds)
        finally:
            self._give_back.set()

    def _hold(self, seconds: float) -> None:
        with self.locked():
            began = time.monotonic()
            self._give_back.wait(seconds)
            self.held_seconds = time.monotonic() - began

    @contextmanager
    def locked(self) -> Iterator[None]:
        if self._url.get_backend_name() == "sqlite":
            connection = sqlite3.connect(self._url.database or "", timeout=60, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield
                connection.execute("ROLLBACK")
            finally:
                connection.close()
            return
        import psycopg

        plain = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as connection:
            connection.execute(f"LOCK TABLE {', '.join(WRITTEN_TABLES)} IN EXCLUSIVE MODE")
            yield
            connection.rollback()

"""deploy/postgres-init.sh, run as the compose file's postgres image runs it, on a real PostgreSQL
(PROCTORFLOW_TEST_POSTGRES; CI's PostgreSQL run): ProctorFlow's and Temporal's roles are
neither superusers nor able to create roles or databases, each owns its databases and neither
may connect to the other's."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.database import POSTGRES

SCRIPT = Path(__file__).parents[2] / "deploy" / "postgres-init.sh"
PASSWORDS = {"proctorflow": "pf 'quoted' pw", "temporal": 't "quoted" pw'}
DATABASES = ("proctorflow", "temporal", "temporal_visibility")

pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs PROCTORFLOW_TEST_POSTGRES (CI's PostgreSQL run)")


def connect(user: str, database: str) -> psycopg.Connection:
    url = make_url(POSTGRES or "")
    return psycopg.connect(host=url.host, port=url.port, user=user, dbname=database, autocommit=True)


def drop_everything() -> None:
    with connect(make_url(POSTGRES or "").username or "postgres", "postgres") as admin:
        for database in DATABASES:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in PASSWORDS:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def initialised() -> Iterator[None]:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (Debian's postgresql-client)")
    url = make_url(POSTGRES or "")
    drop_everything()  # a run stopped halfway may have left them
    result = subprocess.run(
        ["sh", str(SCRIPT)],
        env={
            "PATH": os.environ["PATH"],
            "PGHOST": url.host or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "PROCTORFLOW_DB_PASSWORD": PASSWORDS["proctorflow"],
            "TEMPORAL_DB_PASSWORD": PASSWORDS["temporal"],
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    yield
    drop_everything()


def test_each_role_owns_its_databases_and_cannot_reach_the_others(initialised):
    for role, own, others in (
        ("proctorflow", ["proctorflow"], ["temporal", "temporal_visibility"]),
        ("temporal", ["temporal", "temporal_visibility"], ["proctorflow"]),
    ):
        for database in own:
            with connect(role, database) as connection:
                connection.execute("CREATE TABLE probe (id int)")  # what migrations and setup-schema do
                connection.execute("DROP TABLE probe")
        for database in others:
            with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
                connect(role, database).close()


def test_neither_role_is_privileged_and_both_have_their_password(initialised):
    with connect(make_url(POSTGRES or "").username or "postgres", "postgres") as admin:
        rows = admin.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolpassword IS NOT NULL "
            "FROM pg_authid WHERE rolname IN ('proctorflow', 'temporal') ORDER BY rolname"
        ).fetchall()
    assert rows == [("proctorflow", False, False, False, True), ("temporal", False, False, False, True)]


def test_the_script_refuses_to_run_without_the_passwords():
    result = subprocess.run(
        ["sh", str(SCRIPT)], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "set PROCTORFLOW_DB_PASSWORD" in result.stderr

"""The database's health check (`proctorflow.health`): it answers, with this build's schema."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from proctorflow.errors import Refused
from proctorflow.health import CHECK_TIMEOUT, Check
from store.migrate import alembic_config

log = logging.getLogger("proctorflow.health")


@dataclass(frozen=True)
class Schema:
    """This build's migrations: its head and every revision it knows."""

    head: str
    known: frozenset[str]

    @classmethod
    def of(cls, database_url: str) -> Schema:
        """Read once: the files do not change while the process runs."""
        script = ScriptDirectory.from_config(alembic_config(database_url))
        revisions = frozenset(revision.revision for revision in script.walk_revisions())
        return cls(",".join(sorted(script.get_heads())), revisions)

    def problem(self, revision: str) -> str | None:
        """Why this build cannot run on the database's schema, or None. A schema this build does
        not know is a newer release's (its migrations add, never remove, for one release), so
        this build runs on it: a rollout's old pods stay ready once the new release migrates."""
        if revision == self.head or (revision and revision not in self.known):
            return None
        behind = revision or "nothing"
        return f"the schema is at {behind}, this version needs {self.head}: run `proctorflow migrate`"


def schema_revision(engine: Engine) -> str:
    """The database's migration revision(s), "" when none ran. Read with plain SQL: Alembic's
    own context logs two lines per call, too many for a probe every few seconds."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return ""
        return ",".join(sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()))


def require_schema(engine: Engine, database_url: str) -> None:
    """Refuse to start a web app or worker on a schema behind this build's: it would fail on
    its first query instead (a rollout runs its migration Job before the new version starts)."""
    problem = Schema.of(database_url).problem(schema_revision(engine))
    if problem:
        raise Refused(f"refusing to start: {problem}")


async def database_check(engine: Engine, schema: Schema) -> Check:
    """The database answers and its schema is this build's: a new version is not ready until
    `proctorflow migrate` has run."""
    try:
        revision = await asyncio.wait_for(
            asyncio.to_thread(schema_revision, engine), CHECK_TIMEOUT.total_seconds()
        )
    except Exception as error:  # any failure is "does not answer"; the log keeps its text
        log.warning("health: the database did not answer: %r", error)
        return Check("database", False, f"the database did not answer ({type(error).__name__})")
    problem = schema.problem(revision)
    if problem:
        return Check("database", False, problem)
    if revision != schema.head:
        return Check("database", True, f"answers; schema at {revision}, a newer release's")
    return Check("database", True, f"answers; schema at {revision}")

"""Lookups by id within an organisation: its own rows are found; unknown ids and other
organisations' rows are refused alike, with the same message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session

from models.api import CourseIn, LessonIn
from models.tables import Attempt, Integration, ReviewTask, utcnow
from proctorflow.errors import NotFound
from store import catalog, scoped
from store.db import SessionFactory, make_engine, session_factory, transaction
from tests.support.database import fresh_database_url


@pytest.fixture
def sessions(tmp_path) -> SessionFactory:
    """Organisation `mine` with a course, its lesson, an integration, an attempt and its task;
    organisation `theirs` with nothing."""
    engine = make_engine(fresh_database_url(tmp_path))
    factory = session_factory(engine)
    with transaction(factory) as session:
        for org in ("mine", "theirs"):
            catalog.ensure_organisation(session, org, org)
        catalog.put_course(
            session, "mine", "c1", CourseIn(title="C", lessons=[LessonIn(id="l1", title="L", type="quiz")])
        )
        session.add(
            Integration(id="i1", org_id="mine", name="PF", api_key_encrypted="k", api_secret_encrypted="s")
        )
        session.add(
            Attempt(
                id="a1",
                org_id="mine",
                course_id="c1",
                lesson_id="l1",
                learner_id="p",
                attempt_number=1,
                workflow_id="w",
                integration_id="i1",
                method="full",
                required=True,
                requires_validation=True,
                status="finished",
            )
        )
        session.add(
            ReviewTask(
                id="t1",
                org_id="mine",
                attempt_id="a1",
                course_id="c1",
                lesson_id="l1",
                learner_id="p",
                method="full",
                state="not_ready",
                created_at=utcnow(),
            )
        )
    yield factory
    engine.dispose()


LOOKUPS: dict[str, tuple[Callable[[Session, str], object], str]] = {
    "attempt": (lambda s, org: scoped.attempt(s, org, "a1"), "attempt a1 does not exist"),
    "review task": (lambda s, org: scoped.review_task(s, org, "t1"), "review task t1 does not exist"),
    "integration": (lambda s, org: scoped.integration(s, org, "i1"), "integration i1 does not exist"),
    "course": (
        lambda s, org: scoped.course(s, org, "c1"),
        "course c1 does not exist: PUT /api/v1/courses/c1 first",
    ),
    "lesson": (
        lambda s, org: scoped.lesson(s, org, "c1", "l1"),
        "course c1 does not exist: PUT /api/v1/courses/c1 first",
    ),
}


@pytest.mark.parametrize("kind", LOOKUPS)
def test_an_organisations_own_row_is_found_and_anothers_reads_as_unknown(sessions, kind):
    lookup, message = LOOKUPS[kind]
    with sessions() as session:
        found = lookup(session, "mine")
        assert found.org_id == "mine"
        with pytest.raises(NotFound) as refused:
            lookup(session, "theirs")
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (lambda s: scoped.attempt(s, "mine", "nope"), "attempt nope does not exist"),
        (lambda s: scoped.review_task(s, "mine", "nope"), "review task nope does not exist"),
        (lambda s: scoped.integration(s, "mine", "nope"), "integration nope does not exist"),
        (
            lambda s: scoped.course(s, "mine", "nope"),
            "course nope does not exist: PUT /api/v1/courses/nope first",
        ),
        (lambda s: scoped.lesson(s, "mine", "c1", "nope"), "lesson nope is not part of course c1"),
        (
            lambda s: scoped.lesson(s, "mine", "nope", "l1"),
            "course nope does not exist: PUT /api/v1/courses/nope first",
        ),
    ],
)
def test_an_unknown_id_is_refused_with_what_is_missing(sessions, lookup, message):
    with sessions() as session, pytest.raises(NotFound) as refused:
        lookup(session)
    assert refused.value.message == message

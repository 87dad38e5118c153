"""Lesson and course completion as stored: a course completes once, with its certificate once; a
changed proctoring result re-evaluates it only on request, which may un-complete it and revoke
its certificate. Every change is an event for the LMS, written in the same transaction."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.api import CourseIn, CourseSettingsIn, LessonIn
from models.payloads import AttemptKey, CompletionRequest
from models.tables import Certificate, CourseProgress, LessonProgress, OutboundEvent
from store import catalog, progress, results
from store.db import SessionFactory, make_engine, session_factory, transaction
from tests.store.attempts import add_attempt
from tests.support.database import fresh_database_url

ORG, COURSE, LEARNER = "org", "course", "learner"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NUMBERS = itertools.count(1)


@pytest.fixture
def sessions(tmp_path) -> SessionFactory:
    """A course whose required exam gives it its score and a certificate, with an optional survey."""
    engine = make_engine(fresh_database_url(tmp_path))
    factory = session_factory(engine)
    with transaction(factory) as session:
        catalog.ensure_organisation(session, ORG, "Org")
        body = CourseIn(
            title="Course",
            lessons=[
                LessonIn(id="exam", title="Exam", type="quiz", required=True),
                LessonIn(id="survey", title="Survey", type="quiz", required=False),
            ],
            settings=CourseSettingsIn(score_lesson_id="exam", complete_on_failure=False, certificate=True),
        )
        catalog.put_course(session, ORG, COURSE, body)
    yield factory
    engine.dispose()


def complete(sessions: SessionFactory, lesson: str, decision: str, at: datetime = T0, score: float = 90):
    # Each completion is its own attempt (a retake): its exam result is stored on it.
    key = AttemptKey(
        org_id=ORG, course_id=COURSE, lesson_id=lesson, learner_id=LEARNER, attempt_number=next(NUMBERS)
    )
    with transaction(sessions) as session:
        attempt_id = add_attempt(session, key, exam_passed=True, exam_score=score)
    request = CompletionRequest(attempt_id=attempt_id, key=key, decision=decision, at=at)
    with transaction(sessions) as session:
        return progress.complete_attempt(session, request)


def change(sessions: SessionFactory, lesson: str, result: str, reevaluate: bool = True):
    with transaction(sessions) as session:
        return results.change_result(
            session, ORG, COURSE, lesson, LEARNER, result, "appeal", "dean", reevaluate_course=reevaluate
        )


def course_row(sessions: SessionFactory) -> CourseProgress | None:
    with sessions() as session:
        return session.get(CourseProgress, (ORG, COURSE, LEARNER))


def certificates(sessions: SessionFactory) -> int:
    """The certificates the learner holds (a revoked one is kept, but not held)."""
    with sessions() as session:
        return len([c for c in session.exec(select(Certificate)).all() if c.revoked_at is None])


def told(sessions: SessionFactory) -> list[str]:
    """The events the LMS is told of, in order (attempt-status events of the test set-up aside)."""
    with sessions() as session:
        rows = session.exec(select(OutboundEvent).order_by(OutboundEvent.position)).all()
    return [e.type for e in rows if e.type != "attempt.status_changed"]


def test_the_last_required_lesson_completes_the_course_and_its_certificate_once(sessions):
    first = complete(sessions, "exam", "pass")
    again = complete(sessions, "exam", "pass", at=T0 + timedelta(hours=1))

    assert first.course_completed and first.certificate_issued and first.lesson_success
    assert again.course_completed and again.certificate_issued  # harmless: nothing new is written
    row = course_row(sessions)
    assert row is not None and row.completed_at == T0  # the first completion's time
    assert (row.success, row.score) == (True, 90)
    assert certificates(sessions) == 1
    assert told(sessions) == ["lesson.completed", "course.completed", "certificate.issued"]


def test_an_optional_lesson_completing_later_leaves_the_completed_course_as_it_was(sessions):
    complete(sessions, "exam", "pass")
    later = complete(sessions, "survey", "fail", at=T0 + timedelta(days=1), score=10)

    assert not later.course_completed and "optional" in later.course_reason
    row = course_row(sessions)
    assert (row.success, row.score) == (True, 90)


def test_a_failed_exam_does_not_complete_a_course_that_does_not_complete_on_failure(sessions):
    report = complete(sessions, "exam", "fail")

    assert not report.course_completed and not report.certificate_issued
    assert course_row(sessions) is None and certificates(sessions) == 0


def test_a_result_changed_to_failed_without_reevaluation_keeps_the_course_and_its_certificate(sessions):
    complete(sessions, "exam", "pass")

    outcome = change(sessions, "exam", "failed", reevaluate=False)

    assert outcome.course_completed is False and "left as they were" in outcome.message
    with sessions() as session:
        lesson = session.get(LessonProgress, (ORG, COURSE, "exam", LEARNER))
        assert (lesson.proctoring_result, lesson.success) == ("failed", True)
    assert course_row(sessions).success is True and certificates(sessions) == 1
    assert told(sessions)[3:] == ["result.changed"]


def test_a_result_changed_to_failed_with_reevaluation_un_completes_the_course_and_revokes_its_certificate(
    sessions,
):
    complete(sessions, "exam", "pass")

    outcome = change(sessions, "exam", "failed")

    assert not outcome.course_completed
    assert (
        outcome.message.endswith("; certificate revoked") and "course no longer complete" in outcome.message
    )
    row = course_row(sessions)
    assert row.completed_at is None and (row.success, row.score) == (None, None)
    assert certificates(sessions) == 0
    assert told(sessions)[3:] == ["course.uncompleted", "certificate.revoked", "result.changed"]

    again = change(sessions, "exam", "passed")  # the appeal's outcome reversed: issued again

    assert again.course_completed and again.message.endswith("; course completed; certificate issued")
    assert certificates(sessions) == 1
    assert told(sessions)[6:] == ["course.completed", "certificate.issued", "result.changed"]


def test_a_reevaluated_failure_keeps_a_course_that_completes_on_failure_complete_with_its_new_success(
    sessions,
):
    with transaction(sessions) as session:
        body = CourseIn(
            title="Course",
            lessons=[LessonIn(id="exam", title="Exam", type="quiz", required=True)],
            settings=CourseSettingsIn(score_lesson_id="exam", complete_on_failure=True, certificate=True),
        )
        catalog.put_course(session, ORG, COURSE, body)
    complete(sessions, "exam", "pass")

    outcome = change(sessions, "exam", "failed")

    assert outcome.course_completed and "course stays complete, success now False" in outcome.message
    row = course_row(sessions)
    assert row.completed_at is not None and (row.success, row.score) == (False, 90)
    assert certificates(sessions) == 0, "a certificate goes with a successful course only"


def test_reevaluating_an_optional_lessons_change_keeps_the_courses_success_and_score(sessions):
    complete(sessions, "exam", "pass")
    complete(sessions, "survey", "pass")

    outcome = change(sessions, "survey", "failed")

    assert outcome.course_completed and "success now True" in outcome.message
    row = course_row(sessions)
    assert (row.success, row.score) == (True, 90)  # an optional lesson re-judges nothing


def test_a_reevaluated_pass_completes_a_course_its_failure_left_open_and_issues_the_certificate(sessions):
    complete(sessions, "exam", "fail")

    outcome = change(sessions, "exam", "passed")

    assert outcome.course_completed
    assert outcome.message.endswith("; course completed; certificate issued")
    row = course_row(sessions)
    assert row.completed_at is not None and (row.success, row.score) == (True, 90)
    assert certificates(sessions) == 1

"""Two required lessons of one learner completing at the same moment still complete the course
once: completions are serialised per learner (PostgreSQL reads committed rows only)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import select

from models.api import CourseIn, LessonIn
from models.payloads import AttemptKey, CompletionRequest
from models.tables import Certificate, CourseProgress
from store import catalog, progress
from store.db import make_engine, session_factory, transaction
from tests.store.attempts import add_attempt
from tests.support.database import fresh_database_url

LEARNERS = 30


def test_the_last_two_required_lessons_completing_at_once_complete_the_course_once(tmp_path):
    engine = make_engine(fresh_database_url(tmp_path))
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "org", "Org")
        lessons = [LessonIn(id=lesson, title=lesson, type="quiz") for lesson in ("a", "b")]
        body = CourseIn(title="Course", lessons=lessons, settings={"certificate": True})
        catalog.put_course(session, "org", "c", body)

    def complete(learner: str, lesson: str, barrier: threading.Barrier) -> None:
        key = AttemptKey(org_id="org", course_id="c", lesson_id=lesson, learner_id=learner, attempt_number=1)
        with transaction(sessions) as session:
            attempt_id = add_attempt(session, key, exam_passed=True, exam_score=90)
        request = CompletionRequest(attempt_id=attempt_id, key=key, decision="pass", at=datetime.now(UTC))
        barrier.wait()
        with transaction(sessions) as session:
            progress.complete_attempt(session, request)

    for i in range(LEARNERS):
        barrier = threading.Barrier(2)
        pair = [
            threading.Thread(target=complete, args=(f"learner-{i}", lesson, barrier)) for lesson in ("a", "b")
        ]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()

    with sessions() as session:
        completed = [p for p in session.exec(select(CourseProgress)) if p.completed_at is not None]
        certificates = session.exec(select(Certificate)).all()
    assert len(completed) == LEARNERS
    assert len(certificates) == LEARNERS
    engine.dispose()

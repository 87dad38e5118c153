"""An organisation's own rows, looked up by id.

A row that does not exist and a row of another organisation are refused alike, with the same
`NotFound`: an id from elsewhere reads as unknown, never as someone else's.
"""

from __future__ import annotations

from sqlmodel import Session

from models.tables import Attempt, Course, Integration, Lesson, ReviewTask
from proctorflow.errors import NotFound


def attempt(session: Session, org_id: str, attempt_id: str) -> Attempt:
    found = session.get(Attempt, attempt_id)
    if found is None or found.org_id != org_id:
        raise no_attempt(attempt_id)
    return found


def no_attempt(attempt_id: str) -> NotFound:
    """The refusal for an unknown attempt, for lookups that read it with more in one query."""
    return NotFound(f"attempt {attempt_id} does not exist")


def review_task(session: Session, org_id: str, task_id: str) -> ReviewTask:
    found = session.get(ReviewTask, task_id)
    if found is None or found.org_id != org_id:
        raise NotFound(f"review task {task_id} does not exist")
    return found


def integration(session: Session, org_id: str, integration_id: str) -> Integration:
    found = session.get(Integration, integration_id)
    if found is None or found.org_id != org_id:
        raise NotFound(f"integration {integration_id} does not exist")
    return found


def course(session: Session, org_id: str, course_id: str) -> Course:
    found = session.get(Course, (org_id, course_id))
    if found is None:
        raise NotFound(f"course {course_id} does not exist: PUT /api/v1/courses/{course_id} first")
    return found


def lesson(session: Session, org_id: str, course_id: str, lesson_id: str) -> Lesson:
    """A lesson of an existing course (an unknown course is refused as such first)."""
    course(session, org_id, course_id)
    found = session.get(Lesson, (org_id, course_id, lesson_id))
    if found is None:
        raise NotFound(f"lesson {lesson_id} is not part of course {course_id}")
    return found

"""Lessons the LMS reports complete (those ProctorFlow does not proctor): the lesson's
completion, then the course's by the same rules as a proctored completion (whichever required
lesson completes last completes it, once, under the learner's lock), its certificate, and the
events that tell the LMS. Reporting the same completion again changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.events import EventType
from models.reports import LessonCompletionIn, LessonCompletionOut
from models.tables import LessonProgress, utcnow
from proctorflow.errors import Conflict
from store import scoped
from store.progress import evaluate_course, holds_certificate, lesson_facts, lock_learner, stored_course, tell


def report_completion(
    session: Session, org_id: str, course_id: str, learner_id: str, lesson_id: str, report: LessonCompletionIn
) -> LessonCompletionOut:
    lesson = scoped.lesson(session, org_id, course_id, lesson_id)
    if lesson.integration_id is not None:
        raise Conflict(
            f"lesson {lesson_id} is proctored: its completion comes from its attempts "
            "(POST /api/v1/attempts/{attempt_id}/exam-result and the review), not from a report"
        )
    lock_learner(session, org_id, learner_id)
    progress = session.get(LessonProgress, (org_id, course_id, lesson_id, learner_id))
    if progress is not None and progress.completed_at is not None:
        return _already_completed(session, progress, report)
    if not report.completed:
        nothing = progress or _empty(org_id, course_id, lesson_id, learner_id)
        course = stored_course(session, org_id, course_id, learner_id)
        certified = holds_certificate(session, org_id, course_id, learner_id)
        return _out(
            nothing, "not_completed", course.complete, certified, f"lesson {lesson_id} is not completed"
        )
    at = report.completed_at or utcnow()
    progress = progress or _empty(org_id, course_id, lesson_id, learner_id)
    progress.completed_at, progress.success, progress.score = at, report.success, report.score
    session.add(progress)
    tell(session, progress, EventType.LESSON_COMPLETED, at, **lesson_facts(progress))
    session.flush()
    course = evaluate_course(session, org_id, course_id, learner_id, lesson_id, at)
    if course.after.complete and not course.before.complete:
        said = "course completed" + ("; certificate issued" if course.certificate_issued else "")
    elif course.before.complete:
        said = "course already complete"
    else:
        said = f"course not completed ({course.outcome.reason})"
    certified = holds_certificate(session, org_id, course_id, learner_id)
    return _out(
        progress, "completed", course.after.complete, certified, f"lesson {lesson_id} completed; {said}"
    )


def _already_completed(
    session: Session, progress: LessonProgress, report: LessonCompletionIn
) -> LessonCompletionOut:
    """The same completion again is harmless; a different one is refused: a lesson completes once."""
    same = report.completed and (report.success, report.score) == (progress.success, progress.score)
    if not same:
        source = "a proctored attempt" if progress.attempt_id else "an earlier report"
        when = f"{progress.completed_at:%Y-%m-%d %H:%M} UTC"
        raise Conflict(
            f"lesson {progress.lesson_id} was completed by {source} at {when} "
            f"(success {progress.success}, score {progress.score}): a completion does not change",
            {"completed_at": progress.completed_at.isoformat()},
        )
    key = (progress.org_id, progress.course_id, progress.learner_id)
    course = stored_course(session, *key)
    return _out(
        progress,
        "unchanged",
        course.complete,
        holds_certificate(session, *key),
        f"lesson {progress.lesson_id} was completed already",
    )


def _empty(org_id: str, course_id: str, lesson_id: str, learner_id: str) -> LessonProgress:
    return LessonProgress(org_id=org_id, course_id=course_id, lesson_id=lesson_id, learner_id=learner_id)


def _out(
    progress: LessonProgress, applied: str, course_completed: bool, certificate: bool, message: str
) -> LessonCompletionOut:
    completed_at: datetime | None = progress.completed_at
    return LessonCompletionOut(
        lesson_id=progress.lesson_id,
        learner_id=progress.learner_id,
        applied=applied,  # type: ignore[arg-type]
        completed=completed_at is not None,
        completed_at=completed_at,
        success=progress.success,
        score=progress.score,
        source=None if completed_at is None else "attempt" if progress.attempt_id else "lms",
        course_completed=course_completed,
        certificate_issued=certificate,
        message=message,
    )

"""Lesson and course completion and certificates. Every write is idempotent: running a
completion twice changes nothing the second time, and a completed lesson or course never
goes back to incomplete."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from models.payloads import CompletionReport, CompletionRequest
from models.rules import (
    CourseOutcome,
    CourseRules,
    LessonState,
    course_outcome,
    issues_certificate,
    lesson_outcome,
)
from models.tables import Certificate, Course, CourseProgress, Lesson, LessonProgress


def complete_attempt(session: Session, request: CompletionRequest) -> CompletionReport:
    """Complete the lesson, then the course when this was its last required lesson, then the
    certificate when the course completed."""
    key = request.key
    lock_learner(session, key.org_id, key.learner_id)
    exam = request.exam
    outcome = lesson_outcome(request.decision, exam.passed if exam else None, exam.score if exam else None)
    progress = _lesson_progress(session, key.org_id, key.course_id, key.lesson_id, key.learner_id)
    newly_completed = progress.completed_at is None
    if newly_completed:
        progress.completed_at = request.at
        progress.success = outcome.success
        progress.score = outcome.score
        progress.attempt_id = request.attempt_id
    if request.decision is not None:
        progress.proctoring_result = "passed" if request.decision == "pass" else "failed"
    session.add(progress)
    session.flush()
    course, issued = evaluate_course(
        session, key.org_id, key.course_id, key.learner_id, key.lesson_id, request.at
    )
    return CompletionReport(
        lesson_completed=True,
        lesson_success=bool(progress.success),
        course_completed=course.complete,
        course_reason=course.reason,
        certificate_issued=issued,
    )


def lock_learner(session: Session, org_id: str, learner_id: str) -> None:
    """One writer at a time per learner, until the transaction ends: two lessons completing at
    once must each see the other, or neither completes the course, and two page loads opening
    the same attempt must see one row (PostgreSQL reads committed rows only). SQLite has one
    writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"{org_id}\x1f{learner_id}".encode()).digest()
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": int.from_bytes(digest[:8], "big", signed=True)},
        )


def evaluate_course(
    session: Session, org_id: str, course_id: str, learner_id: str, lesson_id: str, at: datetime
) -> tuple[CourseOutcome, bool]:
    """Complete the course (and issue its certificate) if completing `lesson_id` finished it."""
    course = session.get(Course, (org_id, course_id))
    if course is None:
        raise LookupError(f"course {course_id} is not stored")
    rules = CourseRules(course.score_lesson_id, course.complete_on_failure, course.certificate)
    outcome = course_outcome(rules, _lesson_states(session, org_id, course_id, learner_id), lesson_id)
    issued = False
    if outcome.complete:
        progress = session.get(CourseProgress, (org_id, course_id, learner_id)) or CourseProgress(
            org_id=org_id, course_id=course_id, learner_id=learner_id
        )
        if progress.completed_at is None:
            progress.completed_at = at
            progress.success = outcome.success
            progress.score = outcome.score
            session.add(progress)
        if issues_certificate(rules, outcome):
            issued = _issue_certificate(session, org_id, course_id, learner_id, at)
    return outcome, issued


def _issue_certificate(session: Session, org_id: str, course_id: str, learner_id: str, at: datetime) -> bool:
    existing = session.exec(
        select(Certificate).where(
            Certificate.org_id == org_id,
            Certificate.course_id == course_id,
            Certificate.learner_id == learner_id,
        )
    ).first()
    if existing is not None:
        return True
    certificate_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"certificate:{org_id}:{course_id}:{learner_id}"))
    session.add(
        Certificate(
            id=certificate_id,
            org_id=org_id,
            course_id=course_id,
            learner_id=learner_id,
            issued_at=at,
        )
    )
    return True


def _lesson_progress(
    session: Session, org_id: str, course_id: str, lesson_id: str, learner_id: str
) -> LessonProgress:
    found = session.get(LessonProgress, (org_id, course_id, lesson_id, learner_id))
    return found or LessonProgress(
        org_id=org_id, course_id=course_id, lesson_id=lesson_id, learner_id=learner_id
    )


def _lesson_states(session: Session, org_id: str, course_id: str, learner_id: str) -> list[LessonState]:
    lessons = session.exec(select(Lesson).where(Lesson.org_id == org_id, Lesson.course_id == course_id)).all()
    progress = {
        p.lesson_id: p
        for p in session.exec(
            select(LessonProgress).where(
                LessonProgress.org_id == org_id,
                LessonProgress.course_id == course_id,
                LessonProgress.learner_id == learner_id,
            )
        ).all()
    }
    states = []
    for lesson in lessons:
        p = progress.get(lesson.id)
        completed = p is not None and p.completed_at is not None
        states.append(
            LessonState(
                lesson_id=lesson.id,
                required=lesson.required,
                completed=completed,
                success=p.success if p else None,
                score=p.score if p else None,
            )
        )
    return states

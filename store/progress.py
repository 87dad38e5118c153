"""Lesson and course completion and certificates. Every write is idempotent: running a
completion twice changes nothing the second time, and a completed lesson or course never
goes back to incomplete (only a re-evaluation or a manual override, `store/overrides.py`, does)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from models.events import EventType
from models.payloads import CompletionReport, CompletionRequest
from models.rules import (
    NOT_COMPLETED,
    CourseCompletion,
    CourseOutcome,
    CourseRules,
    LessonState,
    certificate_change,
    completed_course,
    course_outcome,
    course_standing,
    issues_certificate,
    lesson_outcome,
    proctoring_result,
    reevaluated_course,
)
from models.tables import Attempt, Certificate, Course, CourseProgress, Lesson, LessonProgress
from store import events


def complete_attempt(session: Session, request: CompletionRequest) -> CompletionReport:
    """Complete the lesson, then the course when this was its last required lesson, then the
    certificate when the course completed: by the decision, if any, and the exam result stored
    on the attempt (the one the LMS sent first; not what a workflow holds in memory)."""
    key = request.key
    lock_learner(session, key.org_id, key.learner_id)
    attempt = session.get(Attempt, request.attempt_id)
    if attempt is None:
        raise LookupError(f"attempt {request.attempt_id} is not stored")
    outcome = lesson_outcome(request.decision, attempt.exam_passed, attempt.exam_score)
    progress = lesson_progress(session, key.org_id, key.course_id, key.lesson_id, key.learner_id)
    newly_completed = progress.completed_at is None
    if newly_completed:
        progress.completed_at = request.at
        progress.success = outcome.success
        progress.score = outcome.score
        progress.attempt_id = request.attempt_id
    if request.decision is not None:
        progress.proctoring_result = proctoring_result(request.decision)
    session.add(progress)
    if newly_completed:
        tell(session, progress, EventType.LESSON_COMPLETED, request.at, **lesson_facts(progress))
    session.flush()
    course = evaluate_course(session, key.org_id, key.course_id, key.learner_id, key.lesson_id, request.at)
    return CompletionReport(
        lesson_success=bool(progress.success),
        course_completed=course.outcome.complete,
        course_reason=course.outcome.reason,
        certificate_issued=course.certificate_issued,
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


@dataclass(frozen=True)
class CourseEvaluation:
    outcome: CourseOutcome  # what completing the lesson means for the course, by its rules
    before: CourseCompletion  # the learner's stored course completion, before and after
    after: CourseCompletion
    certificate_issued: bool  # the learner holds the course's certificate for this outcome
    certificate_revoked: bool = False  # a re-evaluation took it back


def evaluate_course(
    session: Session,
    org_id: str,
    course_id: str,
    learner_id: str,
    lesson_id: str,
    at: datetime,
    reevaluating: bool = False,
) -> CourseEvaluation:
    """Complete the course (and issue its certificate) if completing `lesson_id` finished it.
    `reevaluating` (a changed proctoring result, when asked) applies the course's rules to the
    lessons as they stand: the course completes, keeps its completion with a new success and
    score, or is un-completed, and its certificate is issued or revoked to match. What the stored
    completion becomes is the rules' (`completed_course`, `reevaluated_course`)."""
    course = session.get(Course, (org_id, course_id))
    if course is None:
        raise LookupError(f"course {course_id} is not stored")
    rules = CourseRules(course.score_lesson_id, course.complete_on_failure, course.certificate)
    lessons = _lesson_states(session, org_id, course_id, learner_id)
    outcome = course_standing(rules, lessons) if reevaluating else course_outcome(rules, lessons, lesson_id)
    stored = session.get(CourseProgress, (org_id, course_id, learner_id))
    before = _completion(stored)
    after = (reevaluated_course if reevaluating else completed_course)(before, outcome)
    if after != before:
        stored = stored or CourseProgress(org_id=org_id, course_id=course_id, learner_id=learner_id)
        if not before.complete:
            stored.completed_at = at
        if not after.complete:
            stored.completed_at = None
        stored.success, stored.score = after.success, after.score
        session.add(stored)
        tell_course(session, stored, before, after, at)
    certificate = certificate_of(session, org_id, course_id, learner_id)
    held = certificate is not None and certificate.revoked_at is None
    change = certificate_change(rules, outcome, held) if reevaluating else None
    issued = issues_certificate(rules, outcome)
    if issued and not held:
        issue_certificate(session, certificate, org_id, course_id, learner_id, at)
    revoked = change == "revoke" and certificate is not None
    if revoked:
        revoke_certificate(session, certificate, at)
    return CourseEvaluation(outcome, before, after, issued, revoked)


def tell_course(
    session: Session, stored: CourseProgress, before: CourseCompletion, after: CourseCompletion, at: datetime
) -> None:
    facts = {"success": after.success, "score": after.score}
    if after.complete and not before.complete:
        tell(session, stored, EventType.COURSE_COMPLETED, at, **facts)
    elif before.complete and not after.complete:
        tell(session, stored, EventType.COURSE_UNCOMPLETED, at, **facts)


def tell(session: Session, row: Any, type: EventType, at: datetime, **facts: Any) -> None:
    """An event about a learner's lesson, course or certificate (`row` has their ids)."""
    data = {"course_id": row.course_id, "learner_id": row.learner_id, **facts}
    events.emit(session, row.org_id, row.course_id, row.learner_id, type, data, at)


def lesson_facts(progress: LessonProgress) -> dict[str, Any]:
    return {
        "lesson_id": progress.lesson_id,
        "attempt_id": progress.attempt_id,
        "success": progress.success,
        "score": progress.score,
        "proctoring_result": progress.proctoring_result,
    }


def stored_course(session: Session, org_id: str, course_id: str, learner_id: str) -> CourseCompletion:
    """The learner's course completion as stored."""
    return _completion(session.get(CourseProgress, (org_id, course_id, learner_id)))


def holds_certificate(session: Session, org_id: str, course_id: str, learner_id: str) -> bool:
    certificate = certificate_of(session, org_id, course_id, learner_id)
    return certificate is not None and certificate.revoked_at is None


def _completion(stored: CourseProgress | None) -> CourseCompletion:
    if stored is None:
        return NOT_COMPLETED
    return CourseCompletion(stored.completed_at is not None, stored.success, stored.score)


def certificate_of(session: Session, org_id: str, course_id: str, learner_id: str) -> Certificate | None:
    return session.exec(
        select(Certificate).where(
            Certificate.org_id == org_id,
            Certificate.course_id == course_id,
            Certificate.learner_id == learner_id,
        )
    ).first()


def issue_certificate(
    session: Session,
    existing: Certificate | None,
    org_id: str,
    course_id: str,
    learner_id: str,
    at: datetime,
) -> None:
    """Once per learner and course (its id is theirs): a revoked one is issued again."""
    certificate = existing or Certificate(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"certificate:{org_id}:{course_id}:{learner_id}")),
        org_id=org_id,
        course_id=course_id,
        learner_id=learner_id,
        issued_at=at,
    )
    certificate.issued_at, certificate.revoked_at = at, None
    session.add(certificate)
    tell(session, certificate, EventType.CERTIFICATE_ISSUED, at, certificate_id=certificate.id)


def revoke_certificate(session: Session, certificate: Certificate, at: datetime) -> None:
    """Kept for the record (issued again if earned again), no longer held."""
    certificate.revoked_at = at
    session.add(certificate)
    tell(session, certificate, EventType.CERTIFICATE_REVOKED, at, certificate_id=certificate.id)


def lesson_progress(
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
